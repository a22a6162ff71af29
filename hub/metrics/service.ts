/**
 * `/metrics`: the hub's own health (ingest, group commit, SSE, queue, claims, agent sockets)
 * and every node's latest metrics, labelled `node`, `cluster` and `type`, built per scrape from
 * the fleet's in-memory latest samples.
 *
 * @module
 */
import type { NodeSummary } from "../../shared/protocol/mod.ts";
import { NODE_STATUSES } from "../../shared/protocol/enums.ts";
import { VERSION } from "../../shared/version.ts";
import { isPlaceholderTemp, sensorReadings } from "../alerts/engine.ts";
import { type ExpositionFormat, ExpositionWriter, labelSet } from "./exposition.ts";
import type { HubMetrics } from "./hub_metrics.ts";

/** What a scrape reads from the running hub. */
export interface ScrapeSources {
  metrics: HubMetrics;
  startedAt: number;
  nodes: () => NodeSummary[];
  sseClients: () => number;
  sseDropped: () => number;
  agentSessions: () => number;
  terminals: () => number;
  /** Jobs pending, claimed and running. */
  jobs: () => Record<"pending" | "claimed" | "running", number>;
  alertsFiring: () => number;
  /** Ingest batches refused with 503 at the in-flight bound. */
  ingestRefused: () => number;
}

type Family = {
  name: string;
  type: "gauge" | "counter";
  help: string;
  unit?: string;
  lines: string[];
};

/** The per-node families, in exposition order. */
const NODE_FAMILIES = {
  up: ["fleet_node_up", "gauge", "1 while the node is online (a sample within the degraded bound)"],
  status: ["fleet_node_status", "gauge", "the node's status (the series of its current one is 1)"],
  age: [
    "fleet_node_last_sample_age_seconds",
    "gauge",
    "seconds since the hub got the node's last sample",
    "seconds",
  ],
  uptime: ["fleet_node_uptime_seconds", "gauge", "node uptime", "seconds"],
  cpu: ["fleet_node_cpu_percent", "gauge", "CPU busy over the last interval, percent"],
  load: ["fleet_node_load1", "gauge", "1-minute load average"],
  memUsed: ["fleet_node_memory_used_bytes", "gauge", "memory in use", "bytes"],
  memTotal: ["fleet_node_memory_total_bytes", "gauge", "memory size", "bytes"],
  swapUsed: ["fleet_node_swap_used_bytes", "gauge", "swap in use", "bytes"],
  gpu: [
    "fleet_node_gpu_utilization_percent",
    "gauge",
    "GPU utilisation (GR3D_FREQ on Jetson), percent",
  ],
  gpuMhz: ["fleet_node_gpu_frequency_mhz", "gauge", "GPU clock, MHz"],
  gpuMem: ["fleet_node_gpu_memory_used_bytes", "gauge", "GPU memory in use (dGPU)", "bytes"],
  temp: [
    "fleet_node_temperature_celsius",
    "gauge",
    "sensor temperature (placeholder readings left out)",
    "celsius",
  ],
  power: ["fleet_node_power_milliwatts", "gauge", "power rail draw, mW"],
  diskUsed: ["fleet_node_filesystem_used_bytes", "gauge", "filesystem space used", "bytes"],
  diskSize: ["fleet_node_filesystem_size_bytes", "gauge", "filesystem size", "bytes"],
  rx: ["fleet_node_network_receive_bytes_per_second", "gauge", "interface receive rate"],
  tx: ["fleet_node_network_transmit_bytes_per_second", "gauge", "interface transmit rate"],
  dropped: [
    "fleet_node_spool_dropped",
    "counter",
    "samples the node's agent dropped from its spool",
  ],
  skew: [
    "fleet_node_clock_skew_seconds",
    "gauge",
    "node clock minus hub clock when beyond the allowed skew (0 in sync)",
    "seconds",
  ],
} as const;

/**
 * Builds one scrape.
 *
 * @example
 * ```ts
 * const text = scrape(sources, "prometheus");
 * ```
 */
export function scrape(src: ScrapeSources, format: ExpositionFormat, now = Date.now()): string {
  const w = new ExpositionWriter(format);
  const m = src.metrics;
  const nodes = src.nodes();

  w.family("fleet_hub_info", "gauge", "the hub's version");
  w.sample("fleet_hub_info", labelSet([["version", VERSION]]), 1);
  w.family("fleet_hub_uptime_seconds", "gauge", "seconds since the hub started", "seconds");
  w.sample("fleet_hub_uptime_seconds", "", Math.round((now - src.startedAt) / 1000));
  w.family("fleet_hub_resident_memory_bytes", "gauge", "the hub's resident set size", "bytes");
  w.sample("fleet_hub_resident_memory_bytes", "", Deno.memoryUsage().rss);
  w.family(
    "fleet_hub_samples_ingested",
    "counter",
    "samples stored by ingest (rate() = ingest rate)",
  );
  w.sample("fleet_hub_samples_ingested_total", "", m.samplesIngested);
  w.family("fleet_hub_ingest_batches", "counter", "ingest batches committed");
  w.sample("fleet_hub_ingest_batches_total", "", m.batchesIngested);
  w.family(
    "fleet_hub_ingest_refused",
    "counter",
    "ingest batches refused with 503 at the in-flight bound (agents send them again)",
  );
  w.sample("fleet_hub_ingest_refused_total", "", src.ingestRefused());
  w.family(
    "fleet_hub_db_commit_seconds",
    "histogram",
    "duration of one group commit (fsync included)",
    "seconds",
  );
  w.histogram("fleet_hub_db_commit_seconds", [], m.commitSeconds);
  w.family("fleet_hub_db_commit_writes", "counter", "writes committed in group transactions");
  w.sample("fleet_hub_db_commit_writes_total", "", m.commitWrites);
  w.family(
    "fleet_hub_job_claim_seconds",
    "histogram",
    "duration of one job claim attempt, committed",
    "seconds",
  );
  w.histogram("fleet_hub_job_claim_seconds", [], m.claimSeconds);
  const jobs = src.jobs();
  w.family("fleet_hub_queue_depth", "gauge", "jobs waiting for a worker");
  w.sample("fleet_hub_queue_depth", "", jobs.pending);
  w.family("fleet_hub_jobs", "gauge", "jobs by live state");
  for (const [state, n] of Object.entries(jobs)) {
    w.sample("fleet_hub_jobs", labelSet([["state", state]]), n);
  }
  w.family("fleet_hub_sse_clients", "gauge", "browsers and tools on the live stream");
  w.sample("fleet_hub_sse_clients", "", src.sseClients());
  w.family("fleet_hub_sse_dropped", "counter", "slow stream clients dropped");
  w.sample("fleet_hub_sse_dropped_total", "", src.sseDropped());
  w.family("fleet_hub_agent_sessions", "gauge", "agents holding their control WebSocket");
  w.sample("fleet_hub_agent_sessions", "", src.agentSessions());
  w.family("fleet_hub_terminal_sessions", "gauge", "open web terminals");
  w.sample("fleet_hub_terminal_sessions", "", src.terminals());
  w.family("fleet_hub_alerts_firing", "gauge", "alerts firing now");
  w.sample("fleet_hub_alerts_firing", "", src.alertsFiring());
  const byStatus = new Map<string, number>(NODE_STATUSES.map((s) => [s, 0]));
  for (const n of nodes) byStatus.set(n.status, (byStatus.get(n.status) ?? 0) + 1);
  w.family("fleet_hub_nodes", "gauge", "nodes by status");
  for (const [status, count] of byStatus) {
    w.sample("fleet_hub_nodes", labelSet([["status", status]]), count);
  }

  const fam = {} as Record<keyof typeof NODE_FAMILIES, Family>;
  for (const [k, d] of Object.entries(NODE_FAMILIES)) {
    fam[k as keyof typeof NODE_FAMILIES] = {
      name: d[0],
      type: d[1],
      help: d[2],
      unit: (d as readonly string[])[3],
      lines: [],
    };
  }
  const om = format === "openmetrics";
  const put = (f: Family, base: string, extra: string, v: number | undefined | null) => {
    if (v === undefined || v === null || !Number.isFinite(v)) return;
    const name = f.type === "counter" ? `${f.name}_total` : f.name;
    f.lines.push(`${name}{${base}${extra}} ${v}`);
  };
  const lbl = (k: string, v: string) => labelSet([[k, v]]).slice(1, -1);
  for (const n of nodes) {
    const base = labelSet([["node", n.id], ["cluster", n.cluster ?? ""], ["type", n.type ?? ""]])
      .slice(1, -1);
    put(fam.up, base, "", n.status === "online" ? 1 : 0);
    put(fam.status, base, `,${lbl("status", n.status)}`, 1);
    if (n.last_seen !== null) put(fam.age, base, "", Math.max(0, (now - n.last_seen) / 1000));
    put(fam.dropped, base, "", n.spool_dropped);
    put(fam.skew, base, "", n.clock_skew_s ?? 0);
    const s = n.last_sample;
    if (!s) continue;
    put(fam.uptime, base, "", s.uptime_s);
    put(fam.cpu, base, "", s.cpu?.pct);
    put(fam.load, base, "", s.load?.l1);
    put(fam.memUsed, base, "", s.mem?.used_b);
    put(fam.memTotal, base, "", s.mem?.total_b);
    put(fam.swapUsed, base, "", s.swap?.used_b);
    s.gpus?.forEach((g, i) => {
      const l = `,${lbl("gpu", String(g.index ?? i))}`;
      put(fam.gpu, base, l, g.util_pct);
      put(fam.gpuMhz, base, l, g.freq_mhz);
      put(fam.gpuMem, base, l, g.mem_used_b);
    });
    for (const t of sensorReadings(s)) {
      if (!isPlaceholderTemp(t.name, t.c)) put(fam.temp, base, `,${lbl("sensor", t.name)}`, t.c);
    }
    for (const p of s.power ?? []) put(fam.power, base, `,${lbl("rail", p.rail)}`, p.mw);
    for (const d of s.disks ?? []) {
      const l = `,${lbl("mount", d.mount)}`;
      put(fam.diskUsed, base, l, d.used_b);
      put(fam.diskSize, base, l, d.total_b);
    }
    for (const i of s.net ?? []) {
      const l = `,${lbl("iface", i.iface)}`;
      put(fam.rx, base, l, i.rx_bps);
      put(fam.tx, base, l, i.tx_bps);
    }
  }
  for (const f of Object.values(fam)) {
    // An empty family (no node has a GPU) is left out rather than announced without samples.
    if (f.lines.length === 0) continue;
    w.family(f.name, f.type, f.help, om ? f.unit : undefined);
    for (const line of f.lines) w.raw(line);
  }
  return w.text();
}
