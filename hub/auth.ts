/**
 * Tokens and access control (SPEC §5). Kinds: `admin` (everything), `viewer` (read only), `node`
 * (ingest and agent calls, only as its own node). Secrets are random, shown once, stored as
 * SHA-256 and compared in constant time. A request authenticates with `Authorization: Bearer`
 * or the UI's HttpOnly session cookie.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { Database } from "./store/db.ts";
import {
  insertToken,
  markTokensUsed,
  revokeToken,
  tokenByHash,
  tokenInfo,
  type TokenRow,
} from "./store/tokens.ts";
import { ensureNode } from "./store/nodes.ts";
import type { TokenCreated, TokenKind } from "../shared/protocol.ts";
import { Forbidden, Unauthorized } from "./errors.ts";

/** Name of the browser session cookie. */
export const SESSION_COOKIE = "fleet_session";

/** Who is calling. */
export interface Principal {
  token_id: string;
  kind: TokenKind;
  name: string;
  node_id: string | null;
}

/**
 * What a route needs: `read` (admin, viewer), `admin` (admin only), `node` (node tokens),
 * `node_or_admin` (e.g. the swarm join token, for recovering nodes and for operators).
 */
export type Access = "read" | "admin" | "node" | "node_or_admin";

const PREFIX: Record<TokenKind, string> = {
  admin: "fca_",
  viewer: "fcv_",
  node: "fcn_",
  enrollment: "fce_",
};

/** Default lifetime of an enrollment token. */
export const ENROLLMENT_TTL_MS = 24 * 3_600_000;

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/** SHA-256 of a token secret (synchronous: ~2 µs, on every authenticated request). */
export function hashToken(secret: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(secret).digest());
}

/** Parameters of a new token. */
export interface NewToken {
  kind: TokenKind;
  name?: string;
  node_id?: string;
  expires_at?: number | null;
}

/**
 * Prepares a token: the secret (to show once) and the row to store. Node tokens also make sure
 * their node exists, so the node shows up as pending before its first sample.
 */
export function mintToken(
  spec: NewToken,
  now = Date.now(),
): { secret: string; row: Omit<TokenRow, "last_used_at" | "revoked_at" | "used_at"> } {
  const secret = PREFIX[spec.kind] + base64url(crypto.getRandomValues(new Uint8Array(32)));
  const id = "tok_" + base64url(crypto.getRandomValues(new Uint8Array(6)));
  const name = spec.name ?? (spec.kind === "node" ? spec.node_id! : `${spec.kind}-${id.slice(4)}`);
  return {
    secret,
    row: {
      id,
      name,
      kind: spec.kind,
      node_id: spec.node_id ?? null,
      hash: hashToken(secret),
      created_at: now,
      expires_at: spec.expires_at ??
        (spec.kind === "enrollment" ? now + ENROLLMENT_TTL_MS : null),
    },
  };
}

/** Stores a minted token (inside a write); returns what the caller shows once. */
export function storeMintedToken(
  db: Database,
  minted: ReturnType<typeof mintToken>,
): TokenCreated {
  if (minted.row.node_id) ensureNode(db, minted.row.node_id);
  insertToken(db, minted.row);
  return {
    ...tokenInfo({ ...minted.row, last_used_at: null, revoked_at: null, used_at: null }),
    token: minted.secret,
  };
}

/**
 * Verifies tokens against the store with a cache. The cache is dropped whenever another
 * process commits to the database (`PRAGMA data_version` changes), so a `fleet-hub token revoke`
 * run beside a live hub takes effect on the next request.
 */
export class TokenVerifier {
  #db: Database;
  #cache = new Map<string, TokenRow | null>();
  #dataVersion = -1;
  #used = new Map<string, number>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** Forgets cached lookups (after this process changed tokens). */
  invalidate(): void {
    this.#cache.clear();
  }

  /** Returns the principal for `secret`, or `undefined` when unknown, revoked or expired. */
  verify(secret: string, now = Date.now()): Principal | undefined {
    if (!secret || secret.length > 512) return undefined;
    const version = this.#db.get<{ data_version: number }>("PRAGMA data_version")!.data_version;
    if (version !== this.#dataVersion) {
      this.#cache.clear();
      this.#dataVersion = version;
    }
    // Cached by the presented secret, so a hit costs no hashing. A miss hashes, looks the hash
    // up, and compares it again in constant time so timing says nothing of the stored secret.
    let row = this.#cache.get(secret);
    if (row === undefined) {
      const hash = hashToken(secret);
      const found = tokenByHash(this.#db, hash);
      row = found && timingSafeEqual(found.hash, hash) ? found : null;
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(secret, row);
    }
    if (!row) return undefined;
    if (row.revoked_at !== null) return undefined;
    if (row.expires_at !== null && row.expires_at <= now) return undefined;
    this.#used.set(row.id, now);
    return { token_id: row.id, kind: row.kind, name: row.name, node_id: row.node_id };
  }

  /** Revokes a token and drops it from the cache. */
  async revoke(id: string, now = Date.now()): Promise<boolean> {
    const done = await this.#db.write((tx) => revokeToken(tx, id, now));
    this.invalidate();
    return done;
  }

  /** Writes the remembered last-use times (called periodically, not per request). */
  async flushUsage(): Promise<void> {
    if (this.#used.size === 0) return;
    const used = this.#used;
    this.#used = new Map();
    await this.#db.write((tx) => markTokensUsed(tx, used));
  }
}

function bearer(c: Context): string | undefined {
  const header = c.req.header("authorization");
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : undefined;
  }
  return getCookie(c, SESSION_COOKIE);
}

const ALLOWED: Record<Access, readonly TokenKind[]> = {
  read: ["admin", "viewer"],
  admin: ["admin"],
  node: ["node"],
  node_or_admin: ["node", "admin"],
};

/**
 * Middleware that authenticates the request and checks its token kind against `access`.
 *
 * @example
 * ```ts
 * app.get("/api/v1/fleet", requireAuth(verifier, "read"), handler);
 * ```
 */
export function requireAuth(
  verifier: TokenVerifier,
  access: Access,
): MiddlewareHandler<{ Variables: { principal: Principal } }> {
  return async (c, next) => {
    const secret = bearer(c);
    if (!secret) throw new Unauthorized();
    const principal = verifier.verify(secret);
    if (!principal) throw new Unauthorized("the token is unknown, revoked or expired");
    if (!ALLOWED[access].includes(principal.kind)) {
      throw new Forbidden(
        access === "node"
          ? "this route is for node agents: use the node's own token"
          : access === "node_or_admin"
          ? "this route is for node agents and admins"
          : access === "admin"
          ? `a ${principal.kind} token cannot do this: use an admin token`
          : `a ${principal.kind} token cannot read fleet data: use an admin or viewer token`,
      );
    }
    c.set("principal", principal);
    await next();
  };
}
