/**
 * One-minute rollups (min, max, sum, count per series, node and minute) and the buffer that
 * holds the newest of them in memory.
 *
 * Without a buffer every ingest batch upserts its minute's row: at 1 sample per request that is
 * one more statement per request in the write path. With one ({@link startRollupBuffer}, the
 * serving hub), a batch only adds to the minutes held here, and the buffer writes them every
 * flush interval and at shutdown, in one write. The `rollup_state` row holds the highest sample id
 * whose values are in the `rollups` table; after a kill, the minutes of newer samples are rebuilt
 * from those samples at start, so the history never misses an acknowledged sample.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type { Sample } from "../../shared/protocol/mod.ts";
import { type SampleSeries, SERIES, seriesOf } from "../../shared/metrics.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("rollups");

/** One minute, the rollup period (ms). */
export const MINUTE = 60_000;

/** An accumulator: min, max, sum, count. */
export type Acc = [number, number, number, number];

/** Merges min/max/sum/count into an accumulator, or starts one (a raw value is `v, v, v, 1`). */
export function mergeAcc(
  a: Acc | undefined,
  min: number,
  max: number,
  sum: number,
  n: number,
): Acc {
  if (!a) return [min, max, sum, n];
  a[0] = Math.min(a[0], min);
  a[1] = Math.max(a[1], max);
  a[2] += sum;
  a[3] += n;
  return a;
}

/** Per series of one (node, minute). */
export type RollupAcc = Map<string, Acc>;

/** What a rollup takes of a stored sample: its time and its series values. */
export interface RollupInput {
  ts: number;
  series: SampleSeries;
}

/** Adds a sample's series values to `acc`, in place (no new accumulator once a series has one). */
function addValues(acc: RollupAcc, values: SampleSeries): void {
  for (const s of SERIES) {
    const v = values[s];
    if (v === undefined) continue;
    const a = acc.get(s);
    if (a) mergeAcc(a, v, v, v, 1);
    else acc.set(s, [v, v, v, 1]);
  }
}

/** Adds a sample's series values, at `ts`, to the accumulator of its minute. */
export function accumulate(
  minutes: Map<number, RollupAcc>,
  ts: number,
  values: SampleSeries,
): void {
  const minute = Math.floor(ts / MINUTE) * MINUTE;
  let acc = minutes.get(minute);
  if (!acc) minutes.set(minute, acc = new Map());
  addValues(acc, values);
}

// Each series' min/max ignore NULLs, sum and count add up.
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

/** Merges one (node, minute) accumulator into its `rollups` row (inside a write). */
export function upsertRollup(db: Database, nodeId: string, minute: number, acc: RollupAcc): void {
  const params: (string | number | null)[] = [nodeId, minute];
  for (const s of SERIES) {
    const a = acc.get(s);
    if (!a) params.push(null, null, 0, 0);
    else params.push(a[0], a[1], a[2], a[3]);
  }
  db.run(UPSERT_ROLLUP, ...params);
}

/** The highest sample id whose values are in the `rollups` table. */
export function rollupMark(db: Database): number {
  return db.get<{ sample_id: number }>("SELECT sample_id FROM rollup_state")?.sample_id ?? 0;
}

/**
 * Writes the rollups of the samples above the mark into the table and moves the mark (inside a
 * write), for a hub that keeps no buffer (the writer worker) opening a file a buffered hub was
 * killed with; returns how many samples it rolled up.
 */
export function catchUpRollups(db: Database): number {
  const buffer = new RollupBuffer(db);
  const samples = buffer.rebuild();
  if (samples > 0) buffer.flush(db);
  return samples;
}

/** Marks every stored sample as rolled up in the table (a write that upserted its own rollups). */
export function markRolledUp(db: Database): void {
  db.run("UPDATE rollup_state SET sample_id = (SELECT coalesce(max(id), 0) FROM samples)");
}

/**
 * After samples were deleted: a new sample may now get an id at or below the mark (SQLite gives
 * max(id) + 1), so the mark comes down to the highest id left, which keeps "above the mark"
 * meaning "not in the table yet".
 */
export function lowerRollupMark(db: Database): void {
  db.run(
    "UPDATE rollup_state SET sample_id = min(sample_id, (SELECT coalesce(max(id), 0) FROM samples))",
  );
}

const buffers = new WeakMap<Database, RollupBuffer>();

/** The buffer attached to `db`, if any: without one, ingest upserts its rollups itself. */
export function rollupBufferOf(db: Database): RollupBuffer | undefined {
  return buffers.get(db);
}

/** The minutes not yet in the `rollups` table, per node, and what writes them there. */
export class RollupBuffer {
  readonly #db: Database;
  #nodes = new Map<string, Map<number, RollupAcc>>();
  #minutes = 0;
  /** Rebuilds from the samples after a rollback (one function, so a group registers it once). */
  readonly #rebuild = () => this.rebuild();

  constructor(db: Database) {
    this.#db = db;
  }

  /** (node, minute) pairs held. */
  get size(): number {
    return this.#minutes;
  }

  /**
   * Adds a batch's fresh samples (stored, at their `ts`) to their minutes, inside the write that
   * stored them: straight into the minutes held, so a sample allocates nothing once its minute
   * and series have accumulators.
   */
  add(nodeId: string, samples: readonly RollupInput[]): void {
    // Rolled back: the samples are not stored, so neither are their minutes (registered first,
    // so it holds however far this gets).
    this.#db.onRollback(this.#rebuild);
    let held = this.#nodes.get(nodeId);
    if (!held) this.#nodes.set(nodeId, held = new Map());
    for (const sample of samples) {
      const minute = Math.floor(sample.ts / MINUTE) * MINUTE;
      let acc = held.get(minute);
      if (!acc) {
        held.set(minute, acc = new Map());
        this.#minutes++;
      }
      addValues(acc, sample.series);
    }
  }

  /** The minutes held for `nodeId` (read-only), for history answers. */
  minutesOf(nodeId: string): ReadonlyMap<number, RollupAcc> | undefined {
    return this.#nodes.get(nodeId);
  }

  /** Forgets a node's minutes (inside the write that deletes the node). */
  drop(nodeId: string): void {
    const held = this.#nodes.get(nodeId);
    if (!held) return;
    this.#minutes -= held.size;
    this.#nodes.delete(nodeId);
    this.#db.onRollback(this.#rebuild);
  }

  /** Writes every minute held into `rollups` and moves the mark (inside a write); returns how many. */
  flush(db: Database): number {
    for (const [nodeId, minutes] of this.#nodes) {
      for (const [minute, acc] of minutes) upsertRollup(db, nodeId, minute, acc);
    }
    markRolledUp(db);
    const written = this.#minutes;
    this.#nodes = new Map();
    this.#minutes = 0;
    db.onRollback(this.#rebuild);
    return written;
  }

  /** Recomputes the minutes held from the samples above the mark (at start, after a rollback). */
  rebuild(): number {
    // Built apart and swapped in whole: a read that fails leaves the buffer as it was.
    const nodes = new Map<string, Map<number, RollupAcc>>();
    let minutes = 0;
    let samples = 0;
    const rows = this.#db.prepare("SELECT node_id, ts, data FROM samples WHERE id > ? ORDER BY id")
      .iterate(rollupMark(this.#db)) as Iterable<{ node_id: string; ts: number; data: string }>;
    for (const row of rows) {
      let held = nodes.get(row.node_id);
      if (!held) nodes.set(row.node_id, held = new Map());
      const before = held.size;
      accumulate(held, row.ts, seriesOf(JSON.parse(row.data) as Sample));
      minutes += held.size - before;
      samples++;
    }
    this.#nodes = nodes;
    this.#minutes = minutes;
    return samples;
  }
}

/** A buffer attached to a database (see {@link startRollupBuffer}). */
export interface RollupBufferHandle {
  /** Stops the timer and writes what is held (before the database closes). */
  stop(): Promise<void>;
}

/**
 * Attaches a buffer to `db`, rebuilt from the samples not yet in `rollups` (a hub that was killed
 * left some): from now on ingest into `db` adds to it. Nothing writes it but {@link
 * RollupBuffer.flush}; {@link startRollupBuffer} also flushes on a timer.
 */
export function attachRollupBuffer(db: Database): RollupBuffer {
  const buffer = new RollupBuffer(db);
  const rebuilt = buffer.rebuild();
  if (rebuilt > 0) {
    logger.info("rollups rebuilt from samples not yet rolled up", {
      samples: rebuilt,
      minutes: buffer.size,
    });
  }
  buffers.set(db, buffer);
  return buffer;
}

/** {@link attachRollupBuffer}, written every `everyMs` and when stopped. */
export function startRollupBuffer(db: Database, everyMs: number): RollupBufferHandle {
  const buffer = attachRollupBuffer(db);
  return db.writeEvery(
    everyMs,
    (tx) => buffer.flush(tx),
    (error) => logger.error("rollup flush failed", { error }),
  );
}
