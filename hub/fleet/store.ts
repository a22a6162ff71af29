/**
 * The `nodes` table: one row per machine that has a token or has sent samples, holding its
 * identity, its highest seq and when the hub last heard from it. (The newest sample itself is
 * kept in memory by the fleet view and read back from `samples` at start, so ingest does not
 * rewrite a 2 KB column per batch. In a serving hub the highest seq and last contact are held
 * in memory between writes of the row too, see `contacts.ts`.)
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import {
  type AgentInfo,
  type IngestBatch,
  type Layout,
  type Sample,
  SAMPLE_KEYS,
  SEQ_FIRST_MAX,
  SEQ_MAX,
  SEQ_PER_SILENT_HOUR,
  SEQ_WINDOW,
  type SeriesValues,
  type TokenKind,
} from "../../shared/protocol/mod.ts";
import { type SampleSeries, SERIES, seriesOf } from "../../shared/metrics.ts";
import { BadInput } from "../core/errors.ts";
import {
  type Acc,
  accumulate,
  lowerRollupMark,
  markRolledUp,
  mergeAcc,
  type RollupAcc,
  rollupBufferOf,
  type RollupInput,
  rollupMark,
  upsertRollup,
} from "./rollups.ts";
import { contactBufferOf, type ContactRow } from "./contacts.ts";
import type { DigestedBatch } from "./batch_digest.ts";
import { knownKeysOnly, unknownKeysOf } from "./sample_keys.ts";

/** A row of `nodes`. */
export interface NodeRow {
  id: string;
  name: string;
  hostname: string | null;
  arch: string | null;
  agent_version: string | null;
  first_seen: number | null;
  last_seen: number | null;
  last_seq: number;
  spool_dropped: number;
  recovery: string | null;
  /** Node clock minus hub clock at its last batch (ms); null while within the allowed skew. */
  clock_skew_ms: number | null;
  /** Unknown sample keys the hub ignored from this node, in total. */
  unknown_keys: number;
}

/** What one batch changes on its node (see {@link touchNode}). */
export interface NodeTouch {
  agent: AgentInfo | undefined;
  newestSeq: number;
  spoolDropped: number | undefined;
  clockSkewMs: number | null;
  unknownKeys: number;
}

/** Every node, ordered by id (with the contacts held in memory, see `contacts.ts`). */
export function listNodeRows(db: Database): NodeRow[] {
  const rows = db.all<NodeRow>("SELECT * FROM nodes ORDER BY id");
  const contacts = contactBufferOf(db);
  if (contacts) { for (const row of rows) contacts.overlay(row); }
  return rows;
}

/** One node, or `undefined` (with its contact held in memory, see `contacts.ts`). */
export function getNodeRow(db: Database, id: string): NodeRow | undefined {
  const row = db.get<NodeRow>("SELECT * FROM nodes WHERE id = ?", id);
  const contacts = contactBufferOf(db);
  return row && contacts ? contacts.overlay(row) : row;
}

/** Creates the node row if missing (e.g. when a node token is issued); true if it was created. */
export function ensureNode(db: Database, id: string, name = id): boolean {
  return db.run("INSERT OR IGNORE INTO nodes (id, name) VALUES (?, ?)", id, name).changes > 0;
}

/**
 * Records a batch's effect on its node in one statement (creating the row if needed): identity,
 * last contact, highest seq, clock skew, unknown keys. Returns what ingest needs of the row after.
 */
export function touchNode(
  db: Database,
  id: string,
  now: number,
  t: NodeTouch,
): ContactRow {
  return db.get<ContactRow>(
    `INSERT INTO nodes (id, name, hostname, arch, agent_version, first_seen, last_seen, last_seq,
                        spool_dropped, clock_skew_ms, unknown_keys)
     VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?5, ?6, coalesce(?7, 0), ?8, ?9)
     ON CONFLICT (id) DO UPDATE SET
       hostname = coalesce(excluded.hostname, hostname), arch = coalesce(excluded.arch, arch),
       agent_version = coalesce(excluded.agent_version, agent_version),
       first_seen = coalesce(first_seen, excluded.first_seen), last_seen = excluded.last_seen,
       last_seq = max(last_seq, excluded.last_seq), spool_dropped = coalesce(?7, spool_dropped),
       clock_skew_ms = ?8, unknown_keys = unknown_keys + ?9
     RETURNING last_seq, last_seen, clock_skew_ms, hostname, arch, agent_version, spool_dropped,
               first_seen`,
    id,
    t.agent?.hostname ?? null,
    t.agent?.arch ?? null,
    t.agent?.version ?? null,
    now,
    t.newestSeq,
    t.spoolDropped ?? null,
    t.clockSkewMs,
    t.unknownKeys,
  )!;
}

/** What the ingest checks need of a node before storing its batch (one primary-key read). */
export function nodeIngestState(
  db: Database,
  id: string,
): { last_seq: number; last_seen: number | null; clock_skew_ms: number | null } | undefined {
  return db.get("SELECT last_seq, last_seen, clock_skew_ms FROM nodes WHERE id = ?", id);
}

/** The newest stored sample of a node (by seq), as JSON text, if any is still held. */
export function newestSampleText(db: Database, id: string): string | undefined {
  return db.get<{ data: string }>(
    "SELECT data FROM samples WHERE node_id = ? ORDER BY seq DESC LIMIT 1",
    id,
  )?.data;
}

/** Stores a node's last recovery report (JSON). */
export function setRecovery(db: Database, id: string, recovery: unknown): void {
  db.run("UPDATE nodes SET recovery = ? WHERE id = ?", JSON.stringify(recovery), id);
}

/** Removes a node with its samples and rollups; true if it existed. */
export function deleteNode(db: Database, id: string): boolean {
  if (db.run("DELETE FROM samples WHERE node_id = ?", id).changes > 0) lowerRollupMark(db);
  db.run("DELETE FROM rollups WHERE node_id = ?", id);
  rollupBufferOf(db)?.drop(id);
  contactBufferOf(db)?.forget(id);
  return db.run("DELETE FROM nodes WHERE id = ?", id).changes > 0;
}

/** What storing a batch did. */
export interface StoredBatch {
  node_id: string;
  /** Highest seq in the batch: every sample up to it is now durable (stored or already held). */
  acked_seq: number;
  stored: number;
  duplicates: number;
  /** Highest seq the hub holds for the node after this batch. */
  last_seq: number;
  /** The newest sample this batch stored, as stored (with the ts it got), for the live stream. */
  newest?: Sample;
  /** Its JSON as stored: the live stream reuses it instead of re-encoding. */
  newestText?: string;
  /** Node clock minus hub clock (ms) when beyond the allowed skew; null when in sync. */
  clock_skew_ms: number | null;
  /** Samples placed at another time than their own ts (skewed clock, impossible ts). */
  retimed: number;
  /** Unknown sample keys in the batch (ignored), and which they were. */
  unknown_keys: number;
  unknown_key_names: string[];
}

/** How the hub places samples in time (ingest passes it; without it, ts are taken as sent). */
export interface ClockPolicy {
  /** A node clock off the hub's by more than this (ms) is skewed: its samples move to hub time. */
  maxSkewMs: number;
  /** Raw retention (ms): an older agent's batch (no `sent_at`) whose newest sample is older
   * than this is taken as a clock behind. */
  rawRetentionMs: number;
  /** Rollup retention (ms): a sample older than both retentions would be acknowledged, then lost. */
  rollupRetentionMs: number;
}

const INSERT_SAMPLE = "INSERT OR IGNORE INTO samples (node_id, seq, ts, data, recv_ts, agent_ts) " +
  "VALUES (?, ?, ?, ?, ?, ?)";

/**
 * Highest seq a batch may carry for a node holding `lastSeq` (0: none yet), last heard from at
 * `lastSeen` (hub time): the window over last_seq, widened by the time the node was silent.
 */
export function seqLimit(lastSeq: number, lastSeen: number | null, now: number): number {
  if (lastSeq <= 0) return SEQ_FIRST_MAX;
  const silentH = lastSeen === null ? 0 : Math.max(0, Math.floor((now - lastSeen) / 3_600_000));
  return Math.min(SEQ_MAX, lastSeq + SEQ_WINDOW + silentH * SEQ_PER_SILENT_HOUR);
}

/** A sample's seq and ts, whether it came as a sample or as a digest. */
type Placed = { readonly seq: number; readonly ts: number };

/** Refuses (400, nothing stored) every sample whose seq is beyond the node's window. */
function checkSeqs(samples: readonly Placed[], lastSeq: number, limit: number): void {
  const errors: { path: string; message: string }[] = [];
  samples.forEach((sample, i) => {
    if (sample.seq <= limit || errors.length >= 20) return;
    errors.push({
      path: `samples.${i}.seq`,
      message: lastSeq > 0
        ? `seq ${sample.seq} is too far beyond this node's last seq ${lastSeq}: allowed 1 to ${limit}`
        : `seq ${sample.seq} is too large for a node's first seq: allowed 1 to ${limit}`,
    });
  });
  if (errors.length === 0) return;
  throw new BadInput(
    `invalid body: ${errors[0].path}: ${errors[0].message}` +
      (errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""),
    errors,
  );
}

/**
 * The node's clock offset as far as this batch tells (ms, node − hub): from `sent_at` when the
 * agent sends it; otherwise only a newest sample outside what a replay can be says anything.
 */
function measureOffset(
  sentAt: number | undefined,
  samples: readonly Placed[],
  now: number,
  policy: ClockPolicy,
): number {
  if (sentAt !== undefined) return sentAt - now;
  let newest = 0;
  for (const sample of samples) if (sample.ts > newest) newest = sample.ts;
  const plausible = newest <= now + policy.maxSkewMs && newest >= now - policy.rawRetentionMs;
  return plausible ? 0 : newest - now;
}

/**
 * Stores a validated batch for its node (call inside `db.write`). Samples are sorted by seq
 * first, so the node's newest sample is the one with the highest seq, whatever order they came.
 * Rollups are merged per minute of the batch, into the database's rollup buffer when it has one
 * (`rollups.ts`), else with one upsert per (node, minute).
 *
 * `texts`, when given, holds each sample's JSON text as it came (`texts[i]` for `samples[i]`,
 * see `sample_text.ts`); a sample stored unchanged is stored as that text. A batch parsed on the
 * parse thread comes as digests (`batch_digest.ts`) and is stored alike: a digest's sample object
 * is parsed from its text only when its ts moves, and once for the newest sample stored.
 *
 * Refuses the whole batch (`BadInput`, nothing stored) when a seq is beyond the node's window
 * ({@link seqLimit}). With a `policy`, a node whose clock is off by more than the allowed skew
 * has every sample shifted onto the hub's clock, and a sample whose ts is still impossible (ahead
 * of the hub, or older than anything the hub keeps) is placed at the receive time `now`.
 */
export function storeBatch(
  db: Database,
  batch: IngestBatch | DigestedBatch,
  now: number,
  policy?: ClockPolicy,
  texts?: readonly string[],
): StoredBatch {
  const digests = "digests" in batch ? batch.digests : undefined;
  const samples = "digests" in batch ? undefined : batch.samples;
  const placed: readonly Placed[] = digests ?? samples!;
  // The node's contact held in memory when the hub keeps them (see contacts.ts), else its row.
  const contacts = contactBufferOf(db);
  const contact = contacts?.of(db, batch.node_id);
  const node = contacts ? contact : nodeIngestState(db, batch.node_id);
  const lastSeq = node?.last_seq ?? 0;
  checkSeqs(placed, lastSeq, seqLimit(lastSeq, node?.last_seen ?? null, now));

  let skew: number | null = null;
  let latest = Number.POSITIVE_INFINITY;
  let oldest = 0;
  if (policy) {
    const offset = measureOffset(batch.sent_at, placed, now, policy);
    // Hysteresis: a skewed clock counts as back only well inside the bound, so it cannot flap.
    const bound = node?.clock_skew_ms != null ? policy.maxSkewMs / 2 : policy.maxSkewMs;
    if (Math.abs(offset) > bound) skew = offset;
    latest = now + policy.maxSkewMs;
    oldest = now - Math.max(policy.rawRetentionMs, policy.rollupRetentionMs);
  }

  // Indexes sorted by seq, so each sample keeps its own text (`texts[i]`) through the sort.
  const order = placed.map((_, i) => i).sort((a, b) => placed[a].seq - placed[b].seq);
  const own = !digests && texts?.length === placed.length ? texts : undefined;
  const fresh: RollupInput[] = [];
  let newest: Sample | undefined;
  let newestText: string | undefined;
  const unknownNames = new Set<string>();
  let unknownKeys = 0;
  let retimed = 0;
  for (const i of order) {
    // A digest has its text and series; a sample object is read (and its series) only if needed.
    let sample: Sample | undefined;
    let text: string | undefined;
    let series: SampleSeries | undefined;
    let unknown: string[] | undefined;
    const agentTs = placed[i].ts;
    if (digests) {
      ({ text, series, unknown } = digests[i]);
    } else {
      sample = samples![i];
      unknown = unknownKeysOf(sample, SAMPLE_KEYS);
      if (unknown) sample = knownKeysOnly(sample, SAMPLE_KEYS);
      // The body's own text when the sample is stored as it came.
      else text = own?.[i];
    }
    if (unknown) {
      unknownKeys += unknown.length;
      for (const key of unknown) if (unknownNames.size < 32) unknownNames.add(key);
    }
    let ts = skew === null ? agentTs : agentTs - skew;
    if (ts > latest || ts < oldest) ts = now;
    if (ts !== agentTs) {
      sample = { ...(sample ?? JSON.parse(text!) as Sample), ts };
      text = undefined;
      retimed++;
    }
    text ??= JSON.stringify(sample);
    const changed = db.run(
      INSERT_SAMPLE,
      batch.node_id,
      placed[i].seq,
      ts,
      text,
      now,
      ts === agentTs ? null : agentTs,
    ).changes;
    if (changed === 0) continue;
    fresh.push({ ts, series: series ?? seriesOf(sample!) });
    newest = sample;
    newestText = text;
  }
  // A digest's newest sample as an object, for the live stream (one parse per batch).
  if (newestText !== undefined) newest ??= JSON.parse(newestText) as Sample;
  const buffer = rollupBufferOf(db);
  if (buffer) buffer.add(batch.node_id, fresh);
  else if (fresh.length > 0) {
    const minutes = new Map<number, RollupAcc>();
    for (const f of fresh) accumulate(minutes, f.ts, f.series);
    for (const [minute, acc] of minutes) upsertRollup(db, batch.node_id, minute, acc);
    markRolledUp(db);
  }
  const newestSeq = newest?.seq ?? 0;
  let newLastSeq: number;
  if (contacts && contact && contacts.holds(contact, batch, skew, unknownKeys)) {
    newLastSeq = contacts.touch(batch.node_id, contact, now, newestSeq);
  } else {
    const row = touchNode(db, batch.node_id, now, {
      agent: batch.agent,
      // A held contact may be ahead of the row: the row takes it with this batch's.
      newestSeq: Math.max(newestSeq, node?.last_seq ?? 0),
      spoolDropped: batch.spool_dropped,
      clockSkewMs: skew,
      unknownKeys,
    });
    contacts?.wrote(batch.node_id, row);
    newLastSeq = row.last_seq;
  }
  return {
    node_id: batch.node_id,
    acked_seq: placed[order.at(-1)!].seq,
    stored: fresh.length,
    duplicates: placed.length - fresh.length,
    last_seq: newLastSeq,
    newest,
    newestText,
    clock_skew_ms: skew,
    retimed,
    unknown_keys: unknownKeys,
    unknown_key_names: [...unknownNames],
  };
}

/**
 * Deletes up to `limit` raw samples older than `cutoff`; returns how many. Walks the nodes and
 * probes the (node_id, ts) index once per node (`CROSS JOIN` keeps nodes the outer loop, where
 * a plain join scans the whole index), in one statement: a statement per node made a round with
 * nothing expired a 15–17 ms stall of the event loop at 1,000 nodes, this one ~2 ms.
 */
export function pruneSamples(db: Database, cutoff: number, limit: number): number {
  const gone = db.all<{ id: number; node_id: string; seq: number }>(
    "DELETE FROM samples WHERE id IN (SELECT s.id FROM nodes n CROSS JOIN samples s " +
      "WHERE s.node_id = n.id AND s.ts < ? LIMIT ?) RETURNING id, node_id, seq",
    cutoff,
    limit,
  );
  if (gone.length === 0) return 0;
  contactBufferOf(db)?.pruned(db, gone);
  let newest = 0;
  for (const row of gone) if (row.id > newest) newest = row.id;
  // A sample old on arrival (a spool replayed late) can expire before its minute is written:
  // write the buffer now, in this transaction, as a rebuild could no longer see that sample.
  const buffer = rollupBufferOf(db);
  if (buffer && buffer.size > 0 && newest > rollupMark(db)) buffer.flush(db);
  lowerRollupMark(db);
  return gone.length;
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
      if (v !== undefined) accs[i][b] = mergeAcc(accs[i][b], v, v, v, 1);
    });
  }
  return { ts: bucketTimes(from, stepMs, buckets), series: finish(accs, buckets) };
}

/**
 * Series from 1-minute rollups, merged into `stepMs` buckets (a multiple of one minute): the
 * table's rows and the minutes the rollup buffer still holds.
 */
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
      accs[i][b] = mergeAcc(accs[i][b], row[`${s}_min`]!, row[`${s}_max`]!, row[`${s}_sum`]!, n);
    });
  }
  // The newest minutes may still be in the buffer, not yet written.
  for (const [minute, acc] of rollupBufferOf(db)?.minutesOf(nodeId) ?? []) {
    if (minute < from || minute >= to) continue;
    const b = Math.floor((minute - from) / stepMs);
    SERIES.forEach((s, i) => {
      const a = acc.get(s);
      if (a) accs[i][b] = mergeAcc(accs[i][b], a[0], a[1], a[2], a[3]);
    });
  }
  return { ts: bucketTimes(from, stepMs, buckets), series: finish(accs, buckets) };
}

/** The saved positions for `kind`, or none. */
export function getLayout(db: Database, kind: TokenKind): Layout {
  // The column holds the whole layout (positions and the hub's place) as JSON.
  const row = db.get<{ positions: string }>("SELECT positions FROM layouts WHERE kind = ?", kind);
  return row ? JSON.parse(row.positions) as Layout : { positions: {} };
}

/** Replaces the saved positions for `kind`. */
export function putLayout(db: Database, kind: TokenKind, layout: Layout, now: number): void {
  db.run(
    `INSERT INTO layouts (kind, positions, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (kind) DO UPDATE SET positions = excluded.positions, updated_at = excluded.updated_at`,
    kind,
    JSON.stringify(layout),
    now,
  );
}
