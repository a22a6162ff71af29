/**
 * The metrics bench's prom-client side, run by `metrics_phase.ts` as `deno run --no-lock`: reads
 * the fleet (`NodeSummary[]` JSON) on stdin, renders it `ROUNDS` times (argument) with
 * prom-client's labelled gauges (reset and set per scrape, then `registry.metrics()`), and prints
 * `{ms, bytes}`. prom-client is loaded by a specifier the type checker and `deno install` do not
 * follow, so it never enters deno.lock: `deno compile` embeds every npm package of the lock, and
 * prom-client's graph overflows its stack.
 *
 * @module
 */
import type { NodeSummary, Sample } from "../../shared/protocol/mod.ts";
import { isPlaceholderTemp } from "../../hub/alerts/engine.ts";

interface Gauge {
  set(labels: Record<string, string>, v: number): void;
}
interface Registry {
  resetMetrics(): void;
  metrics(): Promise<string>;
}
interface PromClient {
  Registry: new () => Registry;
  Gauge: new (o: {
    name: string;
    help: string;
    labelNames: string[];
    registers: Registry[];
  }) => Gauge;
}

const PROM_CLIENT = ["npm:prom-client", "15.1.3"].join("@");
const { Gauge, Registry } = (await import(PROM_CLIENT)) as PromClient;

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

const rounds = Number(Deno.args[0] ?? 30);
const fleet = JSON.parse(await new Response(Deno.stdin.readable).text()) as NodeSummary[];
const render = promClientRenderer();
let text = "";
for (let i = 0; i < 3; i++) text = await render(fleet);
const ms: number[] = [];
for (let i = 0; i < rounds; i++) {
  const t0 = performance.now();
  text = await render(fleet);
  ms.push(performance.now() - t0);
}
console.log(JSON.stringify({ ms, bytes: text.length }));
