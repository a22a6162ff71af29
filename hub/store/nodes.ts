/**
 * The `nodes` table: one row per machine that has a token or has sent samples, holding its
 * identity, its last sample and when the hub last heard from it.
 *
 * @module
 */
import type { Database } from "./db.ts";
import type { AgentInfo, Sample } from "../../shared/protocol.ts";

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
  last_sample: string | null;
  spool_dropped: number;
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

/** Records a batch's effect on its node: identity, last contact, newest sample. */
export function touchNode(
  db: Database,
  id: string,
  now: number,
  agent: AgentInfo | undefined,
  newest: Sample | undefined,
  spoolDropped: number | undefined,
): void {
  db.run(
    `UPDATE nodes SET
       hostname = coalesce(?, hostname), arch = coalesce(?, arch),
       agent_version = coalesce(?, agent_version),
       first_seen = coalesce(first_seen, ?), last_seen = ?,
       spool_dropped = coalesce(?, spool_dropped)
     WHERE id = ?`,
    agent?.hostname ?? null,
    agent?.arch ?? null,
    agent?.version ?? null,
    now,
    now,
    spoolDropped ?? null,
    id,
  );
  if (newest) {
    db.run(
      "UPDATE nodes SET last_seq = ?, last_sample = ? WHERE id = ? AND last_seq < ?",
      newest.seq,
      JSON.stringify(newest),
      id,
      newest.seq,
    );
  }
}

/** Removes a node with its samples and rollups; true if it existed. */
export function deleteNode(db: Database, id: string): boolean {
  db.run("DELETE FROM samples WHERE node_id = ?", id);
  db.run("DELETE FROM rollups WHERE node_id = ?", id);
  return db.run("DELETE FROM nodes WHERE id = ?", id).changes > 0;
}
