/**
 * GPUs of dGPU machines and DGX Spark from `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`:
 * a pure CSV parser and a collector that runs the command on each collect. Values nvidia-smi
 * cannot give (`[N/A]`, `[Not Supported]` — DGX Spark has no separate GPU memory) are absent.
 *
 * @module
 */
import type { CollectContext, Collector } from "./collector.ts";
import type { SampleMetrics } from "../../shared/protocol/mod.ts";

type Gpu = NonNullable<SampleMetrics["gpus"]>[number];

/** The query, in the column order that {@link parseNvidiaSmiCsv} expects. */
export const NVIDIA_SMI_QUERY =
  "index,name,utilization.gpu,clocks.sm,memory.used,memory.total,temperature.gpu,power.draw";

/** The full argument list for nvidia-smi. */
export const NVIDIA_SMI_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_QUERY}`,
  "--format=csv,noheader,nounits",
];

const MIB = 1024 * 1024;

/** A number, or undefined for `[N/A]`, `[Not Supported]`, `N/A`, empty and other non-numbers. */
function num(field: string | undefined): number | undefined {
  if (field === undefined) return undefined;
  const t = field.trim();
  if (t === "" || !/^-?\d+(?:\.\d+)?$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Parses the output of `nvidia-smi` with {@link NVIDIA_SMI_ARGS}: one GPU per line, memory in
 * MiB (→ bytes), power in W (→ mW). Lines that are not GPU rows are skipped; never throws.
 *
 * @example
 * ```ts
 * parseNvidiaSmiCsv("0, NVIDIA GB10, 3, 2405, [N/A], [N/A], 41, 11.13\n");
 * // → [{ index: 0, name: "NVIDIA GB10", util_pct: 3, freq_mhz: 2405, temp_c: 41, power_mw: 11130 }]
 * ```
 */
export function parseNvidiaSmiCsv(text: string): Gpu[] {
  const gpus: Gpu[] = [];
  if (typeof text !== "string") return gpus;
  for (const raw of text.split(/\r?\n/)) {
    const f = raw.split(",").map((s) => s.trim());
    if (f.length < 2) continue;
    const index = num(f[0]);
    if (index === undefined || !Number.isInteger(index) || index < 0) continue;
    // A name with a comma would shift the columns: the last six columns are always numeric.
    const extra = Math.max(0, f.length - 8);
    const name = f.slice(1, 2 + extra).join(", ");
    const [util, sm, memUsed, memTotal, temp, power] = f.slice(2 + extra);
    const gpu: Gpu = { index };
    if (name && !/^\[.*\]$/.test(name)) gpu.name = name.slice(0, 256);
    const u = num(util);
    if (u !== undefined && u >= 0 && u <= 100) gpu.util_pct = u;
    const clk = num(sm);
    if (clk !== undefined && clk >= 0) gpu.freq_mhz = clk;
    const used = num(memUsed);
    if (used !== undefined && used >= 0) gpu.mem_used_b = used * MIB;
    const total = num(memTotal);
    if (total !== undefined && total >= 0) gpu.mem_total_b = total * MIB;
    const t = num(temp);
    if (t !== undefined) gpu.temp_c = t;
    const w = num(power);
    if (w !== undefined && w >= 0) gpu.power_mw = Math.round(w * 1000);
    gpus.push(gpu);
    if (gpus.length >= 64) break;
  }
  return gpus;
}

/** Options of {@link createNvidiaSmiCollector}. */
export interface NvidiaSmiCollectorOptions {
  /** The nvidia-smi executable. */
  path: string;
  /** Longest a run may take before it is killed and the collect fails; default 5 s. */
  timeoutMs?: number;
}

/**
 * Creates the nvidia-smi collector; it runs the command once per collect. A non-zero exit (no
 * driver loaded, GPU fell off the bus) or a timeout makes the collect throw.
 *
 * @example
 * ```ts
 * const smi = createNvidiaSmiCollector({ path: "/usr/bin/nvidia-smi" });
 * const { gpus } = await smi.collect({ root: "/", now: Date.now() });
 * ```
 */
export function createNvidiaSmiCollector(opts: NvidiaSmiCollectorOptions): Collector {
  const timeoutMs = opts.timeoutMs ?? 5000;
  async function collect(_ctx: CollectContext): Promise<Partial<SampleMetrics>> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(opts.path, {
        args: [...NVIDIA_SMI_ARGS],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: abort.signal,
      }).output();
    } finally {
      clearTimeout(timer);
    }
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim() ||
        new TextDecoder().decode(out.stdout).trim();
      const why = out.signal
        ? `killed by ${out.signal} (timeout ${timeoutMs} ms?)`
        : `code ${out.code}`;
      throw new Error(`nvidia-smi failed with ${why}${err ? `: ${err.slice(0, 300)}` : ""}`);
    }
    const gpus = parseNvidiaSmiCsv(new TextDecoder().decode(out.stdout));
    return gpus.length ? { gpus } : {};
  }
  return { name: "nvidia_smi", collect };
}
