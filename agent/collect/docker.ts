/**
 * Containers of the node from the Docker Engine API over its unix socket: name, image, state,
 * CPU % and memory. CPU % is computed between this collect and the previous one (so the first
 * collect of a container has no `cpu_pct`); memory excludes reclaimable page cache the way
 * `docker stats` does. A missing socket means Docker is not installed: no `containers` field.
 *
 * @module
 */
import type { CollectContext, Collector } from "./collector.ts";
import type { SampleMetrics } from "../../shared/protocol/mod.ts";
import {
  type ContainerStats,
  type ContainerSummary,
  createDockerApi,
  type DockerApi,
} from "../../shared/docker_api.ts";

type ContainerStat = NonNullable<SampleMetrics["containers"]>[number];

/** Options of {@link createDockerCollector}. */
export interface DockerCollectorOptions {
  /** Path of the Engine API socket; default `/var/run/docker.sock`. */
  socketPath?: string;
  /** Deadline for one whole collect (list + all stats calls); default 4 s. */
  timeoutMs?: number;
}

/** How many stats calls run at once; each makes dockerd read the container's cgroup. */
const STATS_CONCURRENCY = 8;

/** Memory as `docker stats` shows it: usage minus inactive page cache (cgroup v1 and v2). */
function memoryUsed(m: ContainerStats["memory_stats"]): number | undefined {
  if (!m || typeof m.usage !== "number") return undefined;
  const s = m.stats ?? {};
  const cache = s.total_inactive_file ?? s.inactive_file ?? s.cache;
  if (typeof cache === "number" && cache >= 0 && cache <= m.usage) return m.usage - cache;
  return m.usage;
}

/**
 * Creates the Docker collector. It keeps one HTTP client on the socket and the previous CPU
 * counters of every container; `close()` releases the client.
 *
 * @example
 * ```ts
 * const docker = createDockerCollector({ socketPath: "/var/run/docker.sock" });
 * const { containers } = await docker.collect({ root: "/", now: Date.now() });
 * docker.close();
 * ```
 */
export function createDockerCollector(
  opts: DockerCollectorOptions = {},
): Collector & { close(): void } {
  const socketPath = opts.socketPath ?? "/var/run/docker.sock";
  const timeoutMs = opts.timeoutMs ?? 4000;
  let api: DockerApi | undefined;
  let prevCpu = new Map<string, { total: number; system: number }>();

  async function collect(_ctx: CollectContext): Promise<Partial<SampleMetrics>> {
    try {
      await Deno.stat(socketPath);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return {};
      throw err;
    }
    api ??= createDockerApi(socketPath);
    const http = api;
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new Error(`docker did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      const listed = await http.json<ContainerSummary[]>("GET", "/containers/json", {
        query: { all: 1 },
        signal: abort.signal,
      });
      const items = Array.isArray(listed) ? listed.slice(0, 1000) : [];
      const stats = new Map<string, ContainerStats>();
      const running = items.filter((c) => c.State === "running" && typeof c.Id === "string");
      let next = 0;
      const worker = async () => {
        while (next < running.length && !abort.signal.aborted) {
          const c = running[next++];
          try {
            stats.set(
              c.Id,
              await http.json<ContainerStats>(
                "GET",
                `/containers/${encodeURIComponent(c.Id)}/stats`,
                { query: { stream: false, "one-shot": true }, signal: abort.signal },
              ),
            );
          } catch {
            // A container that stopped between list and stats just has no numbers this round.
          }
        }
      };
      await Promise.all(Array.from({ length: STATS_CONCURRENCY }, worker));

      const cpuNow = new Map<string, { total: number; system: number }>();
      const containers: ContainerStat[] = [];
      for (const c of items) {
        if (typeof c.Id !== "string") continue;
        const name = (c.Names?.[0] ?? "").replace(/^\//, "") || c.Id.slice(0, 12);
        const out: ContainerStat = {
          id: c.Id.slice(0, 128),
          name: name.slice(0, 256),
          image: String(c.Image ?? "").slice(0, 512),
          state: String(c.State ?? "unknown").slice(0, 64),
        };
        if (c.Status) out.status = String(c.Status).slice(0, 256);
        const s = stats.get(c.Id);
        const cpu = s?.cpu_stats;
        const total = cpu?.cpu_usage?.total_usage;
        const system = cpu?.system_cpu_usage;
        if (typeof total === "number" && typeof system === "number") {
          cpuNow.set(c.Id, { total, system });
          const p = prevCpu.get(c.Id);
          const dTotal = p ? total - p.total : -1;
          const dSystem = p ? system - p.system : 0;
          if (dTotal >= 0 && dSystem > 0) {
            const cpus = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 1;
            out.cpu_pct = Math.round((dTotal / dSystem) * cpus * 10000) / 100;
          }
        }
        const mem = memoryUsed(s?.memory_stats);
        if (mem !== undefined && mem >= 0) out.mem_b = mem;
        const limit = s?.memory_stats?.limit;
        if (typeof limit === "number" && limit > 0) out.mem_limit_b = limit;
        containers.push(out);
      }
      // Only containers seen now keep counters, so the map cannot grow with container churn.
      prevCpu = cpuNow;
      return { containers };
    } catch (err) {
      if (abort.signal.aborted && abort.signal.reason instanceof Error) throw abort.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  function close(): void {
    api?.close();
    api = undefined;
  }

  return { name: "docker", collect, close };
}
