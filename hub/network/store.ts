/**
 * The SQL of network scans: one row per scan with its parameters, progress and result as JSON.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type { NetworkScan, ScanProgress, ScanResult } from "../../shared/protocol/mod.ts";

interface ScanRow {
  id: string;
  kind: NetworkScan["kind"];
  node_id: string;
  target: string;
  params: string;
  state: NetworkScan["state"];
  stopped: NetworkScan["stopped"];
  progress: string;
  by_name: string;
  created_at: number;
  finished_at: number | null;
  error: string | null;
  result: string | null;
}

function toScan(r: ScanRow, withResult: boolean): NetworkScan {
  return {
    id: r.id,
    kind: r.kind,
    node_id: r.node_id,
    target: r.target,
    state: r.state,
    stopped: r.stopped,
    progress: JSON.parse(r.progress),
    by: r.by_name,
    created_at: r.created_at,
    finished_at: r.finished_at,
    error: r.error,
    ...(withResult && r.result ? { result: JSON.parse(r.result) as ScanResult } : {}),
  };
}

/** Inserts a running scan (inside a write). */
export function insertScan(
  db: Database,
  s: NetworkScan,
  params: Record<string, unknown>,
): void {
  db.run(
    `INSERT INTO network_scans (id, kind, node_id, target, params, state, progress, by_name,
                                created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    s.id,
    s.kind,
    s.node_id,
    s.target,
    JSON.stringify(params),
    s.state,
    JSON.stringify(s.progress),
    s.by,
    s.created_at,
  );
}

/** Stores a running scan's progress. */
export function updateScanProgress(db: Database, id: string, p: ScanProgress): void {
  db.run(
    `UPDATE network_scans SET progress = ? WHERE id = ? AND state = 'running'`,
    JSON.stringify(p),
    id,
  );
}

/** Stores a scan's end; false when it had already ended. */
export function finishScan(
  db: Database,
  id: string,
  end: {
    state: Exclude<NetworkScan["state"], "running">;
    stopped: NetworkScan["stopped"];
    progress: ScanProgress;
    error: string | null;
    result: ScanResult | null;
    at: number;
  },
): boolean {
  return db.run(
    `UPDATE network_scans SET state = ?, stopped = ?, progress = ?, error = ?, result = ?,
       finished_at = ?
     WHERE id = ? AND state = 'running'`,
    end.state,
    end.stopped,
    JSON.stringify(end.progress),
    end.error,
    end.result ? JSON.stringify(end.result) : null,
    end.at,
    id,
  ).changes > 0;
}

/** One scan with its result. */
export function getScan(db: Database, id: string): NetworkScan | undefined {
  const r = db.get<ScanRow>(`SELECT * FROM network_scans WHERE id = ?`, id);
  return r ? toScan(r, true) : undefined;
}

/** Scans newest first, without results. */
export function listScans(
  db: Database,
  q: { node?: string; kind?: NetworkScan["kind"]; limit: number },
): NetworkScan[] {
  const where: string[] = [];
  const params: string[] = [];
  if (q.node) {
    where.push("node_id = ?");
    params.push(q.node);
  }
  if (q.kind) {
    where.push("kind = ?");
    params.push(q.kind);
  }
  return db.all<ScanRow>(
    `SELECT id, kind, node_id, target, params, state, stopped, progress, by_name, created_at,
            finished_at, error, NULL AS result
     FROM network_scans ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
     ORDER BY created_at DESC, id DESC LIMIT ?`,
    ...params,
    q.limit,
  ).map((r) => toScan(r, false));
}

/** The newest finished scan of `kind` on `node`, with its result. */
export function latestScan(
  db: Database,
  node: string,
  kind: NetworkScan["kind"],
): NetworkScan | undefined {
  const r = db.get<ScanRow>(
    `SELECT * FROM network_scans WHERE node_id = ? AND kind = ? AND state != 'running'
     ORDER BY created_at DESC LIMIT 1`,
    node,
    kind,
  );
  return r ? toScan(r, true) : undefined;
}

/** Marks scans left running by a previous hub process as failed; returns how many. */
export function failRunningScans(db: Database, reason: string, at: number): number {
  return db.run(
    `UPDATE network_scans SET state = 'failed', error = ?, finished_at = ? WHERE state = 'running'`,
    reason,
    at,
  ).changes;
}

/** Drops all but the newest `keep` scans. */
export function pruneScans(db: Database, keep: number): number {
  return db.run(
    `DELETE FROM network_scans WHERE id IN (
       SELECT id FROM network_scans ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?)`,
    keep,
  ).changes;
}
