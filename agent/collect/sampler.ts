/**
 * The sampler: runs every collector of the node in parallel and merges their parts into one
 * {@link SampleMetrics}. External tools (tegrastats, nvidia-smi) are used when found on PATH or
 * at a configured path; a collector that throws is logged once and skipped until it recovers.
 * A collector that does not answer in time (a read that hangs in a driver) is left out of the
 * sample, and of later ones until that call returns, so one stuck source cannot stop the others.
 *
 * Merge rules: /proc wins for `cpu`, `mem` and `swap` (tegrastats fills `cpu` only while /proc
 * has no rates yet, on the first sample); `temps` from thermal zones and tegrastats are deduped by
 * name (case-insensitive, thermal zone first); nvidia-smi GPUs win over the tegrastats GR3D GPU.
 *
 * @module
 */
import type { Collector } from "./collector.ts";
import type { CollectContext } from "./collector.ts";
import type { SampleMetrics } from "../../shared/protocol/mod.ts";
import { getLogger, type Logger } from "../../shared/log.ts";
import { createProcCollector } from "./proc.ts";
import { createDisksCollector } from "./disks.ts";
import { createThermalCollector } from "./thermal.ts";
import { hasJetsonSysfs } from "./jetson_detect.ts";
import { checkMetrics } from "./check_metrics.ts";
import { lazyImport } from "../../shared/lazy_import.ts";

/** Options of {@link createSampler}. */
export interface SamplerOptions {
  /** Filesystem root for /proc and /sys (`/` on a node, a fixture directory in tests). */
  root: string;
  /** tegrastats executable; default: `tegrastats` found on PATH; `false` disables it. */
  tegrastats?: string | false;
  /** nvidia-smi executable; default: `nvidia-smi` found on PATH; `false` disables it. */
  nvidiaSmi?: string | false;
  /** Docker Engine socket; default `/var/run/docker.sock`; `false` disables containers. */
  dockerSocket?: string | false;
  /** Sample interval; also the tegrastats `--interval`. */
  intervalMs: number;
  /** Where failures and recoveries are logged; default `getLogger("sampler")`. */
  logger?: Logger;
}

/** What {@link createSampler} returns. */
export interface Sampler {
  /** Collects one sample's metrics at time `now` (ms since the epoch). Never throws. */
  collect(now: number): Promise<SampleMetrics>;
  /** Stops long-running children (tegrastats) and releases the Docker client. */
  close(): Promise<void>;
  /** Names of the collectors in use, e.g. `["proc", "disks", "thermal", "tegrastats"]`. */
  readonly collectors: readonly string[];
}

/** Finds an executable by name on PATH, or checks a configured path; undefined if absent. */
export function findExecutable(
  nameOrPath: string,
  path: string = Deno.env.get("PATH") ?? "",
): string | undefined {
  const candidates = nameOrPath.includes("/")
    ? [nameOrPath]
    : path.split(":").filter(Boolean).map((dir) => `${dir}/${nameOrPath}`);
  for (const c of candidates) {
    try {
      const st = Deno.statSync(c);
      if (st.isFile && (st.mode === null || (st.mode & 0o111) !== 0)) return c;
    } catch {
      // Not in this directory (or not readable): try the next one.
    }
  }
  return undefined;
}

/**
 * A collector whose code loads on its first use: a node without tegrastats, nvidia-smi, Docker
 * or Jetson sysfs never loads theirs.
 */
function lazyCollector(name: string, load: () => Promise<Collector>): Collector {
  let loaded: Promise<Collector> | undefined;
  return {
    name,
    async collect(ctx: CollectContext) {
      loaded ??= load();
      return await (await loaded).collect(ctx);
    },
    async close() {
      if (loaded) await (await loaded.catch(() => undefined))?.close?.();
    },
  };
}

/**
 * How long a tick waits for a collector: half a second under its interval (so a tick with a hung
 * collector still ends before the next is due), from 3 s (above a dead mount's statfs timeout and
 * the Docker collector's own at short intervals) to 10 s.
 */
export function collectorDeadlineMs(intervalMs: number): number {
  return Math.max(3000, Math.min(intervalMs - 500, 10_000));
}

/**
 * Calls `collector` with a deadline (the sampler closes the collector itself). A call still
 * running from an earlier tick is not started again (a hung read would otherwise add one stuck
 * call per tick): the collector sits out until it returns.
 */
export function deadlined(collector: Collector, deadlineMs: number): Collector {
  let running: Promise<unknown> | undefined;
  return {
    name: collector.name,
    async collect(ctx: CollectContext) {
      if (running) throw new Error("still collecting since an earlier sample");
      const call = collector.collect(ctx);
      running = call.then(() => {}, () => {}).finally(() => (running = undefined));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${deadlineMs} ms`)),
          deadlineMs,
        );
      });
      try {
        return await Promise.race([call, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

type Temp = NonNullable<SampleMetrics["temps"]>[number];

function mergeTemps(...lists: (Temp[] | undefined)[]): Temp[] | undefined {
  const seen = new Set<string>();
  const out: Temp[] = [];
  for (const list of lists) {
    for (const t of list ?? []) {
      const key = t.name.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(t);
    }
  }
  return out.length ? out.slice(0, 256) : undefined;
}

/**
 * Creates the sampler for one node.
 *
 * @example
 * ```ts
 * const sampler = createSampler({ root: "/", intervalMs: 5000 });
 * const metrics = await sampler.collect(Date.now());
 * await sampler.close();
 * ```
 */
export function createSampler(opts: SamplerOptions): Sampler {
  const logger = opts.logger ?? getLogger("sampler");
  const collectors: Collector[] = [
    createProcCollector(),
    createDisksCollector(),
    createThermalCollector(),
  ];
  // Jetson sysfs fills what tegrastats does not give (absent, failing, or no GPU load on JP7).
  if (hasJetsonSysfs(opts.root)) {
    collectors.push(
      lazyCollector(
        "sysfs",
        async () =>
          (await lazyImport<typeof import("./sysfs.ts")>(import.meta.url, "./sysfs.ts"))
            .createSysfsCollector(),
      ),
    );
  }

  const external = (
    option: string | false | undefined,
    name: string,
    make: (path: string) => Promise<Collector>,
  ) => {
    if (option === false) return;
    const found = findExecutable(option ?? name);
    if (found) collectors.push(lazyCollector(name.replace("-", "_"), () => make(found)));
    // An explicitly configured tool that is missing is worth a word; a missing default is normal.
    else if (option !== undefined) {
      logger.warn(`${name} not found; its metrics are disabled`, { path: option });
    }
  };
  external(
    opts.tegrastats,
    "tegrastats",
    async (path) =>
      (await lazyImport<typeof import("./tegrastats.ts")>(import.meta.url, "./tegrastats.ts"))
        .createTegrastatsCollector({
          path,
          intervalMs: opts.intervalMs,
        }),
  );
  external(
    opts.nvidiaSmi,
    "nvidia-smi",
    async (path) =>
      (await lazyImport<typeof import("./nvidia_smi.ts")>(import.meta.url, "./nvidia_smi.ts"))
        .createNvidiaSmiCollector({ path }),
  );
  if (opts.dockerSocket !== false) {
    const socketPath = opts.dockerSocket ?? "/var/run/docker.sock";
    collectors.push(
      lazyCollector(
        "docker",
        async () =>
          (await lazyImport<typeof import("./docker.ts")>(import.meta.url, "./docker.ts"))
            .createDockerCollector({
              socketPath,
              timeoutMs: Math.min(4000, Math.max(1000, opts.intervalMs - 500)),
            }),
      ),
    );
  }

  const failing = new Set<string>();
  const invalidLogged = new Set<string>();
  const deadlineMs = collectorDeadlineMs(opts.intervalMs);
  const timed = collectors.map((c) => deadlined(c, deadlineMs));

  async function collect(now: number): Promise<SampleMetrics> {
    const ctx = { root: opts.root, now };
    const settled = await Promise.allSettled(timed.map((c) => c.collect(ctx)));
    const parts = new Map<string, Partial<SampleMetrics>>();
    settled.forEach((r, i) => {
      const name = collectors[i].name;
      if (r.status === "fulfilled") {
        parts.set(name, r.value ?? {});
        if (failing.delete(name)) logger.info("collector recovered", { collector: name });
      } else if (!failing.has(name)) {
        failing.add(name);
        logger.warn("collector failed; skipping it until it recovers", {
          collector: name,
          error: r.reason instanceof Error ? r.reason.message : String(r.reason),
        });
      }
    });

    // Later entries win: /proc last so its cpu/mem/swap override tegrastats.
    const order = ["sysfs", "tegrastats", "nvidia_smi", "thermal", "disks", "docker", "proc"];
    const merged: Record<string, unknown> = {};
    for (const name of order) {
      for (const [key, value] of Object.entries(parts.get(name) ?? {})) {
        if (value !== undefined) merged[key] = value;
      }
    }
    const temps = mergeTemps(
      parts.get("thermal")?.temps,
      parts.get("tegrastats")?.temps,
      parts.get("sysfs")?.temps,
    );
    if (temps) merged.temps = temps;
    else delete merged.temps;
    const sysfsGpu = parts.get("sysfs")?.gpus?.[0];
    let gpus = parts.get("nvidia_smi")?.gpus ?? parts.get("tegrastats")?.gpus;
    if (gpus?.[0] && sysfsGpu && !parts.has("nvidia_smi")) gpus = [{ ...sysfsGpu, ...gpus[0] }];
    gpus ??= parts.get("sysfs")?.gpus;
    if (gpus) merged.gpus = gpus;

    // A collector bug must cost one field, not the sample: drop what fails the schema.
    const checked = checkMetrics(merged);
    if (checked.ok) return checked.data;
    for (const [key, issue] of checked.fields) {
      if (!invalidLogged.has(key)) {
        invalidLogged.add(key);
        logger.error("dropping a metric field that fails the schema", { field: key, issue });
      }
      delete merged[key];
    }
    if (checked.fields.has("")) return {};
    const again = checkMetrics(merged);
    return again.ok ? again.data : {};
  }

  async function close(): Promise<void> {
    await Promise.allSettled(collectors.map((c) => c.close?.()));
  }

  return { collect, close, collectors: collectors.map((c) => c.name) };
}
