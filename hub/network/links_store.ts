/**
 * The SQL of link quality: one row per node and minute (`link_minutes`), kept as long as the
 * metric rollups (table made by a migration in `hub/core/migrations.ts`).
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type { LinkPoint } from "../../shared/protocol/mod.ts";

/** Writes (or replaces) one node's minute. Call inside `db.write`. */
export function upsertLinkMinute(tx: Database, nodeId: string, p: LinkPoint): void {
  tx.run(
    `INSERT OR REPLACE INTO link_minutes
       (node_id, minute, rtt_ms, rtt_max_ms, loss_pct, probe_rtt_ms, probe_loss_pct, rx_bps, tx_bps)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    nodeId,
    p.ts,
    p.rtt_ms,
    p.rtt_max_ms,
    p.loss_pct,
    p.probe_rtt_ms,
    p.probe_loss_pct,
    p.rx_bps,
    p.tx_bps,
  );
}

/** A node's minutes in `[from, to)`, oldest first (at most `limit`). */
export function linkMinutes(
  db: Database,
  nodeId: string,
  from: number,
  to: number,
  limit = 50_000,
): LinkPoint[] {
  return db.all<LinkPoint>(
    `SELECT minute AS ts, rtt_ms, rtt_max_ms, loss_pct, probe_rtt_ms, probe_loss_pct, rx_bps, tx_bps
       FROM link_minutes WHERE node_id = ? AND minute >= ? AND minute < ?
      ORDER BY minute LIMIT ?`,
    nodeId,
    from,
    to,
    limit,
  );
}

/** Deletes up to `batch` minutes older than `cutoff`; returns how many. */
export function pruneLinkMinutes(tx: Database, cutoff: number, batch: number): number {
  return tx.run(
    `DELETE FROM link_minutes WHERE (node_id, minute) IN
       (SELECT node_id, minute FROM link_minutes WHERE minute < ? LIMIT ?)`,
    cutoff,
    batch,
  ).changes;
}

/** Deletes every minute of a node (it was removed from the fleet). */
export function deleteLinkMinutes(tx: Database, nodeId: string): number {
  return tx.run("DELETE FROM link_minutes WHERE node_id = ?", nodeId).changes;
}
