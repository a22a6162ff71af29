/**
 * The `nodes` table: one row per machine that has a token or has sent samples, holding its
 * identity, its highest seq and when the hub last heard from it. (The newest sample itself is
 * kept in memory by the fleet view and read back from `samples` at start, so ingest does not
 * rewrite a 2 KB column per batch.)
 *
 * @module
 */
import type { Database } from "./db.ts";
import type { AgentInfo } from "../../shared/protocol/mod.ts";

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

/** Every node, ordered by id. */
export function listNodeRows(db: Database): NodeRow[] {
  return db.all<NodeRow>("SELECT * FROM nodes ORDER BY id");
}

/** One node, or `undefined`. */
export function getNodeRow(db: Database, id: string): NodeRow | undefined {
  return db.get<NodeRow>("SELECT * FROM nodes WHERE id = ?", id);
}

/** Creates the node row if missing (e.g. when a node token is issued); true if it was created. */
export function ensureNode(db: Database, id: string, name = id): boolean {
  return db.run("INSERT OR IGNORE INTO nodes (id, name) VALUES (?, ?)", id, name).changes > 0;
}

/**
 * Records a batch's effect on its node in one statement (creating the row if needed): identity,
 * last contact, highest seq, clock skew, unknown keys. Returns the node's highest seq afterwards.
 */
export function touchNode(db: Database, id: string, now: number, t: NodeTouch): number {
  return db.get<{ last_seq: number }>(
    `INSERT INTO nodes (id, name, hostname, arch, agent_version, first_seen, last_seen, last_seq,
                        spool_dropped, clock_skew_ms, unknown_keys)
     VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?5, ?6, coalesce(?7, 0), ?8, ?9)
     ON CONFLICT (id) DO UPDATE SET
       hostname = coalesce(excluded.hostname, hostname), arch = coalesce(excluded.arch, arch),
       agent_version = coalesce(excluded.agent_version, agent_version),
       first_seen = coalesce(first_seen, excluded.first_seen), last_seen = excluded.last_seen,
       last_seq = max(last_seq, excluded.last_seq), spool_dropped = coalesce(?7, spool_dropped),
       clock_skew_ms = ?8, unknown_keys = unknown_keys + ?9
     RETURNING last_seq`,
    id,
    t.agent?.hostname ?? null,
    t.agent?.arch ?? null,
    t.agent?.version ?? null,
    now,
    t.newestSeq,
    t.spoolDropped ?? null,
    t.clockSkewMs,
    t.unknownKeys,
  )!.last_seq;
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
  db.run("DELETE FROM samples WHERE node_id = ?", id);
  db.run("DELETE FROM rollups WHERE node_id = ?", id);
  return db.run("DELETE FROM nodes WHERE id = ?", id).changes > 0;
}
