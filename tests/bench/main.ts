/**
 * `deno task bench`: measures the hub and the agent against its targets, each next to a bare
 * baseline measured in the same run, and prints one table (metric | measured | baseline | ratio |
 * target | met?). The full results go to `tests/bench/out/bench-<timestamp>.json` and
 * `tests/bench/out/latest.json`.
 *
 * This file parses the flags (`--help` lists them), chooses the phases (`--only`), runs them in
 * order and writes the report (report.ts). Each phase lives in its own file:
 * - `ingest` (ingest_phase.ts): the real hub saturated with one sample per request, then batches
 *   of 10; it brings `baseline` (baseline_phase.ts) along: bare Hono + node:sqlite, FULL and
 *   NORMAL, driven by the same load generator. `--only baseline` runs the baselines alone.
 * - `sse` (sse_phase.ts): a fresh hub, 1,000 nodes at 5 s, 20 SSE clients; sample → event latency
 *   and hub RSS during and after.
 * - `agent` (agent_phase.ts): the real agent at a 5 s interval, a bare Deno /proc loop and the
 *   agent's floor (that loop with a `fetch` POST, a WebSocket and FFI `statfs`).
 * - `queue` (queue_phase.ts): job claims in-process and over HTTP, next to the bare claim loop.
 * - `roamer` (roamer_phase.ts): roamer IDLE → RUNNING with a cached image on a real dockerd.
 * - `control` (control_phase.ts): hub memory per agent, exec fan-out, terminal keystroke echo.
 * - `canvas` (canvas_phase.ts): the UI in headless Chromium next to a bare canvas-2D page.
 * - `metrics` (metrics_phase.ts): `/metrics` scraped at 1,000 nodes; own writer vs prom-client.
 * - `backup` (backup_phase.ts): backup/restore throughput and RSS on a real Ceph RGW, next to
 *   `tar | gzip` and a plain S3 PUT loop (`--only backup`; not in the default list: ~5 min at 1 GiB).
 * - `floor` (floor_phase.ts): bare servers that bound what the ingest targets leave room for
 *   (HTTP + JSON alone, the hub's table, durable or not, a batch as one row), with the hub's V8
 *   flags and code loaded so their RSS is a memory floor too; each run shows its floors next to
 *   the targets (~80 s).
 *
 * @module
 */
import { type Json, parseCli, round } from "./common.ts";
import { createRun, type Durations, log, type PhaseContext } from "./context.ts";
import { writeReport } from "./report.ts";
import { ingestPhase } from "./ingest_phase.ts";
import { baselinePhase } from "./baseline_phase.ts";
import { ssePhase } from "./sse_phase.ts";
import { agentPhase } from "./agent_phase.ts";
import { queuePhase } from "./queue_phase.ts";
import { roamerPhase } from "./roamer_phase.ts";
import { controlPhase } from "./control_phase.ts";
import { canvasPhase } from "./canvas_phase.ts";
import { metricsPhase } from "./metrics_phase.ts";
import { backupPhase } from "./backup_phase.ts";
import { floorPhase } from "./floor_phase.ts";

// ---------------------------------------------------------------------------------------------
// Options

const PHASE_NAMES = [
  "ingest",
  "baseline",
  "sse",
  "agent",
  "queue",
  "roamer",
  "control",
  "canvas",
  "metrics",
  "backup",
  "floor",
] as const;
type PhaseName = typeof PHASE_NAMES[number];

const flags = parseCli("deno task bench [flags]  (or: deno run --allow-all tests/bench/main.ts)", {
  only: {
    type: "string",
    arg: "LIST",
    default: "ingest,floor,sse,agent,queue,roamer,control,canvas,metrics",
    help: `phases to run, from ${PHASE_NAMES.join(",")}; ingest and floor bring baseline`,
  },
  quick: { type: "boolean", help: "shorter windows and queues everywhere" },
  nodes: { type: "number", default: 1000, help: "nodes of the ingest and sse phases" },
  concurrency: { type: "number", default: 64, help: "in-flight ingest requests" },
  "sse-clients": { type: "number", default: 20, help: "SSE clients of the sse phase" },
  "hub-args": {
    type: "string",
    arg: '"FLAGS"',
    default: "",
    help: 'extra `serve` flags for every hub, for experiments: --hub-args="--replay-events 1000"',
  },
  "canvas-trace": {
    type: "boolean",
    help: "a Chromium trace of every canvas size, not only misses",
  },
  keep: { type: "boolean", help: "keep the temp dirs (hub data dirs, load configs)" },
});

const PHASES = new Set(flags.only.split(",").map((s) => s.trim()).filter(Boolean));
for (const p of PHASES) {
  if (!(PHASE_NAMES as readonly string[]).includes(p)) {
    console.error(`bench: unknown phase '${p}' (use --only ${PHASE_NAMES.join(",")})`);
    Deno.exit(2);
  }
}
const D: Durations = flags.quick
  ? { ingestWarmMs: 1000, ingestMs: 3000, sseWarmMs: 1000, sseMs: 6000, agentMs: 12_000 }
  : { ingestWarmMs: 1000, ingestMs: 8000, sseWarmMs: 2000, sseMs: 15_000, agentMs: 30_000 };
const run = createRun({
  quick: flags.quick,
  nodes: flags.nodes,
  concurrency: flags.concurrency,
  sseClients: flags["sse-clients"],
  hubArgs: flags["hub-args"].split(/\s+/).filter(Boolean),
  durations: D,
});

/** Every phase in the order it runs; each fills its key of the results. */
const ORDER: [PhaseName, (ctx: PhaseContext, out: Json) => Promise<void>][] = [
  ["ingest", ingestPhase],
  ["baseline", baselinePhase],
  ["sse", ssePhase],
  ["agent", agentPhase],
  ["queue", queuePhase],
  ["roamer", async (ctx, out) => {
    ctx.log("roamer: real dockerd + registry, one roamer, assign → RUNNING with a cached image");
    out.roamer = await roamerPhase(ctx.quick ? 3 : 5);
    ctx.log(`roamer: ${JSON.stringify(out.roamer)}`);
  }],
  ["control", controlPhase],
  ["canvas", async (ctx, out) => {
    ctx.log("canvas: the UI in headless Chromium at 100 / 500 / 1,000 nodes next to a bare canvas");
    out.canvas = await canvasPhase({
      quick: ctx.quick,
      trace: flags["canvas-trace"],
      log: (m) => ctx.log(`canvas: ${m}`),
      track: (c) => void ctx.track(c),
    });
  }],
  ["metrics", metricsPhase],
  ["backup", backupPhase],
  ["floor", floorPhase],
];

/** The bare baselines are the ingest and floor numbers' denominators: those bring them along. */
function chosen(name: PhaseName): boolean {
  return PHASES.has(name) ||
    (name === "baseline" && (PHASES.has("ingest") || PHASES.has("floor")));
}

// ---------------------------------------------------------------------------------------------
// Run

const out: Json = {
  started_at: new Date().toISOString(),
  machine: {
    cpus: navigator.hardwareConcurrency,
    loadavg_at_start: Deno.loadavg(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    kernel: Deno.osRelease(),
  },
  options: {
    quick: run.quick,
    phases: [...PHASES],
    nodes: run.nodes,
    concurrency: run.concurrency,
    sse_clients: run.sseClients,
    hub_args: run.hubArgs,
    durations_ms: D,
  },
};

let interrupted = false;
const onSignal = () => {
  if (interrupted) return;
  interrupted = true;
  log("interrupted: stopping children");
  run.stopAll().finally(() => Deno.exit(130));
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
// A hard bound on the whole run.
const watchdog = setTimeout(() => {
  log("bench exceeded 15 minutes: stopping children");
  run.stopAll().finally(() => Deno.exit(1));
}, 15 * 60_000);

const t0 = performance.now();
let failed: unknown;
try {
  for (const [name, phase] of ORDER) if (chosen(name)) await phase(run, out);
} catch (error) {
  failed = error;
  out.error = String(error instanceof Error ? error.stack : error);
} finally {
  await run.stopAll();
  clearTimeout(watchdog);
  if (!flags.keep) await run.removeTempDirs();
}
out.elapsed_s = round((performance.now() - t0) / 1000, 1);
out.machine.loadavg_at_end = Deno.loadavg();
await writeReport(out);
if (failed) {
  console.error("bench failed:", failed);
  Deno.exit(1);
}
Deno.exit(0);
