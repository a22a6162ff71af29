/**
 * What the fleet routes do, without HTTP: ingest a batch as its own node, read one node, its
 * metrics history (range checks, step and bucket choice), accept a recovery report, forget a
 * node (its tokens revoked and what they opened closed), and the saved canvas layouts.
 *
 * @module
 */
import type {
  IngestAck,
  IngestBatch,
  Layout,
  MetricsResponse,
  NodeRecovery,
  NodeSummary,
  RecoveryReport,
  TokenKind,
} from "../../shared/protocol/mod.ts";
import { parseDuration } from "../../shared/duration.ts";
import type { Database } from "../core/db.ts";
import type { EventBus } from "../core/bus.ts";
import type { HubConfig } from "../core/config.ts";
import { BadInput, Forbidden, NotFound } from "../core/errors.ts";
import { type AuditActor, insertAudit, revokeNodeTokens } from "../core/store.ts";
import {
  deleteNode,
  getLayout,
  getNodeRow,
  type NodeRow,
  putLayout,
  seriesFromRaw,
  seriesFromRollups,
  setRecovery,
} from "./store.ts";
import { writeOp } from "../core/write_ops.ts";
import { type FleetView, skewSeconds } from "./service.ts";
import { IngestGate } from "./admission.ts";
import type { DigestedBatch } from "./batch_digest.ts";
import { BatchParser } from "./batch_parser.ts";

/** Most buckets one metrics answer may hold. */
const MAX_BUCKETS = 10_000;
/** Buckets aimed for when no step is given (about one per screen pixel of a wide chart). */
const AUTO_BUCKETS = 720;

/** Earliest time a query may name (2000-01-01): anything before is a typo or a unit mix-up. */
export const EARLIEST_QUERY_TIME = Date.UTC(2000, 0, 1);
/** How far past the hub's clock a query may reach (a browser's clock may run ahead). */
export const QUERY_FUTURE_MS = 86_400_000;

/**
 * Reads a time: ms since the epoch, ISO 8601, `now`, or `now-1h` / `-1h`. Refuses, naming
 * `field`, a time before 2000 or more than a day after `now`.
 */
export function parseTime(text: string, now: number, field: string): number {
  const t = text.trim();
  let parsed = Number.NaN;
  if (/^\d+$/.test(t)) parsed = Number(t);
  else if (t === "now") parsed = now;
  else {
    const rel = /^(?:now)?-(.+)$/.exec(t);
    const ms = rel ? parseDuration(rel[1]) : undefined;
    parsed = ms !== undefined ? now - ms : Date.parse(t);
  }
  if (Number.isNaN(parsed)) {
    throw new BadInput(`${field}: not a time: ${JSON.stringify(text)}`, [
      { path: field, message: "use ms since the epoch, ISO 8601, 'now' or a relative '-1h'" },
    ]);
  }
  if (!(parsed >= EARLIEST_QUERY_TIME && parsed <= now + QUERY_FUTURE_MS)) {
    throw new BadInput(
      `${field}: ${JSON.stringify(text)} is out of range: give a time after 2000-01-01 and ` +
        "at most a day from now",
      [{ path: field, message: "before 2000-01-01 or more than a day from now" }],
    );
  }
  return parsed;
}

/** Collaborators of {@link FleetNodes}. */
export interface FleetNodesOptions {
  db: Database;
  bus: EventBus;
  config: HubConfig;
  fleet: FleetView;
  /** Ends what revoked tokens still hold open (control sockets, streams) and drops caches. */
  tokensRevoked: (tokenIds: string[], reason: string) => void;
}

/** What one committed ingest batch brought (for alerting and the hub's own metrics). */
export interface IngestObservation {
  node_id: string;
  /** Samples newly stored. */
  stored: number;
  /** The agent's spool-drop counter, when the batch carried it. */
  spool_dropped: number | undefined;
}

/** The fleet's node operations. */
export class FleetNodes {
  #o: FleetNodesOptions;
  /** Bounds the ingest bytes in flight (the route admits each batch through it). */
  readonly gate: IngestGate;
  /** Parses large ingest bodies off the request thread (absent when `--ingest-parse-thread off`). */
  readonly parser: BatchParser | undefined;
  /** Called after every committed ingest batch, in order. */
  readonly ingestObservers: Set<(o: IngestObservation) => void> = new Set();

  constructor(options: FleetNodesOptions) {
    this.#o = options;
    this.gate = new IngestGate(options.config.ingestMaxPendingBytes);
    const parseFrom = options.config.ingestParseThreadBytes;
    this.parser = parseFrom > 0 ? new BatchParser(parseFrom) : undefined;
  }

  #row(id: string): NodeRow {
    const row = getNodeRow(this.#o.db, id);
    if (!row) throw new NotFound(`no node ${id}: see GET /api/v1/fleet for the known nodes`);
    return row;
  }

  /** One node as the API shows it. */
  summary(id: string): NodeSummary {
    return this.#o.fleet.summary(this.#row(id));
  }

  /**
   * Stores a batch pushed by `nodeId`'s own token, durably, and answers what it acknowledged.
   *
   * @throws {Forbidden} for another node's batch.
   */
  async ingest(
    nodeId: string,
    batch: IngestBatch | DigestedBatch,
    texts?: string[],
  ): Promise<IngestAck> {
    if (batch.node_id !== nodeId) {
      throw new Forbidden(
        `this token belongs to node ${nodeId}, not ${batch.node_id}: ` +
          "a node may only push its own samples",
      );
    }
    // The receive time: skew is measured against it and stored beside each sample (recv_ts).
    const now = Date.now();
    const { config } = this.#o;
    const policy = {
      maxSkewMs: config.maxClockSkewMs,
      rawRetentionMs: config.rawRetentionMs,
      rollupRetentionMs: config.rollupRetentionMs,
    };
    const stored = await writeOp(this.#o.db, "ingestBatch", batch, now, policy, texts);
    this.#o.fleet.ingested(stored, now);
    for (const observe of this.ingestObservers) {
      observe({
        node_id: stored.node_id,
        stored: stored.stored,
        spool_dropped: batch.spool_dropped,
      });
    }
    return {
      node_id: stored.node_id,
      acked_seq: stored.acked_seq,
      stored: stored.stored,
      duplicates: stored.duplicates,
      last_seq: stored.last_seq,
      unknown_keys: stored.unknown_keys,
      clock_skew_s: skewSeconds(stored.clock_skew_ms),
    };
  }

  /** Highest seq the hub holds for a node (an agent resumes after it). */
  lastSeq(nodeId: string): number {
    return getNodeRow(this.#o.db, nodeId)?.last_seq ?? 0;
  }

  /**
   * Keeps a node's boot recovery report and announces it.
   *
   * @throws {Forbidden} when `callerNode` reports for another node.
   */
  async reportRecovery(
    callerNode: string,
    id: string,
    report: RecoveryReport,
  ): Promise<NodeRecovery> {
    if (callerNode !== id) {
      throw new Forbidden(`this token belongs to node ${callerNode}, not ${id}`);
    }
    const steps = report.steps;
    const recovery = { at: Date.now(), ok: steps.every((st) => st.ok), steps };
    await this.#o.db.write((tx) => setRecovery(tx, id, recovery));
    this.#o.bus.publish({ type: "node.recovery", node_id: id, recovery });
    return recovery;
  }

  /**
   * Forgets a node: samples, rollups, its tokens (revoked; its agent is cut off at once). Audited
   * as `by` in the same transaction; an unknown node (404) is not a row.
   */
  async remove(id: string, by: AuditActor): Promise<void> {
    this.#row(id);
    const now = Date.now();
    const revoked = await this.#o.db.write((tx) => {
      const ids = revokeNodeTokens(tx, id, now);
      deleteNode(tx, id);
      insertAudit(tx, {
        actor: by,
        action: "node.delete",
        target: id,
        result: "ok",
        detail: ids.length ? { revoked: ids } : null,
        at: now,
      });
      return ids;
    });
    this.#o.tokensRevoked(revoked, `node ${id} was deleted`);
    this.#o.fleet.removed(id);
  }

  /**
   * A node's history over `from`..`to` (defaults: the last hour) in buckets of `step` seconds:
   * raw samples for short steps within the raw retention, else 1-minute rollups.
   */
  metrics(id: string, q: { from?: string; to?: string; step?: number }): MetricsResponse {
    this.#row(id);
    const { config, db } = this.#o;
    const now = Date.now();
    const to = q.to === undefined ? now : parseTime(q.to, now, "to");
    let from = q.from === undefined ? to - 3_600_000 : parseTime(q.from, now, "from");
    if (from >= to) {
      throw new BadInput("from must be before to", [{ path: "from", message: "after to" }]);
    }
    // Nothing older than the longest retention is kept: start there, so the answer's range
    // and step describe data that can exist (a range wholly before it: one empty bucket).
    const kept = now - Math.max(config.rawRetentionMs, config.rollupRetentionMs);
    from = Math.min(Math.max(from, kept), to);
    const span = to - from;
    let stepS = q.step ?? Math.max(5, Math.ceil(span / 1000 / AUTO_BUCKETS));
    const rawCovers = from >= now - config.rawRetentionMs;
    const source = stepS < 60 && rawCovers ? "raw" : "rollup";
    if (source === "rollup") stepS = Math.max(60, Math.ceil(stepS / 60) * 60);
    const stepMs = stepS * 1000;
    // Align buckets to the step so consecutive requests line up.
    const start = Math.floor(from / stepMs) * stepMs;
    const buckets = Math.ceil((to - start) / stepMs);
    if (buckets > MAX_BUCKETS) {
      throw new BadInput(`${buckets} buckets is too many: raise step or shorten the range`, [
        { path: "step", message: `at most ${MAX_BUCKETS} buckets per answer` },
      ]);
    }
    const data = source === "raw"
      ? seriesFromRaw(db, id, start, to, stepMs)
      : seriesFromRollups(db, id, start, to, stepMs);
    return {
      node_id: id,
      from: start,
      to,
      step_s: stepS,
      source,
      ts: data.ts,
      series: data.series,
    };
  }

  /** The canvas positions saved for a token kind. */
  layout(kind: TokenKind): Layout {
    return getLayout(this.#o.db, kind);
  }

  /** Replaces the canvas positions of a token kind; returns how many were saved. */
  async saveLayout(kind: TokenKind, layout: Layout): Promise<number> {
    await this.#o.db.write((tx) => putLayout(tx, kind, layout, Date.now()));
    return Object.keys(layout.positions).length;
  }
}
