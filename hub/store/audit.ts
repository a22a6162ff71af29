/**
 * The `audit` table: one row per control action (exec, terminal open/close, container action,
 * token change) with who did it (token name and kind), what, on what, when and how it ended.
 * Rows are only ever inserted; keystrokes and command output are never stored here.
 *
 * @module
 */
import type { Database } from "./db.ts";
import type { AuditEntry } from "../../shared/protocol/mod.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("audit");

/** Who acted: the calling token's name and kind (and id, when there is one). */
export interface AuditActor {
  name: string;
  kind: string;
  token_id: string | null;
}

/** What to record. */
export interface NewAuditEntry {
  actor: AuditActor;
  action: string;
  target: string | null;
  result: "ok" | "error";
  detail?: Record<string, unknown> | null;
  at?: number;
}

interface AuditRow {
  id: number;
  at: number;
  actor_name: string;
  actor_kind: string;
  token_id: string | null;
  action: string;
  target: string | null;
  result: "ok" | "error";
  detail: string | null;
}

/** Inserts one entry (inside a write); returns its id. */
export function insertAudit(db: Database, e: NewAuditEntry): number {
  const row = db.get<{ id: number }>(
    `INSERT INTO audit (at, actor_name, actor_kind, token_id, action, target, result, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    e.at ?? Date.now(),
    e.actor.name,
    e.actor.kind,
    e.actor.token_id,
    e.action,
    e.target,
    e.result,
    e.detail ? JSON.stringify(e.detail) : null,
  );
  return row!.id;
}

/** Filters and paging of {@link listAudit}. */
export interface AuditQuery {
  /** Only this action, or (ending in `.`) this action family, e.g. `exec.` or `container.`. */
  action?: string;
  target?: string;
  actor?: string;
  /** Entries older than this id (the previous page's `next_cursor`). */
  before?: number;
  limit: number;
}

/** Entries newest first. */
export function listAudit(db: Database, q: AuditQuery): AuditEntry[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.before !== undefined) {
    where.push("id < ?");
    params.push(q.before);
  }
  if (q.action !== undefined) {
    if (q.action.endsWith(".")) {
      where.push("action >= ? AND action < ?");
      params.push(q.action, q.action.slice(0, -1) + "/");
    } else {
      where.push("action = ?");
      params.push(q.action);
    }
  }
  if (q.target !== undefined) {
    where.push("target = ?");
    params.push(q.target);
  }
  if (q.actor !== undefined) {
    where.push("actor_name = ?");
    params.push(q.actor);
  }
  const rows = db.all<AuditRow>(
    `SELECT * FROM audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
     ORDER BY id DESC LIMIT ?`,
    ...params,
    q.limit,
  );
  return rows.map((r) => ({
    id: String(r.id),
    at: r.at,
    actor: { name: r.actor_name, kind: r.actor_kind, token_id: r.token_id },
    action: r.action,
    target: r.target,
    result: r.result,
    detail: r.detail ? JSON.parse(r.detail) : null,
  }));
}

/**
 * Records an entry in its own write; resolves once it is committed. A failure is logged, never
 * thrown: the action it describes already happened.
 */
export async function recordAudit(db: Database, e: NewAuditEntry): Promise<void> {
  try {
    await db.write((tx) => insertAudit(tx, e));
  } catch (error) {
    logger.error("audit entry not stored", { action: e.action, target: e.target, error });
  }
}
