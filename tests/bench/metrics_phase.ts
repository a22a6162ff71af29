/**
 * The bench's `metrics` phase: `/metrics` scraped from a real hub holding 1,000 nodes (each with
 * one realistic Jetson or x86 sample), over HTTP with a `metrics` token: time per scrape, bytes
 * (plain and gzipped) and series. In the same run, in this process, the same fleet rendered by
 * the hub's own text writer and by `prom-client` (a registry of labelled gauges reset and set per
 * scrape, then `registry.metrics()`), which is how the writer was chosen; and, as the floor,
 * `GET /healthz` over the same HTTP path.
 *
 * @module
 */
import { Gauge, Registry } from "prom-client";
import { ApiClient } from "../../shared/api_client.ts";
import type { NodeSummary, Sample } from "../../shared/protocol/mod.ts";
import { scrape } from "../../hub/metrics/service.ts";
import { HubMetrics } from "../../hub/metrics/hub_metrics.ts";
import { isPlaceholderTemp } from "../../hub/alerts/engine.ts";
import {
  createNodeTokens,
  type Json,
  numberedIds,
  type Row,
  type RowFormat,
  sampleJson,
  sampleTemplates,
  summarize,
} from "./common.ts";
import type { PhaseContext } from "./context.ts";

/** Scrapes (and renders) measured after the warm-up. */
const ROUNDS = 30;
const QUICK_ROUNDS = 10;

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/** The same node families as the hub's writer, held in prom-client gauges. */
function promClientRenderer(): (nodes: NodeSummary[]) => Promise<string> {
  const registry = new Registry();
  const base = ["node", "cluster", "type"] as const;
  const g = (name: string, help: string, extra: string[] = []) =>
    new Gauge({ name, help, labelNames: [...base, ...extra], registers: [registry] });
  const up = g("fleet_node_up", "up");
  const status = g("fleet_node_status", "status", ["status"]);
  const age = g("fleet_node_last_sample_age_seconds", "age");
  const uptime = g("fleet_node_uptime_seconds", "uptime");
  const cpu = g("fleet_node_cpu_percent", "cpu");
  const load = g("fleet_node_load1", "load");
  const memUsed = g("fleet_node_memory_used_bytes", "mem used");
  const memTotal = g("fleet_node_memory_total_bytes", "mem total");
  const swapUsed = g("fleet_node_swap_used_bytes", "swap");
  const gpu = g("fleet_node_gpu_utilization_percent", "gpu", ["gpu"]);
  const gpuMhz = g("fleet_node_gpu_frequency_mhz", "gpu mhz", ["gpu"]);
  const gpuMem = g("fleet_node_gpu_memory_used_bytes", "gpu mem", ["gpu"]);
  const temp = g("fleet_node_temperature_celsius", "temp", ["sensor"]);
  const power = g("fleet_node_power_milliwatts", "power", ["rail"]);
  const diskUsed = g("fleet_node_filesystem_used_bytes", "disk used", ["mount"]);
  const diskSize = g("fleet_node_filesystem_size_bytes", "disk size", ["mount"]);
  const rx = g("fleet_node_network_receive_bytes_per_second", "rx", ["iface"]);
  const tx = g("fleet_node_network_transmit_bytes_per_second", "tx", ["iface"]);
  const dropped = g("fleet_node_spool_dropped_total", "dropped");
  const skew = g("fleet_node_clock_skew_seconds", "skew");
  const set = (gauge: Gauge, labels: Record<string, string>, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) gauge.set(labels, v);
  };
  return async (nodes) => {
    const now = Date.now();
    // A scrape mirrors the fleet as it is now: nodes and sensors that went away must go too.
    registry.resetMetrics();
    for (const n of nodes) {
      const l = { node: n.id, cluster: n.cluster ?? "", type: n.type ?? "" };
      set(up, l, n.status === "online" ? 1 : 0);
      set(status, { ...l, status: n.status }, 1);
      if (n.last_seen !== null) set(age, l, (now - n.last_seen) / 1000);
      set(dropped, l, n.spool_dropped);
      set(skew, l, n.clock_skew_s ?? 0);
      const s: Sample | null = n.last_sample;
      if (!s) continue;
      set(uptime, l, s.uptime_s);
      set(cpu, l, s.cpu?.pct);
      set(load, l, s.load?.l1);
      set(memUsed, l, s.mem?.used_b);
      set(memTotal, l, s.mem?.total_b);
      set(swapUsed, l, s.swap?.used_b);
      s.gpus?.forEach((x, i) => {
        const gl = { ...l, gpu: String(x.index ?? i) };
        set(gpu, gl, x.util_pct);
        set(gpuMhz, gl, x.freq_mhz);
        set(gpuMem, gl, x.mem_used_b);
      });
      for (const t of s.temps ?? []) {
        if (!isPlaceholderTemp(t.name, t.c)) set(temp, { ...l, sensor: t.name }, t.c);
      }
      for (const p of s.power ?? []) set(power, { ...l, rail: p.rail }, p.mw);
      for (const d of s.disks ?? []) {
        set(diskUsed, { ...l, mount: d.mount }, d.used_b);
        set(diskSize, { ...l, mount: d.mount }, d.total_b);
      }
      for (const i of s.net ?? []) {
        set(rx, { ...l, iface: i.iface }, i.rx_bps);
        set(tx, { ...l, iface: i.iface }, i.tx_bps);
      }
    }
    return await registry.metrics();
  };
}

async function timed(rounds: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < 3; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** Runs the phase; fills `out.metrics`. */
export async function metricsPhase(ctx: PhaseContext, out: Json): Promise<void> {
  const rounds = ctx.quick ? QUICK_ROUNDS : ROUNDS;
  ctx.log(`metrics: /metrics at ${ctx.nodes} nodes, ${rounds} scrapes; own writer vs prom-client`);
  const hub = await ctx.startHub();
  try {
    const ids = numberedIds("m", ctx.nodes, 4);
    const tokens = await createNodeTokens(hub, ids);
    const templates = await sampleTemplates();
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < ids.length) {
        const i = next++;
        const body = `{"node_id":"${ids[i]}","samples":[${
          sampleJson(templates[i % templates.length], 1, Date.now())
        }]}`;
        const res = await fetch(`${hub.url}/api/v1/ingest`, {
          method: "POST",
          headers: { authorization: `Bearer ${tokens[i]}`, "content-type": "application/json" },
          body,
        });
        if (!res.ok) throw new Error(`ingest ${ids[i]}: ${res.status} ${await res.text()}`);
        await res.body?.cancel();
      }
    }));
    const token = (await hub.admin.createToken({ kind: "metrics", name: "bench" })).token;
    const headers = { authorization: `Bearer ${token}` };
    let text = "";
    const scrapeMs = await timed(rounds, async () => {
      const res = await fetch(`${hub.url}/metrics`, { headers });
      text = await res.text();
      if (!res.ok) throw new Error(`/metrics answered ${res.status}: ${text.slice(0, 200)}`);
    });
    const healthMs = await timed(rounds, async () => {
      const res = await fetch(`${hub.url}/healthz`);
      await res.text();
    });
    const series = text.split("\n").filter((l) => l && !l.startsWith("#")).length;
    const nodesSeen = new Set(
      [...text.matchAll(/^fleet_node_up\{node="([^"]+)"/gm)].map((m) => m[1]),
    ).size;

    // The same fleet, rendered in this process by both writers.
    const fleet = (await new ApiClient({ hub: hub.url, token: hub.adminToken }).fleet()).nodes;
    const metrics = new HubMetrics();
    const sources = {
      metrics,
      startedAt: Date.now(),
      nodes: () => fleet,
      sseClients: () => 0,
      sseDropped: () => 0,
      agentSessions: () => 0,
      terminals: () => 0,
      jobs: () => ({ pending: 0, claimed: 0, running: 0 }),
      alertsFiring: () => 0,
    };
    let own = "";
    const ownMs = await timed(rounds, () => (own = scrape(sources, "prometheus")));
    const promClient = promClientRenderer();
    let prom = "";
    const promMs = await timed(rounds, async () => (prom = await promClient(fleet)));

    out.metrics = {
      nodes: ctx.nodes,
      nodes_in_scrape: nodesSeen,
      series,
      bytes: new TextEncoder().encode(text).byteLength,
      gzip_bytes: await gzipSize(text),
      scrape_ms: summarize(scrapeMs),
      healthz_ms: summarize(healthMs),
      render_own_ms: summarize(ownMs),
      render_prom_client_ms: summarize(promMs),
      render_own_bytes: own.length,
      render_prom_client_bytes: prom.length,
    };
    const m = out.metrics;
    ctx.log(
      `metrics: scrape p50 ${m.scrape_ms.p50} ms / max ${m.scrape_ms.max} ms, ` +
        `${(m.bytes / 1024).toFixed(0)} KiB (${(m.gzip_bytes / 1024).toFixed(0)} KiB gzip), ` +
        `${series} series, ${nodesSeen} nodes; render own p50 ${m.render_own_ms.p50} ms vs ` +
        `prom-client ${m.render_prom_client_ms.p50} ms; /healthz p50 ${m.healthz_ms.p50} ms`,
    );
  } finally {
    await ctx.stopHub(hub);
  }
}

/** The phase's table rows. */
export function metricsRows(m: Json | undefined, f: RowFormat): Row[] {
  if (!m) return [];
  return [
    {
      metric: `/metrics scrape ms at ${m.nodes} nodes, p50 / max, vs GET /healthz p50`,
      measured: `${f.fmt(m.scrape_ms.p50, 1)} / ${f.fmt(m.scrape_ms.max, 1)}`,
      baseline: f.fmt(m.healthz_ms.p50, 2),
      ratio: f.ratio(m.scrape_ms.p50, m.healthz_ms.p50),
      target: "-",
      met: f.verdict(m.nodes_in_scrape === m.nodes),
    },
    {
      metric: `/metrics size KiB (gzip) and series at ${m.nodes} nodes`,
      measured: `${f.fmt(m.bytes / 1024, 0)} (${f.fmt(m.gzip_bytes / 1024, 0)})`,
      baseline: `${m.series} series`,
      ratio: "-",
      target: "-",
      met: "-",
    },
    {
      metric: "render ms p50: own text writer vs prom-client (same fleet, in process)",
      measured: f.fmt(m.render_own_ms.p50, 2),
      baseline: f.fmt(m.render_prom_client_ms.p50, 2),
      ratio: f.ratio(m.render_own_ms.p50, m.render_prom_client_ms.p50),
      target: "-",
      met: "-",
    },
  ];
}
