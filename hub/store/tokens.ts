/**
 * The `tokens` table. Secrets are never stored: only their SHA-256, looked up by hash and then
 * compared in constant time.
 *
 * @module
 */
import type { Database } from "./db.ts";
import type { TokenInfo, TokenKind } from "../../shared/protocol/mod.ts";

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
