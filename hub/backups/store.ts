/**
 * The `backups` and `backup_restores` tables: one row per snapshot attempt of one target on one
 * node, and one per restore. Live progress is kept in memory by the service, not here.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type {
  BackupBy,
  BackupInfo,
  BackupState,
  BackupTarget,
  RestoreInfo,
  RestoreState,
} from "../../shared/protocol/mod.ts";

interface BackupRow {
  id: number;
  node_id: string;
  target: string;
  target_label: string;
  state: BackupState;
  snapshot_id: string | null;
  started_at: number;
  finished_at: number | null;
  files: number | null;
  size_b: number | null;
  new_b: number | null;
  chunks_new: number | null;
  chunks_reused: number | null;
  warnings: string;
  error: string | null;
  schedule: string | null;
  note: string | null;
  by_name: string;
  by_kind: string;
  verified_at: number | null;
  verify_ok: number | null;
  verify_detail: string | null;
}

interface RestoreRow {
  id: number;
  backup_id: number;
  node_id: string;
  dest: string;
  paths: string | null;
  dry_run: number;
  state: RestoreState;
  started_at: number;
  finished_at: number | null;
  files: number | null;
  bytes: number | null;
  written: string;
  error: string | null;
  by_name: string;
  by_kind: string;
}

function backupInfo(r: BackupRow): BackupInfo {
  return {
    id: String(r.id),
    node_id: r.node_id,
    target: JSON.parse(r.target) as BackupTarget,
    target_label: r.target_label,
    state: r.state,
    snapshot_id: r.snapshot_id,
    started_at: r.started_at,
    finished_at: r.finished_at,
    duration_ms: r.finished_at === null ? null : r.finished_at - r.started_at,
    files: r.files,
    size_b: r.size_b,
    new_b: r.new_b,
    chunks_new: r.chunks_new,
    chunks_reused: r.chunks_reused,
    warnings: JSON.parse(r.warnings) as string[],
    error: r.error,
    schedule: r.schedule,
    note: r.note,
    by: { name: r.by_name, kind: r.by_kind },
    progress: null,
    verified_at: r.verified_at,
    verify_ok: r.verify_ok === null ? null : r.verify_ok === 1,
    verify_detail: r.verify_detail,
  };
}

function restoreInfo(r: RestoreRow): RestoreInfo {
  return {
    id: String(r.id),
    backup_id: String(r.backup_id),
    node_id: r.node_id,
    to: r.dest,
    paths: r.paths === null ? null : JSON.parse(r.paths) as string[],
    dry_run: r.dry_run === 1,
    state: r.state,
    started_at: r.started_at,
    finished_at: r.finished_at,
    files: r.files,
    bytes: r.bytes,
    written: JSON.parse(r.written) as string[],
    error: r.error,
    by: { name: r.by_name, kind: r.by_kind },
    progress: null,
  };
}

/** A backup about to start (or refused at once: state `failed` with an error). */
export interface NewBackup {
  node_id: string;
  target: BackupTarget;
  target_label: string;
  state: BackupState;
  error: string | null;
  schedule: string | null;
  note: string | null;
  by: BackupBy;
  started_at: number;
}

/** Inserts a backup row (inside a write); returns it. */
export function insertBackup(db: Database, b: NewBackup): BackupInfo {
  const final = b.state !== "running";
  const row = db.get<BackupRow>(
    `INSERT INTO backups (node_id, target, target_label, state, started_at, finished_at, error,
                          schedule, note, by_name, by_kind)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    b.node_id,
    JSON.stringify(b.target),
    b.target_label,
    b.state,
    b.started_at,
    final ? b.started_at : null,
    b.error,
    b.schedule,
    b.note,
    b.by.name,
    String(b.by.kind),
  )!;
  return backupInfo(row);
}

/** How a backup ended. */
export interface BackupEnd {
  state: Exclude<BackupState, "running">;
  finished_at: number;
  snapshot_id?: string | null;
  files?: number | null;
  size_b?: number | null;
  new_b?: number | null;
  chunks_new?: number | null;
  chunks_reused?: number | null;
  warnings?: string[];
  error?: string | null;
}

/** Ends a running backup (inside a write); returns it, or undefined if it was not running. */
export function finishBackup(db: Database, id: number, e: BackupEnd): BackupInfo | undefined {
  const row = db.get<BackupRow>(
    `UPDATE backups SET state = ?, finished_at = ?, snapshot_id = ?, files = ?, size_b = ?,
       new_b = ?, chunks_new = ?, chunks_reused = ?, warnings = ?, error = ?
     WHERE id = ? AND state = 'running' RETURNING *`,
    e.state,
    e.finished_at,
    e.snapshot_id ?? null,
    e.files ?? null,
    e.size_b ?? null,
    e.new_b ?? null,
    e.chunks_new ?? null,
    e.chunks_reused ?? null,
    JSON.stringify(e.warnings ?? []),
    e.error ?? null,
    id,
  );
  return row ? backupInfo(row) : undefined;
}

/** Records a verify result on a backup (inside a write). */
export function recordVerify(
  db: Database,
  id: number,
  at: number,
  ok: boolean,
  detail: string,
): void {
  db.run(
    "UPDATE backups SET verified_at = ?, verify_ok = ?, verify_detail = ? WHERE id = ?",
    at,
    ok ? 1 : 0,
    detail,
    id,
  );
}

/** Marks backups whose snapshots were pruned from the bucket (inside a write). */
export function markPruned(db: Database, snapshotIds: string[], at: number): number {
  let n = 0;
  for (const sid of snapshotIds) {
    n += db.run(
      `UPDATE backups SET state = 'pruned', finished_at = coalesce(finished_at, ?),
         error = 'removed by retention' WHERE snapshot_id = ? AND state IN ('done', 'partial')`,
      at,
      sid,
    ).changes;
  }
  return n;
}

/** One backup. */
export function getBackup(db: Database, id: number): BackupInfo | undefined {
  const row = db.get<BackupRow>("SELECT * FROM backups WHERE id = ?", id);
  return row ? backupInfo(row) : undefined;
}

/** The backup whose snapshot is `snapshotId`. */
export function backupBySnapshot(db: Database, snapshotId: string): BackupInfo | undefined {
  const row = db.get<BackupRow>("SELECT * FROM backups WHERE snapshot_id = ?", snapshotId);
  return row ? backupInfo(row) : undefined;
}

/** Backups, newest first, filtered. */
export function listBackups(
  db: Database,
  q: { node?: string; state?: BackupState; before?: number; limit: number },
): BackupInfo[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.node) {
    where.push("node_id = ?");
    params.push(q.node);
  }
  if (q.state) {
    where.push("state = ?");
    params.push(q.state);
  }
  if (q.before !== undefined) {
    where.push("id < ?");
    params.push(q.before);
  }
  const sql = `SELECT * FROM backups ${where.length ? "WHERE " + where.join(" AND ") : ""}
               ORDER BY id DESC LIMIT ?`;
  return db.all<BackupRow>(sql, ...params, q.limit).map(backupInfo);
}

/** Good backups of one node and target label, newest first (retention works on these). */
export function goodBackupsOf(db: Database, nodeId: string, label: string): BackupInfo[] {
  return db.all<BackupRow>(
    `SELECT * FROM backups WHERE node_id = ? AND target_label = ? AND state = 'done'
     ORDER BY finished_at DESC, id DESC`,
    nodeId,
    label,
  ).map(backupInfo);
}

/** Every good backup's snapshot id (prune keeps exactly these). */
export function goodSnapshotIds(db: Database): string[] {
  return db.all<{ snapshot_id: string }>(
    "SELECT snapshot_id FROM backups WHERE state = 'done' AND snapshot_id IS NOT NULL",
  ).map((r) => r.snapshot_id);
}

/** Per node, the finish time of its newest good backup. */
export function lastGoodPerNode(db: Database): Map<string, number> {
  const rows = db.all<{ node_id: string; at: number }>(
    "SELECT node_id, max(finished_at) AS at FROM backups WHERE state = 'done' GROUP BY node_id",
  );
  return new Map(rows.map((r) => [r.node_id, r.at]));
}

/**
 * Marks every backup and restore still `running` as `interrupted` (inside a write): a previous
 * hub process started them and nobody can finish them any more. Returns how many.
 */
export function interruptRunning(db: Database, at: number): { backups: number; restores: number } {
  const backups = db.run(
    `UPDATE backups SET state = 'interrupted', finished_at = ?,
       error = 'the hub stopped while it ran; no snapshot was written' WHERE state = 'running'`,
    at,
  ).changes;
  const restores = db.run(
    `UPDATE backup_restores SET state = 'interrupted', finished_at = ?,
       error = 'the hub stopped while it ran' WHERE state = 'running'`,
    at,
  ).changes;
  return { backups, restores };
}

/** A restore about to start. */
export interface NewRestore {
  backup_id: number;
  node_id: string;
  dest: string;
  paths: string[] | null;
  dry_run: boolean;
  by: BackupBy;
  started_at: number;
}

/** Inserts a running restore (inside a write). */
export function insertRestore(db: Database, r: NewRestore): RestoreInfo {
  return restoreInfo(
    db.get<RestoreRow>(
      `INSERT INTO backup_restores (backup_id, node_id, dest, paths, dry_run, state, started_at,
                                    by_name, by_kind)
       VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?) RETURNING *`,
      r.backup_id,
      r.node_id,
      r.dest,
      r.paths === null ? null : JSON.stringify(r.paths),
      r.dry_run ? 1 : 0,
      r.started_at,
      r.by.name,
      String(r.by.kind),
    )!,
  );
}

/** Ends a running restore (inside a write). */
export function finishRestore(
  db: Database,
  id: number,
  e: {
    state: Exclude<RestoreState, "running">;
    finished_at: number;
    files?: number | null;
    bytes?: number | null;
    dest?: string;
    written?: string[];
    error?: string | null;
  },
): RestoreInfo | undefined {
  const row = db.get<RestoreRow>(
    `UPDATE backup_restores SET state = ?, finished_at = ?, files = ?, bytes = ?,
       dest = coalesce(?, dest), written = ?, error = ?
     WHERE id = ? AND state = 'running' RETURNING *`,
    e.state,
    e.finished_at,
    e.files ?? null,
    e.bytes ?? null,
    e.dest ?? null,
    JSON.stringify(e.written ?? []),
    e.error ?? null,
    id,
  );
  return row ? restoreInfo(row) : undefined;
}

/** One restore. */
export function getRestore(db: Database, id: number): RestoreInfo | undefined {
  const row = db.get<RestoreRow>("SELECT * FROM backup_restores WHERE id = ?", id);
  return row ? restoreInfo(row) : undefined;
}
