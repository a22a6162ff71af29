/**
 * The bench's report: the table (metric | measured | baseline | ratio | target | met?)
 * built from the phases' results, the notes under it, and the JSON written to
 * `tests/bench/out/bench-<timestamp>.json` and `tests/bench/out/latest.json`. The queue, control
 * and canvas phases build their own rows with the formatting lent here.
 *
 * @module
 */
import { join } from "node:path";
import {
  BENCH_DIR,
  type Json,
  type LoadResult,
  type Row,
  type RowFormat,
  tailRow,
} from "./common.ts";
import { queueNotes, queueRows } from "./queue_phase.ts";
import { metricsRows } from "./metrics_phase.ts";
import type { RoamerPhaseResult } from "./roamer_phase.ts";
import { canvasNotes, type CanvasPhaseResult, canvasRows } from "./canvas_phase.ts";
import { type ControlPhaseResult, controlRows } from "./control_phase.ts";
import { type BackupPhaseResult, backupRows } from "./backup_phase.ts";

/** Baselines on the reference machine, for the drift factor. */
const REFERENCE_BASELINE = { normal: 11_600, full: 3_800, bareLoopRssMb: 44 };

/** A number for the table: `-` when missing, grouped thousands, at most `digits` decimals. */
function fmt(v: number | undefined | null, digits = 0): string {
  if (v === undefined || v === null || Number.isNaN(v)) return "-";
  return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** `a / b` as `1.23×`, `-` when either is missing or zero. */
function ratio(a: number | undefined, b: number | undefined, digits = 2): string {
  if (!a || !b) return "-";
  return `${(a / b).toFixed(digits)}×`;
}

/** The "met?" column: yes, NO, or `-` when there is no target. */
function verdict(ok: boolean | undefined): string {
  return ok === undefined ? "-" : ok ? "yes" : "NO";
}

/** What the phases' own row builders get, so every row reads the same. */
const FORMAT: RowFormat = { fmt, ratio, verdict };

/** The table, in the order the phases ran. */
function buildRows(out: Json): Row[] {
  const rows: Row[] = [];
  const full = out.baseline?.full?.result as LoadResult | undefined;
  const normal = out.baseline?.normal?.result as LoadResult | undefined;
  if (out.ingest) {
    const s = out.ingest.single.result as LoadResult;
    const b = out.ingest.batch10.result as LoadResult;
    const thr = (label: string, v: number, target: number) => {
      for (
        const [name, base, specBase] of [
          ["FULL", full, REFERENCE_BASELINE.full],
          ["NORMAL", normal, REFERENCE_BASELINE.normal],
        ] as const
      ) {
        const need = target / specBase;
        const r = base ? v / base.samples_per_s : undefined;
        rows.push({
          metric: `${label}, samples/s vs bare ${name}`,
          measured: fmt(v),
          baseline: fmt(base?.samples_per_s),
          ratio: ratio(v, base?.samples_per_s),
          target: `≥ ${fmt(target)} / ≥ ${need.toFixed(2)}×`,
          met: `${verdict(v >= target)} / ${verdict(r === undefined ? undefined : r >= need)}`,
        });
      }
    };
    thr("ingest 1 sample/req", s.samples_per_s, 10_000);
    rows.push({
      metric: "ingest 1 sample/req, p50 / p99 ms",
      measured: `${fmt(s.latency_ms.p50, 1)} / ${fmt(s.latency_ms.p99, 1)}`,
      baseline: full ? `${fmt(full.latency_ms.p50, 1)} / ${fmt(full.latency_ms.p99, 1)}` : "-",
      ratio: ratio(s.latency_ms.p99, full?.latency_ms.p99),
      target: "p99 < 20",
      met: verdict(s.latency_ms.p99 < 20),
    });
    rows.push(tailRow(FORMAT, "ingest 1 sample/req", {
      p99Ms: s.latency_ms.p99,
      inFlight: out.ingest.single.concurrency,
      perS: s.requests_per_s,
    }, { p99Ms: 20, perS: 10_000 }));
    thr("ingest 10 samples/req", b.samples_per_s, 40_000);
    rows.push({
      metric: "ingest 10 samples/req, req/s",
      measured: fmt(b.requests_per_s),
      baseline: fmt(full?.requests_per_s),
      ratio: ratio(b.requests_per_s, full?.requests_per_s),
      target: "-",
      met: "-",
    });
    rows.push({
      metric: "ingest 10 samples/req, p50 / p99 ms",
      measured: `${fmt(b.latency_ms.p50, 1)} / ${fmt(b.latency_ms.p99, 1)}`,
      baseline: full ? `${fmt(full.latency_ms.p50, 1)} / ${fmt(full.latency_ms.p99, 1)}` : "-",
      ratio: ratio(b.latency_ms.p99, full?.latency_ms.p99),
      target: "p99 < 20",
      met: verdict(b.latency_ms.p99 < 20),
    });
    rows.push(tailRow(FORMAT, "ingest 10 samples/req", {
      p99Ms: b.latency_ms.p99,
      inFlight: out.ingest.batch10.concurrency,
      perS: b.requests_per_s,
    }, { p99Ms: 20, perS: 4_000 }));
    const f = out.ingest.flood;
    if (f) {
      rows.push({
        metric: `ingest flood (${fmt(f.concurrency)} in flight, 100/req): hub RSS max MB`,
        measured: fmt(f.server_rss_mb.max_mb, 1),
        baseline: "-",
        ratio: "-",
        target: "< 150",
        met: verdict(f.server_rss_mb.max_mb < 150),
      });
      rows.push({
        metric: "ingest flood: samples/s, refused 503 / other errors / seq mismatches",
        measured: `${fmt(f.result.samples_per_s)}, ${
          fmt(f.refused)
        } / ${f.other_errors} / ${f.seq_check.mismatches}`,
        baseline: fmt(full?.samples_per_s),
        ratio: ratio(f.result.samples_per_s, full?.samples_per_s),
        target: "503s, 0 / 0",
        met: verdict(f.refused > 0 && f.other_errors === 0 && f.seq_check.mismatches === 0),
      });
    }
    const seqBad = out.ingest.single.seq_check.mismatches + out.ingest.batch10.seq_check.mismatches;
    const errs = s.errors + b.errors + s.bad_acks + b.bad_acks;
    rows.push({
      metric: "ingest errors / seq mismatches",
      measured: `${errs} / ${seqBad}`,
      baseline: "-",
      ratio: "-",
      target: "0 / 0",
      met: verdict(errs === 0 && seqBad === 0),
    });
  }
  if (full) {
    rows.push({
      metric: "bare baseline FULL, req/s (reference machine ~3,800)",
      measured: fmt(full.samples_per_s),
      baseline: fmt(REFERENCE_BASELINE.full),
      ratio: ratio(full.samples_per_s, REFERENCE_BASELINE.full),
      target: "-",
      met: "-",
    });
  }
  if (normal) {
    rows.push({
      metric: "bare baseline NORMAL, req/s (reference machine ~11,600)",
      measured: fmt(normal.samples_per_s),
      baseline: fmt(REFERENCE_BASELINE.normal),
      ratio: ratio(normal.samples_per_s, REFERENCE_BASELINE.normal),
      target: "-",
      met: "-",
    });
  }
  for (const run of Object.values(out.floor ?? {}) as Json[]) {
    const r = run.result as LoadResult;
    // A durable floor syncs as FULL does; the others are read against NORMAL.
    const base = run.durable ? full : normal;
    rows.push({
      metric: `floor: ${run.target}, samples/s (p99 ms; RSS max MB)`,
      measured: `${fmt(r.samples_per_s)} (${fmt(r.latency_ms.p99, 1)}; ${
        fmt(run.server_rss_mb.max_mb, 1)
      })`,
      baseline: fmt(base?.samples_per_s),
      ratio: ratio(r.samples_per_s, base?.samples_per_s),
      // A throughput target above a floor cannot be met by tuning the hub.
      target: `≥ ${fmt(run.batch === 1 ? 10_000 : 40_000)} hub`,
      met: "-",
    });
  }
  if (out.sse) {
    const l = out.sse.sse.latency_ms;
    rows.push({
      metric:
        `sample → SSE p50 / p99 ms (${out.sse.nodes} nodes @5 s, ${out.sse.sse_clients} clients)`,
      measured: `${fmt(l.p50, 1)} / ${fmt(l.p99, 1)}`,
      baseline: "-",
      ratio: "-",
      target: "p99 < 50",
      met: verdict(l.p99 < 50),
    });
    rows.push({
      metric: "SSE events delivered / expected",
      measured: `${fmt(out.sse.sse.measured)} / ${fmt(out.sse.expected_events)}`,
      baseline: "-",
      ratio: out.sse.delivered_ratio === null ? "-" : `${out.sse.delivered_ratio}`,
      target: "all",
      met: verdict(out.sse.delivered_ratio === 1),
    });
    rows.push({
      metric: "hub RSS MB during (max), 1,000 nodes + SSE clients",
      measured: fmt(out.sse.hub_rss_mb.during_max, 1),
      baseline: "-",
      ratio: "-",
      target: "< 150",
      met: verdict(out.sse.hub_rss_mb.during_max < 150),
    });
    rows.push({
      metric: "hub RSS MB after (load stopped, clients gone)",
      measured: fmt(out.sse.hub_rss_mb.after, 1),
      baseline: "-",
      ratio: "-",
      target: "< 150",
      met: verdict(out.sse.hub_rss_mb.after < 150),
    });
  }
  if (out.agent) {
    const a = out.agent.agent;
    const b = out.agent.bare_loop;
    rows.push({
      metric: "agent RSS MB (max) at 5 s vs bare /proc loop",
      measured: fmt(a.rss_mb.max_mb, 1),
      baseline: fmt(b.rss_mb.max_mb, 1),
      ratio: ratio(a.rss_mb.max_mb, b.rss_mb.max_mb),
      target: "≤ 50",
      met: verdict(a.rss_mb.max_mb <= 50),
    });
    const f = out.agent.bare_agent;
    if (f) {
      rows.push({
        metric: "floor: bare loop + fetch POST + WebSocket + FFI statfs, RSS MB (max)",
        measured: fmt(f.rss_mb.max_mb, 1),
        baseline: fmt(b.rss_mb.max_mb, 1),
        ratio: ratio(f.rss_mb.max_mb, b.rss_mb.max_mb),
        target: "≤ 50 agent",
        met: "-",
      });
    }
    rows.push({
      metric: "agent CPU % of one core at 5 s vs bare loop",
      measured: fmt(a.cpu_pct, 3),
      baseline: fmt(b.cpu_pct, 3),
      ratio: ratio(a.cpu_pct, b.cpu_pct),
      target: "< 0.5",
      met: verdict(a.cpu_pct < 0.5),
    });
  }
  rows.push(...queueRows(out.queue, FORMAT));
  rows.push(...metricsRows(out.metrics, FORMAT));
  const r = out.roamer as RoamerPhaseResult | undefined;
  if (r?.idle_to_running_ms) {
    rows.push({
      metric: "roamer IDLE → RUNNING ms, cached image, p50 / max (real dockerd)",
      measured: `${r.idle_to_running_ms.p50} / ${r.idle_to_running_ms.max}`,
      baseline: `first pull ${r.first_pull_ms} ms`,
      ratio: "-",
      target: "< 10,000",
      met: verdict(r.idle_to_running_ms.max < 10_000),
    });
    rows.push({
      metric: "roamer release → IDLE ms (cleanup), p50 / max",
      measured: `${r.running_to_idle_ms!.p50} / ${r.running_to_idle_ms!.max}`,
      baseline: "-",
      ratio: "-",
      target: "-",
      met: "-",
    });
  } else if (r?.skipped) {
    rows.push({
      metric: "roamer IDLE → RUNNING (skipped)",
      measured: r.skipped,
      baseline: "-",
      ratio: "-",
      target: "< 10,000",
      met: "-",
    });
  }
  rows.push(...controlRows(out.control as ControlPhaseResult | undefined, FORMAT));
  rows.push(...canvasRows(out.canvas as CanvasPhaseResult | undefined, FORMAT));
  rows.push(...backupRows(out.backup as BackupPhaseResult | undefined, FORMAT));
  return rows;
}

/** The table as aligned `|`-separated text. */
function printTable(rows: Row[]): string {
  const head: Row = {
    metric: "metric",
    measured: "measured",
    baseline: "baseline",
    ratio: "ratio",
    target: "target",
    met: "met?",
  };
  const keys = Object.keys(head) as (keyof Row)[];
  const width = Object.fromEntries(
    keys.map((k) => [k, Math.max(...[head, ...rows].map((r) => r[k].length))]),
  ) as Record<keyof Row, number>;
  const line = (r: Row) => "| " + keys.map((k) => r[k].padEnd(width[k])).join(" | ") + " |";
  const sep = "|" + keys.map((k) => "-".repeat(width[k] + 2)).join("|") + "|";
  return [line(head), sep, ...rows.map(line)].join("\n");
}

/** The lines printed under the table. */
function notes(out: Json): string[] {
  const n: string[] = [];
  const full = out.baseline?.full?.result as LoadResult | undefined;
  const normal = out.baseline?.normal?.result as LoadResult | undefined;
  if (full && normal) {
    const fFull = full.samples_per_s / REFERENCE_BASELINE.full;
    const fNormal = normal.samples_per_s / REFERENCE_BASELINE.normal;
    n.push(
      `machine factor vs the reference machine: FULL ${fFull.toFixed(2)}, NORMAL ${
        fNormal.toFixed(2)
      }`,
    );
    n.push(
      "throughput targets read 'absolute / ratio': the target number, and the same number " +
        "divided by the reference machine's baseline (3,800 FULL, 11,600 NORMAL), which is " +
        "comparable across machines",
    );
  }
  if (out.ingest || out.queue?.http) {
    n.push(
      "p99 targets are taken at saturation, where the mean wait is in-flight / rate (Little's " +
        "law): a p99 in ms moves with the machine's speed, so each also reads as 'p99 / mean " +
        "wait', the tail's shape, against the shape the target allows at its own rate",
    );
  }
  if (out.floor) {
    n.push(
      "floors run with the hub's V8 flags and its modules loaded (not run): their RSS is the " +
        "runtime, the hub's code and the bare work at that load, nothing else",
    );
  }
  if (out.ingest) {
    for (const k of ["single", "batch10", "flood"]) {
      const r = out.ingest[k];
      if (!r) continue;
      n.push(
        `${r.target}: hub CPU ${r.server_cpu_pct}% of one core, load client CPU ` +
          `${r.result.client_cpu_pct}%, ` +
          (r.writes_per_commit === undefined
            ? ""
            : `${r.writes_per_commit} writes per group commit, `) +
          `hub RSS max ${r.server_rss_mb.max_mb} MB (anon ${r.server_rss_mb.max_anon_mb}, of it ` +
          `malloc heap ${r.server_rss_mb.max_malloc_mb}; file ${r.server_rss_mb.max_file_mb})`,
      );
    }
  }
  if (out.sse) {
    n.push(
      `sse: hub RSS with ${out.sse.nodes} nodes: idle ${out.sse.hub_rss_mb.idle_1000_nodes} MB, ` +
        `replay ring filled ${out.sse.hub_rss_mb.after_ring_fill} MB; ` +
        `ingest p99 at 200 req/s ${out.sse.load.result.latency_ms.p99} ms, at 2,000 req/s ` +
        `${out.sse.replay_ring_fill.latency_ms.p99} ms (open loop); SSE client CPU ` +
        `${out.sse.sse.client_cpu_pct}%; dropped by hub ${out.sse.sse_dropped_by_hub}`,
    );
  }
  n.push(...queueNotes(out.queue));
  n.push(...canvasNotes(out.canvas as CanvasPhaseResult | undefined));
  return n;
}

/**
 * Adds the table and the notes to `out`, prints them (stdout) and writes the JSON files; `out`
 * already holds the phases' results, `elapsed_s` and the machine's end load.
 */
export async function writeReport(out: Json): Promise<void> {
  const rows = buildRows(out);
  out.table = rows;
  out.notes = notes(out);

  const table = printTable(rows);
  console.log("\n" + table + "\n");
  for (const n of out.notes) console.log(`  ${n}`);
  console.log(`  elapsed ${out.elapsed_s} s`);

  const outDir = join(BENCH_DIR, "out");
  await Deno.mkdir(outDir, { recursive: true });
  const stamp = out.started_at.replace(/[:.]/g, "-");
  const text = JSON.stringify(out, null, 2) + "\n";
  await Deno.writeTextFile(join(outDir, `bench-${stamp}.json`), text);
  await Deno.writeTextFile(join(outDir, "latest.json"), text);
  console.log(`  results: ${join(outDir, `bench-${stamp}.json`)}`);
}
