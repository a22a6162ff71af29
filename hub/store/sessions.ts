/**
 * The `sessions` table: browser logins. The cookie carries a random secret; only its SHA-256 is
 * stored. A session belongs to the admin or viewer token it was opened with and ends on logout,
 * on that token's revocation, after an idle time and at an absolute lifetime.
 *
 * @module
 */
import type { Database } from "./db.ts";

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
