/**
 * The `tokens` table. Secrets are never stored: only their SHA-256, looked up by hash and then
 * compared in constant time.
 *
 * @module
 */
import type { Database } from "./db.ts";
import type { AuditEntry, TokenInfo, TokenKind } from "../../shared/protocol/mod.ts";
import { getLogger } from "../../shared/log.ts";

/** A row of `tokens`. */
export interface TokenRow {
  id: string;
  name: string;
  kind: TokenKind;
  node_id: string | null;
  hash: Uint8Array;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  used_at: number | null;
  /** 1 for an enrollment token made to replace exactly `node_id`'s token. */
  reenroll: number;
}

/** The listing form of a row (no hash). */
export function tokenInfo(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    node_id: row.node_id,
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
    used_at: row.used_at,
    reenroll: row.reenroll === 1,
  };
}

/** Inserts a token row. */
export function insertToken(
  db: Database,
  row: Omit<TokenRow, "last_used_at" | "revoked_at" | "used_at">,
): void {
  db.run(
    `INSERT INTO tokens (id, name, kind, node_id, hash, created_at, expires_at, reenroll)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    row.id,
    row.name,
    row.kind,
    row.node_id,
    row.hash,
    row.created_at,
    row.expires_at,
    row.reenroll,
  );
}

/** The token whose secret hashes to `hash`, revoked or not. */
export function tokenByHash(db: Database, hash: Uint8Array): TokenRow | undefined {
  return db.get<TokenRow>("SELECT * FROM tokens WHERE hash = ?", hash);
}

/** Every token, oldest first. */
export function listTokenRows(db: Database): TokenRow[] {
  return db.all<TokenRow>("SELECT * FROM tokens ORDER BY created_at, id");
}

/** One token by id. */
export function getTokenRow(db: Database, id: string): TokenRow | undefined {
  return db.get<TokenRow>("SELECT * FROM tokens WHERE id = ?", id);
}

/** Marks a token revoked; true if it was active. */
export function revokeToken(db: Database, id: string, now: number): boolean {
  return db.run(
    "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
    now,
    id,
  ).changes > 0;
}

/** Marks an enrollment token used; false if it already was (it works once). */
export function useEnrollmentToken(db: Database, id: string, now: number): boolean {
  return db.run(
    "UPDATE tokens SET used_at = ? WHERE id = ? AND kind = 'enrollment' AND used_at IS NULL",
    now,
    id,
  ).changes > 0;
}

/** Number of active admin tokens (first start creates one when there is none). */
export function countActiveAdmins(db: Database): number {
  return db.get<{ n: number }>(
    "SELECT count(*) AS n FROM tokens WHERE kind = 'admin' AND revoked_at IS NULL",
  )!.n;
}

/** Records when tokens were last used (batched by the caller). */
export function markTokensUsed(db: Database, used: Map<string, number>): void {
  for (const [id, at] of used) db.run("UPDATE tokens SET last_used_at = ? WHERE id = ?", at, id);
}

/** The node tokens of `nodeId` that still work (not revoked, not expired). */
export function liveNodeTokens(db: Database, nodeId: string, now: number): TokenRow[] {
  return db.all<TokenRow>(
    `SELECT * FROM tokens WHERE kind = 'node' AND node_id = ? AND revoked_at IS NULL
       AND (expires_at IS NULL OR expires_at > ?)`,
    nodeId,
    now,
  );
}

/**
 * Revokes the active tokens bound to `nodeId` (node tokens, and with `all` its enrollment
 * tokens too); returns their ids.
 */
export function revokeNodeTokens(db: Database, nodeId: string, now: number, all = true): string[] {
  return db.all<{ id: string }>(
    `UPDATE tokens SET revoked_at = ? WHERE node_id = ? AND revoked_at IS NULL
       AND (? OR kind = 'node') RETURNING id`,
    now,
    nodeId,
    all ? 1 : 0,
  ).map((r) => r.id);
}

/** Whether a token still works (exists, not revoked, not expired). */
export function tokenIsLive(db: Database, id: string, now: number): boolean {
  const t = db.get<{ revoked_at: number | null; expires_at: number | null }>(
    "SELECT revoked_at, expires_at FROM tokens WHERE id = ?",
    id,
  );
  return !!t && t.revoked_at === null && (t.expires_at === null || t.expires_at > now);
}

/** A row of `sessions`. */
export interface SessionRow {
  id: string;
  hash: Uint8Array;
  token_id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  ended_at: number | null;
  ended_reason: string | null;
}

/** Inserts a new session. */
export function insertSession(
  db: Database,
  row: Omit<SessionRow, "ended_at" | "ended_reason">,
): void {
  db.run(
    `INSERT INTO sessions (id, hash, token_id, created_at, last_seen_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
    row.id,
    row.hash,
    row.token_id,
    row.created_at,
    row.last_seen_at,
    row.expires_at,
  );
}

/** The session whose secret hashes to `hash`, ended or not. */
export function sessionByHash(db: Database, hash: Uint8Array): SessionRow | undefined {
  return db.get<SessionRow>("SELECT * FROM sessions WHERE hash = ?", hash);
}

/** One session by id. */
export function getSessionRow(db: Database, id: string): SessionRow | undefined {
  return db.get<SessionRow>("SELECT * FROM sessions WHERE id = ?", id);
}

/** Ends one session; true if it was open. */
export function endSession(db: Database, id: string, now: number, reason: string): boolean {
  return db.run(
    "UPDATE sessions SET ended_at = ?, ended_reason = ? WHERE id = ? AND ended_at IS NULL",
    now,
    reason,
    id,
  ).changes > 0;
}

/** Ends every open session of a token; returns their ids. */
export function endSessionsOfToken(
  db: Database,
  tokenId: string,
  now: number,
  reason: string,
): string[] {
  return db.all<{ id: string }>(
    `UPDATE sessions SET ended_at = ?, ended_reason = ?
     WHERE token_id = ? AND ended_at IS NULL RETURNING id`,
    now,
    reason,
    tokenId,
  ).map((r) => r.id);
}

/** Writes remembered last-use times (batched, not per request). */
export function touchSessions(db: Database, seen: Map<string, number>): void {
  const stmt = db.prepare(
    "UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ? AND ended_at IS NULL",
  );
  for (const [id, at] of seen) stmt.run(at, id);
}

/** Deletes sessions that ended (or expired) before `before`; returns how many. */
export function pruneSessions(db: Database, before: number): number {
  return db.run(
    "DELETE FROM sessions WHERE coalesce(ended_at, expires_at) < ?",
    before,
  ).changes;
}

const logger = getLogger("audit");

/** Who acted: the calling token's name and kind (and id, when there is one). */
export interface AuditActor {
  name: string;
  kind: string;
  token_id: string | null;
  /** The client the actor came through, when it said (`mcp`); kept in the entry's detail. */
  via?: string;
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
    e.actor.via
      ? JSON.stringify({ ...e.detail, via: e.actor.via })
      : e.detail
      ? JSON.stringify(e.detail)
      : null,
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
