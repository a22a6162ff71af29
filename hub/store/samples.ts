/**
 * Raw samples and their 1-minute rollups. A batch is stored idempotently on `(node_id, seq)`: a
 * re-sent sample changes nothing, so agents may replay their spool freely. Rollups keep
 * min / max / sum / count per charted series and minute, updated in the same transaction as the
 * raw sample, so they never disagree with what was acknowledged.
 *
 * @module
 */
import type { Database } from "./db.ts";
import type { IngestBatch, Sample, SeriesValues } from "../../shared/protocol.ts";
import { SERIES, seriesOf } from "../../shared/metrics.ts";
import { touchNode } from "./nodes.ts";

/** What storing a batch did. */
export interface StoredBatch {
  node_id: string;
  /** Highest seq in the batch: every sample up to it is now durable (stored or already held). */
  acked_seq: number;
  stored: number;
  duplicates: number;
  /** Highest seq the hub holds for the node after this batch. */
  last_seq: number;
  /** The newly stored samples, in seq order (for the live stream). */
  fresh: Sample[];
}

const MINUTE = 60_000;

const INSERT_SAMPLE = "INSERT OR IGNORE INTO samples (node_id, seq, ts, data) VALUES (?, ?, ?, ?)";

// One upsert per sample: each series' min/max ignore NULLs, sum and count add up.
const UPSERT_ROLLUP = `INSERT INTO rollups (node_id, minute, ${
  SERIES.map((s) => `${s}_min, ${s}_max, ${s}_sum, ${s}_n`).join(", ")
}) VALUES (?, ?, ${SERIES.map(() => "?, ?, ?, ?").join(", ")})
ON CONFLICT (node_id, minute) DO UPDATE SET ${
  SERIES.map((s) =>
    `${s}_min = CASE WHEN excluded.${s}_min IS NULL THEN ${s}_min WHEN ${s}_min IS NULL ` +
    `THEN excluded.${s}_min ELSE min(${s}_min, excluded.${s}_min) END, ` +
    `${s}_max = CASE WHEN excluded.${s}_max IS NULL THEN ${s}_max WHEN ${s}_max IS NULL ` +
    `THEN excluded.${s}_max ELSE max(${s}_max, excluded.${s}_max) END, ` +
    `${s}_sum = ${s}_sum + excluded.${s}_sum, ${s}_n = ${s}_n + excluded.${s}_n`
  ).join(", ")
}`;

/** Per series of one (node, minute): min, max, sum, count. */
type RollupAcc = Map<string, [number, number, number, number]>;

/** Adds a sample's series values to the accumulator of its minute. */
function accumulate(minutes: Map<number, RollupAcc>, sample: Sample): void {
  const minute = Math.floor(sample.ts / MINUTE) * MINUTE;
  let acc = minutes.get(minute);
  if (!acc) minutes.set(minute, acc = new Map());
  const values = seriesOf(sample);
  for (const s of SERIES) {
    const v = values[s];
    if (v === undefined) continue;
    const a = acc.get(s);
    if (!a) acc.set(s, [v, v, v, 1]);
    else {
      a[0] = Math.min(a[0], v);
      a[1] = Math.max(a[1], v);
      a[2] += v;
      a[3]++;
    }
  }
}

function rollupParams(nodeId: string, minute: number, acc: RollupAcc): (string | number | null)[] {
  const params: (string | number | null)[] = [nodeId, minute];
  for (const s of SERIES) {
    const a = acc.get(s);
    if (!a) params.push(null, null, 0, 0);
    else params.push(a[0], a[1], a[2], a[3]);
  }
  return params;
}

/**
 * Stores a validated batch for its node (call inside `db.write`). Samples are sorted by seq
 * first, so the node's newest sample is the one with the highest seq, whatever order they came.
 * Rollups are merged per minute of the batch: one upsert per (node, minute), not per sample.
 */
export function storeBatch(db: Database, batch: IngestBatch, now: number): StoredBatch {
  const samples = [...batch.samples].sort((a, b) => a.seq - b.seq);
  const fresh: Sample[] = [];
  const minutes = new Map<number, RollupAcc>();
  for (const sample of samples) {
    const changed = db.run(
      INSERT_SAMPLE,
      batch.node_id,
      sample.seq,
      sample.ts,
      JSON.stringify(sample),
    ).changes;
    if (changed === 0) continue;
    accumulate(minutes, sample);
    fresh.push(sample);
  }
  for (const [minute, acc] of minutes) {
    db.run(UPSERT_ROLLUP, ...rollupParams(batch.node_id, minute, acc));
  }
  const lastSeq = touchNode(
    db,
    batch.node_id,
    now,
    batch.agent,
    fresh.at(-1)?.seq ?? 0,
    batch.spool_dropped,
  );
  return {
    node_id: batch.node_id,
    acked_seq: samples.at(-1)!.seq,
    stored: fresh.length,
    duplicates: samples.length - fresh.length,
    last_seq: lastSeq,
    fresh,
  };
}

/**
 * Deletes up to `limit` raw samples older than `cutoff`; returns how many. Walks the nodes and
 * uses the (node_id, ts) index, so a round costs one index probe per node when nothing expired.
 */
export function pruneSamples(db: Database, cutoff: number, limit: number): number {
  let left = limit;
  for (const { id } of db.all<{ id: string }>("SELECT id FROM nodes")) {
    if (left <= 0) break;
    left -= db.run(
      "DELETE FROM samples WHERE id IN " +
        "(SELECT id FROM samples WHERE node_id = ? AND ts < ? LIMIT ?)",
      id,
      cutoff,
      left,
    ).changes;
  }
  return limit - left;
}

/** Deletes up to `limit` rollup rows older than `cutoff`; returns how many. */
export function pruneRollups(db: Database, cutoff: number, limit: number): number {
  return db.run(
    "DELETE FROM rollups WHERE (node_id, minute) IN " +
      "(SELECT node_id, minute FROM rollups WHERE minute < ? LIMIT ?)",
    cutoff,
    limit,
  ).changes;
}

/** Every seq stored for a node, ascending (tests and diagnostics). */
export function storedSeqs(db: Database, nodeId: string): number[] {
  return db.all<{ seq: number }>("SELECT seq FROM samples WHERE node_id = ? ORDER BY seq", nodeId)
    .map((r) => r.seq);
}

/** Number of raw samples held. */
export function countSamples(db: Database): number {
  return db.get<{ n: number }>("SELECT count(*) AS n FROM samples")!.n;
}

/** Bucketed series for a node between `from` (inclusive) and `to` (exclusive). */
export interface BucketedSeries {
  ts: number[];
  series: Record<string, SeriesValues>;
}

function emptySeries(buckets: number): Record<string, SeriesValues> {
  const out: Record<string, SeriesValues> = {};
  for (const s of SERIES) {
    out[s] = {
      avg: new Array(buckets).fill(null),
      min: new Array(buckets).fill(null),
      max: new Array(buckets).fill(null),
    };
  }
  return out;
}

/** Per-bucket accumulator: min, max, sum, count. */
type Acc = [number, number, number, number];

function finish(
  accs: (Acc | undefined)[][],
  buckets: number,
): Record<string, SeriesValues> {
  const out = emptySeries(buckets);
  SERIES.forEach((s, i) => {
    for (let b = 0; b < buckets; b++) {
      const a = accs[i][b];
      if (!a || a[3] === 0) continue;
      out[s].min[b] = a[0];
      out[s].max[b] = a[1];
      out[s].avg[b] = Math.round((a[2] / a[3]) * 1000) / 1000;
    }
  });
  return out;
}

function bucketTimes(from: number, stepMs: number, buckets: number): number[] {
  return Array.from({ length: buckets }, (_, i) => from + i * stepMs);
}

/**
 * Series from raw samples, averaged per `stepMs` bucket; buckets without data are `null` so a
 * chart shows the outage as a gap.
 */
export function seriesFromRaw(
  db: Database,
  nodeId: string,
  from: number,
  to: number,
  stepMs: number,
): BucketedSeries {
  const buckets = Math.max(0, Math.ceil((to - from) / stepMs));
  const accs: (Acc | undefined)[][] = SERIES.map(() => new Array(buckets));
  const rows = db.all<{ ts: number; data: string }>(
    "SELECT ts, data FROM samples WHERE node_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
    nodeId,
    from,
    to,
  );
  for (const row of rows) {
    const b = Math.floor((row.ts - from) / stepMs);
    const values = seriesOf(JSON.parse(row.data) as Sample);
    SERIES.forEach((s, i) => {
      const v = values[s];
      if (v === undefined) return;
      const a = accs[i][b];
      if (!a) accs[i][b] = [v, v, v, 1];
      else {
        a[0] = Math.min(a[0], v);
        a[1] = Math.max(a[1], v);
        a[2] += v;
        a[3]++;
      }
    });
  }
  return { ts: bucketTimes(from, stepMs, buckets), series: finish(accs, buckets) };
}

/** Series from 1-minute rollups, merged into `stepMs` buckets (a multiple of one minute). */
export function seriesFromRollups(
  db: Database,
  nodeId: string,
  from: number,
  to: number,
  stepMs: number,
): BucketedSeries {
  const buckets = Math.max(0, Math.ceil((to - from) / stepMs));
  const accs: (Acc | undefined)[][] = SERIES.map(() => new Array(buckets));
  const rows = db.all<Record<string, number | null>>(
    "SELECT * FROM rollups WHERE node_id = ? AND minute >= ? AND minute < ? ORDER BY minute",
    nodeId,
    from,
    to,
  );
  for (const row of rows) {
    const b = Math.floor(((row.minute as number) - from) / stepMs);
    SERIES.forEach((s, i) => {
      const n = row[`${s}_n`] as number;
      if (!n) return;
      const [mn, mx, sm] = [row[`${s}_min`]!, row[`${s}_max`]!, row[`${s}_sum`]!];
      const a = accs[i][b];
      if (!a) accs[i][b] = [mn, mx, sm, n];
      else {
        a[0] = Math.min(a[0], mn);
        a[1] = Math.max(a[1], mx);
        a[2] += sm;
        a[3] += n;
      }
    });
  }
  return { ts: bucketTimes(from, stepMs, buckets), series: finish(accs, buckets) };
}
