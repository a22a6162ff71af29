/**
 * Jetson metrics from NVIDIA's `tegrastats`: a pure parser for one output line, and a collector
 * that keeps ONE long-running `tegrastats --interval <ms>` child, remembers its latest line and
 * parses it on each collect.
 *
 * The line format differs by JetPack release; all of these are handled:
 * - JetPack 4 (TX1/TX2/Nano/Xavier): `CPU [4%@1190,off]`, rails without units (`GPU 0/0`,
 *   `POM_5V_IN 1750/1628`), `GR3D_FREQ 0%@1377`, older `EMC_FREQ 0% GR3D_FREQ 0%`.
 * - JetPack 5/6 (Orin, Xavier NX): an optional leading date, `GR3D_FREQ 0%@[305,305]`, rails in
 *   mW (`VDD_GPU_SOC 2368mW/2368mW`), `-256C` for powered-off sensors, `NC` placeholder rails.
 * - JetPack 7 (Thor, Orin): `GR3D_FREQ @[0,0,0]` (no load), temps `cpu@52.9C/52.9C`, rails with
 *   current/average/max.
 *
 * @module
 */
import type { CollectContext, Collector } from "./collector.ts";
import type { CpuCore, SampleMetrics } from "../../shared/protocol/mod.ts";

type Temp = NonNullable<SampleMetrics["temps"]>[number];
type PowerRail = NonNullable<SampleMetrics["power"]>[number];
type Gpu = NonNullable<SampleMetrics["gpus"]>[number];

const MIB = 1024 * 1024;

function pct(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 && n <= 100 ? n : undefined;
}

function nonNeg(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** `1377` or `[1300,1300]` (one clock per GPC) → the highest clock in MHz. */
function freq(single: string | undefined, list: string | undefined): number | undefined {
  if (single !== undefined) return nonNeg(single);
  if (list === undefined) return undefined;
  const values = list.split(",").map(nonNeg).filter((n): n is number => n !== undefined);
  return values.length ? Math.max(...values) : undefined;
}

function usage(usedMb: string, totalMb: string): SampleMetrics["mem"] | undefined {
  const used = nonNeg(usedMb);
  const total = nonNeg(totalMb);
  if (used === undefined || total === undefined || used > total) return undefined;
  return {
    total_b: total * MIB,
    used_b: used * MIB,
    pct: total > 0 ? Math.round((used / total) * 10000) / 100 : 0,
  };
}

function parseCpu(text: string): SampleMetrics["cpu"] | undefined {
  // `CPU [` and not `CPU 311/311` (Xavier rail) or `CPU@37.5C` (temperature).
  const m = /(?:^|\s)CPU \[([^\]]*)(\](?:@(\d+))?)?/.exec(text);
  if (!m) return undefined;
  const entries = m[1].split(",").map((e) => e.trim());
  // A line cut inside the brackets ends in a half-written core; drop it rather than misread it.
  if (m[2] === undefined) entries.pop();
  const clusterMhz = nonNeg(m[3]); // old JetPack: `CPU [12%,off,3%]@1190`
  const cores: CpuCore[] = [];
  for (const e of entries.slice(0, 1024)) {
    if (e === "off") {
      cores.push({ online: false });
      continue;
    }
    const c = /^(\d+(?:\.\d+)?)%(?:@(\d+))?$/.exec(e);
    if (!c) {
      cores.push({});
      continue;
    }
    const core: CpuCore = { online: true };
    const p = pct(c[1]);
    if (p !== undefined) core.pct = p;
    const mhz = c[2] !== undefined ? nonNeg(c[2]) : clusterMhz;
    if (mhz !== undefined) core.mhz = mhz;
    cores.push(core);
  }
  const loads = cores.filter((c) => c.online && c.pct !== undefined).map((c) => c.pct as number);
  if (!loads.length) return undefined;
  const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
  return { pct: Math.round(mean * 100) / 100, cores };
}

const TEMP_RE = /(?:^|\s)([A-Za-z][\w-]*)@(-?\d+(?:\.\d+)?)C(?:\/-?\d+(?:\.\d+)?C)?(?=\s|$)/g;
const RAIL_RE =
  /(?:^|\s)([A-Z][A-Z0-9_]*) (\d+(?:\.\d+)?)(?:mW)?\/(\d+(?:\.\d+)?)(?:mW)?(?:\/\d+(?:\.\d+)?(?:mW)?)?(?=\s|$)/g;
/** Tokens shaped like a rail that are not rails; `NC` marks an unconnected monitor channel. */
const NOT_RAILS = new Set(["RAM", "SWAP", "IRAM", "NC"]);

/**
 * Parses one line of `tegrastats` output into the sample fields it carries: `mem` (RAM), `swap`,
 * `cpu` (per core % and MHz, `online: false` for `off`; total = mean of online cores), `emc`,
 * `gpus[0]` (GR3D_FREQ load and clock), `temps` and `power` (current / average mW). Pure; never
 * throws: what does not parse is simply absent.
 *
 * @example
 * ```ts
 * const m = parseTegrastatsLine("RAM 2937/15824MB (lfb 2003x4MB) CPU [4%@1190,off] GR3D_FREQ 0%@1377");
 * // m.mem.used_b === 2937 * 1048576, m.cpu.cores[1].online === false, m.gpus[0].freq_mhz === 1377
 * ```
 */
export function parseTegrastatsLine(line: string): Partial<SampleMetrics> {
  const out: Partial<SampleMetrics> = {};
  if (typeof line !== "string") return out;
  const text = line.replace(/\s+/g, " ").trim()
    .replace(/^\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2} /, "");

  const ram = /(?:^|\s)RAM (\d+)\/(\d+)MB/.exec(text);
  const mem = ram ? usage(ram[1], ram[2]) : undefined;
  if (mem) out.mem = mem;

  const swapMatch = /(?:^|\s)SWAP (\d+)\/(\d+)MB/.exec(text);
  const swap = swapMatch ? usage(swapMatch[1], swapMatch[2]) : undefined;
  if (swap) out.swap = swap;

  const cpu = parseCpu(text);
  if (cpu) out.cpu = cpu;

  const emcMatch = /(?:^|\s)EMC_FREQ (?:(\d+)%)?(?:@(?:\[([\d,]*)\]|(\d+)))?/.exec(text);
  if (emcMatch) {
    const emc: NonNullable<SampleMetrics["emc"]> = {};
    const util = pct(emcMatch[1]);
    const mhz = freq(emcMatch[3], emcMatch[2]);
    if (util !== undefined) emc.util_pct = util;
    if (mhz !== undefined) emc.freq_mhz = mhz;
    if (util !== undefined || mhz !== undefined) out.emc = emc;
  }

  const gr3d = /(?:^|\s)GR3D_FREQ (?:(\d+)%)?(?:@(?:\[([\d,]*)\]|(\d+)))?/.exec(text);
  if (gr3d) {
    const gpu: Gpu = { index: 0 };
    const util = pct(gr3d[1]);
    const mhz = freq(gr3d[3], gr3d[2]);
    if (util !== undefined) gpu.util_pct = util;
    if (mhz !== undefined) gpu.freq_mhz = mhz;
    if (util !== undefined || mhz !== undefined) out.gpus = [gpu];
  }

  const temps: Temp[] = [];
  const seenTemps = new Set<string>();
  for (const m of text.matchAll(TEMP_RE)) {
    const c = Number(m[2]);
    // -256 °C is how Orin reports a sensor whose block is powered off.
    if (!Number.isFinite(c) || c < -100 || c > 250 || seenTemps.has(m[1])) continue;
    seenTemps.add(m[1]);
    temps.push({ name: m[1].slice(0, 256), c });
    if (temps.length >= 256) break;
  }
  if (temps.length) out.temps = temps;

  const power: PowerRail[] = [];
  const seenRails = new Set<string>();
  for (const m of text.matchAll(RAIL_RE)) {
    if (NOT_RAILS.has(m[1]) || seenRails.has(m[1])) continue;
    const mw = nonNeg(m[2]);
    const avg = nonNeg(m[3]);
    if (mw === undefined) continue;
    seenRails.add(m[1]);
    power.push(avg === undefined ? { rail: m[1], mw } : { rail: m[1], mw, avg_mw: avg });
    if (power.length >= 64) break;
  }
  if (power.length) out.power = power;

  return out;
}

/** Options of {@link createTegrastatsCollector}. */
export interface TegrastatsCollectorOptions {
  /** The tegrastats executable (e.g. `/usr/bin/tegrastats`). */
  path: string;
  /** Passed as `--interval`; also what "recent" means for the latest line. */
  intervalMs: number;
  /** A line older than this is stale and collect throws; default max(3 × interval, 3 s). */
  staleAfterMs?: number;
}

/** Longest line kept while waiting for its newline; tegrastats lines are ~300-700 bytes. */
const MAX_LINE = 64 * 1024;

async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) onLine(line);
      }
      if (buf.length > MAX_LINE) buf = "";
    }
  } catch {
    // The pipe broke because the child died; the exit status tells the story.
  } finally {
    reader.releaseLock();
  }
}

/**
 * Creates the tegrastats collector. The child starts on the first collect (which therefore
 * returns nothing yet); if it dies, the next collect throws with its exit status and last stderr
 * line and starts a new one. `close()` stops the child (SIGTERM, then SIGKILL after 2 s).
 *
 * @example
 * ```ts
 * const tegra = createTegrastatsCollector({ path: "/usr/bin/tegrastats", intervalMs: 5000 });
 * const m = await tegra.collect({ root: "/", now: Date.now() });
 * await tegra.close();
 * ```
 */
export function createTegrastatsCollector(
  opts: TegrastatsCollectorOptions,
): Collector & { close(): Promise<void> } {
  const interval = Math.max(1, Math.round(opts.intervalMs));
  const staleAfter = opts.staleAfterMs ?? Math.max(3 * interval, 3000);
  let child: Deno.ChildProcess | undefined;
  let pumps: Promise<unknown>[] = [];
  let exited: Deno.CommandStatus | undefined;
  let startedAt = 0;
  let latest: { line: string; at: number } | undefined;
  let lastStderr = "";
  let closed = false;

  function start(): void {
    const proc = new Deno.Command(opts.path, {
      args: ["--interval", String(interval)],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    child = proc;
    exited = undefined;
    latest = undefined;
    lastStderr = "";
    startedAt = performance.now();
    pumps = [
      pumpLines(proc.stdout, (line) => {
        latest = { line, at: performance.now() };
      }),
      pumpLines(proc.stderr, (line) => {
        lastStderr = line.slice(0, 300);
      }),
      proc.status.then((s) => {
        if (child === proc) exited = s;
      }),
    ];
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    if (!exited) {
      try {
        proc.kill("SIGTERM");
      } catch {
        // Already gone between the check and the kill.
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        proc.status.then(() => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), 2000)),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        try {
          proc.kill("SIGKILL");
        } catch {
          // Exited just now.
        }
      }
    }
    await Promise.allSettled(pumps);
    child = undefined;
  }

  async function collect(_ctx: CollectContext): Promise<Partial<SampleMetrics>> {
    if (closed) return {};
    if (!child) {
      start();
      return {};
    }
    if (exited) {
      const why = `tegrastats exited with code ${exited.code}` +
        (exited.signal ? ` (${exited.signal})` : "") + (lastStderr ? `: ${lastStderr}` : "");
      await stop();
      start();
      throw new Error(why);
    }
    const age = performance.now() - (latest?.at ?? startedAt);
    if (age > staleAfter) {
      throw new Error(`tegrastats printed nothing for ${Math.round(age)} ms`);
    }
    return latest ? parseTegrastatsLine(latest.line) : {};
  }

  async function close(): Promise<void> {
    closed = true;
    await stop();
  }

  return { name: "tegrastats", collect, close };
}
