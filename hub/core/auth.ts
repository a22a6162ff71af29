/**
 * Tokens and access control. Kinds: `admin` (everything), `viewer` (read only), `node`
 * (ingest and agent calls, only as its own node). Secrets are random, shown once, stored as
 * SHA-256 and compared in constant time. A request authenticates with `Authorization: Bearer`
 * or the UI's HttpOnly session cookie.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { Database } from "./db.ts";
import {
  type AuditActor,
  getTokenRow,
  insertAudit,
  insertToken,
  markTokensUsed,
  revokeToken,
  tokenByHash,
  tokenInfo,
  type TokenRow,
} from "./store.ts";
import {
  endSession,
  endSessionsOfToken,
  getSessionRow,
  insertSession,
  sessionByHash,
  type SessionRow,
  touchSessions,
} from "./store.ts";
import { ensureNode } from "../fleet/store.ts";
import type { TokenCreated, TokenKind } from "../../shared/protocol/mod.ts";
import { Forbidden, Unauthorized } from "./errors.ts";

/** Name of the browser session cookie. */
export const SESSION_COOKIE = "fleet_session";

/** Who is calling. */
export type Principal = NodePrincipal | UserPrincipal;

interface PrincipalBase {
  token_id: string;
  name: string;
  /** The browser session when the call came with the session cookie, else null. */
  session_id: string | null;
  /** The client said it is the MCP server (`x-fleet-client: mcp`): audit entries note it. */
  via?: "mcp";
}

/** A node agent calling: its node id is always known. */
export interface NodePrincipal extends PrincipalBase {
  kind: "node";
  node_id: string;
}

/** An operator (admin or viewer), or an enrollment token: no node of its own. */
export interface UserPrincipal extends PrincipalBase {
  kind: Exclude<TokenKind, "node">;
  node_id: null;
}

/** The Hono environment of every hub route: who is calling. */
export type Env = { Variables: { principal: Principal } };

/**
 * The caller as a node agent (routes behind `requireAuth(…, "node")`).
 *
 * @throws {Forbidden} for any other kind of token.
 */
export function nodeCaller(p: Principal): NodePrincipal {
  if (p.kind !== "node") {
    throw new Forbidden("this route is for node agents: use the node's own token");
  }
  return p;
}

/** The node a node token acts as (routes for agents only). */
export function callingNode(p: Principal): string {
  return nodeCaller(p).node_id;
}

/** The principal of a token row (a node token without its node is not valid). */
function principalOf(row: TokenRow, session_id: string | null): Principal | undefined {
  if (row.kind === "node") {
    return row.node_id === null
      ? undefined
      : { kind: "node", node_id: row.node_id, token_id: row.id, name: row.name, session_id };
  }
  return { kind: row.kind, node_id: null, token_id: row.id, name: row.name, session_id };
}

/**
 * What a route needs: `read` (admin, viewer), `admin` (admin only), `node` (node tokens),
 * `node_or_admin` (e.g. the swarm join token, for recovering nodes and for operators), `metrics`
 * (`/metrics`: admin, viewer and the scrape-only `metrics` tokens).
 */
export type Access = "read" | "admin" | "node" | "node_or_admin" | "metrics";

const PREFIX: Record<TokenKind, string> = {
  admin: "fca_",
  viewer: "fcv_",
  node: "fcn_",
  enrollment: "fce_",
  metrics: "fcm_",
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
  /** Enrollment only: replaces `node_id`'s token when used. */
  reenroll?: boolean;
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
      reenroll: spec.reenroll ? 1 : 0,
    },
  };
}

/** Stores a minted token (inside a write); returns what the caller shows once. */
export function storeMintedToken(
  db: Database,
  minted: ReturnType<typeof mintToken>,
): TokenCreated {
  // A node token makes its node show up as pending; an enrollment token waits for its node.
  if (minted.row.node_id && minted.row.kind === "node") ensureNode(db, minted.row.node_id);
  insertToken(db, minted.row);
  return {
    ...tokenInfo({ ...minted.row, last_used_at: null, revoked_at: null, used_at: null }),
    token: minted.secret,
  };
}

/** Lifetimes of browser sessions, and the origin browsers reach the hub at. */
export interface SessionLimits {
  idleMs: number;
  lifetimeMs: number;
  /** An extra accepted origin (scheme://host[:port]), e.g. a TLS proxy in front of the hub. */
  publicOrigin?: string;
}

/** A browser session just opened: the cookie value is shown to the browser once. */
export interface OpenedSession {
  id: string;
  secret: string;
  expires_at: number;
}

const DEFAULT_LIMITS: SessionLimits = { idleMs: 12 * 3_600_000, lifetimeMs: 7 * 86_400_000 };

/**
 * Verifies tokens and browser sessions against the store with a cache. The cache is dropped
 * whenever another process commits to the database (`PRAGMA data_version` changes, read once per
 * turn of the event loop), so a `fleet-hub token revoke` run beside a live hub takes effect on the
 * next request read after it.
 */
export class TokenVerifier {
  #db: Database;
  #limits: SessionLimits;
  #cache = new Map<string, TokenRow | null>();
  #byId = new Map<string, TokenRow | null>();
  #sessions = new Map<string, SessionRow | null>();
  #dataVersion = -1;
  #checkedThisTurn = false;
  #used = new Map<string, number>();
  /** Last use of each session seen by this process (idle time counts from here). */
  #seen = new Map<string, number>();
  #seenDirty = new Map<string, number>();

  constructor(db: Database, limits: SessionLimits = DEFAULT_LIMITS) {
    this.#db = db;
    this.#limits = limits;
  }

  /** How long sessions live. */
  get limits(): SessionLimits {
    return this.#limits;
  }

  /** Forgets cached lookups (after this process changed tokens or sessions). */
  invalidate(): void {
    this.#cache.clear();
    this.#byId.clear();
    this.#sessions.clear();
  }

  #fresh(): void {
    // Once per turn of the event loop: the requests read from the sockets in one turn share the
    // check (each costs a statement; at saturating ingest it was ~5 % of the request thread).
    if (this.#checkedThisTurn) return;
    this.#checkedThisTurn = true;
    setImmediate(() => this.#checkedThisTurn = false);
    const version = this.#db.dataVersion();
    if (version !== this.#dataVersion) {
      this.invalidate();
      this.#dataVersion = version;
    }
  }

  #tokenRow(id: string): TokenRow | null {
    let row = this.#byId.get(id);
    if (row === undefined) {
      row = getTokenRow(this.#db, id) ?? null;
      if (this.#byId.size > 10_000) this.#byId.clear();
      this.#byId.set(id, row);
    }
    return row;
  }

  static #live(row: TokenRow | null, now: number): row is TokenRow {
    return !!row && row.revoked_at === null && (row.expires_at === null || row.expires_at > now);
  }

  /** Returns the principal for `secret`, or `undefined` when unknown, revoked or expired. */
  verify(secret: string, now = Date.now()): Principal | undefined {
    if (!secret || secret.length > 512) return undefined;
    this.#fresh();
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
    if (!TokenVerifier.#live(row, now)) return undefined;
    this.#used.set(row.id, now);
    return principalOf(row, null);
  }

  /** Whether a token still works (cached; for sweeps of open connections). */
  tokenLive(id: string, now = Date.now()): boolean {
    this.#fresh();
    return TokenVerifier.#live(this.#tokenRow(id), now);
  }

  #sessionOk(row: SessionRow, now: number): boolean {
    if (row.ended_at !== null || row.expires_at <= now) return false;
    const last = Math.max(row.last_seen_at, this.#seen.get(row.id) ?? 0);
    return now - last < this.#limits.idleMs;
  }

  /** Returns the principal for a session cookie, or `undefined` when it ended or expired. */
  verifySession(secret: string, now = Date.now()): Principal | undefined {
    if (!secret || secret.length > 512 || !secret.startsWith(SESSION_PREFIX)) return undefined;
    this.#fresh();
    let row = this.#sessions.get(secret);
    if (row === undefined) {
      const hash = hashToken(secret);
      const found = sessionByHash(this.#db, hash);
      row = found && timingSafeEqual(found.hash, hash) ? found : null;
      if (this.#sessions.size > 10_000) this.#sessions.clear();
      this.#sessions.set(secret, row);
    }
    if (!row || !this.#sessionOk(row, now)) return undefined;
    const token = this.#tokenRow(row.token_id);
    if (!TokenVerifier.#live(token, now)) return undefined;
    this.#used.set(token.id, now);
    this.touchSession(row.id, now);
    return principalOf(token, row.id);
  }

  /** Records use of a session (requests, or an open live view). */
  touchSession(id: string, now = Date.now()): void {
    this.#seen.set(id, now);
    this.#seenDirty.set(id, now);
    if (this.#seen.size > 10_000) this.#seen.clear();
  }

  /** Whether a session is still good (cached; for sweeps of open connections). */
  sessionLive(id: string, now = Date.now()): boolean {
    this.#fresh();
    // Sessions are looked up by id here, seldom (one per open stream per sweep).
    const row = getSessionRow(this.#db, id);
    if (!row || !this.#sessionOk(row, now)) return false;
    return TokenVerifier.#live(this.#tokenRow(row.token_id), now);
  }

  /**
   * Opens a browser session for a verified admin or viewer token; with `by`, the login is
   * audited (`session.open`) in the same transaction.
   */
  async openSession(tokenId: string, now = Date.now(), by?: AuditActor): Promise<OpenedSession> {
    const secret = SESSION_PREFIX + base64url(crypto.getRandomValues(new Uint8Array(32)));
    const id = "ses_" + base64url(crypto.getRandomValues(new Uint8Array(9)));
    const expires_at = now + this.#limits.lifetimeMs;
    await this.#db.write((tx) => {
      insertSession(tx, {
        id,
        hash: hashToken(secret),
        token_id: tokenId,
        created_at: now,
        last_seen_at: now,
        expires_at,
      });
      if (by) {
        insertAudit(tx, {
          actor: by,
          action: "session.open",
          target: id,
          result: "ok",
          detail: { expires_at },
          at: now,
        });
      }
    });
    return { id, secret, expires_at };
  }

  /**
   * Ends one session (logout); true if it was open. With `by`, a session it really ended is
   * audited (`session.close`) in the same transaction; one already over changes nothing.
   */
  async endSession(
    id: string,
    reason: string,
    now = Date.now(),
    by?: AuditActor,
  ): Promise<boolean> {
    const done = await this.#db.write((tx) => {
      const ended = endSession(tx, id, now, reason);
      if (ended && by) {
        insertAudit(tx, {
          actor: by,
          action: "session.close",
          target: id,
          result: "ok",
          detail: { reason },
          at: now,
        });
      }
      return ended;
    });
    this.invalidate();
    return done;
  }

  /** Revokes a token and ends its sessions; returns whether it was active. */
  async revoke(id: string, now = Date.now()): Promise<boolean> {
    const done = await this.#db.write((tx) => {
      endSessionsOfToken(tx, id, now, "token revoked");
      return revokeToken(tx, id, now);
    });
    this.invalidate();
    return done;
  }

  /** Writes the remembered last-use times (called periodically, not per request). */
  async flushUsage(): Promise<void> {
    if (this.#used.size === 0 && this.#seenDirty.size === 0) return;
    const used = this.#used;
    const seen = this.#seenDirty;
    this.#used = new Map();
    this.#seenDirty = new Map();
    await this.#db.write((tx) => {
      markTokensUsed(tx, used);
      touchSessions(tx, seen);
    });
  }
}

/** Prefix of browser session secrets (never a token prefix, so the two cannot be confused). */
export const SESSION_PREFIX = "fcs_";

/** The secret of an `Authorization: Bearer <secret>` header; undefined for any other form. */
export function bearerSecret(header: string): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
}

/** The credential of a request: a bearer token, else the session cookie. */
function credential(c: Context): { secret: string; via: "bearer" | "cookie" } | undefined {
  const header = c.req.header("authorization");
  if (header) {
    const secret = bearerSecret(header);
    return secret ? { secret, via: "bearer" } : undefined;
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  return cookie ? { secret: cookie, via: "cookie" } : undefined;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses a browser request from a page of another origin. The request's own origin (scheme
 * and Host) and the configured public origin are accepted; the scheme counts, so `https://` of
 * the same host is not the hub served over `http://`.
 *
 * @throws {Forbidden} naming the origin.
 */
export function checkOrigin(
  origin: string | undefined,
  requestUrl: string,
  host: string | undefined,
  publicOrigin: string | undefined,
  what: string,
): void {
  if (!origin) {
    throw new Forbidden(`${what} with the session cookie needs an Origin header (same origin)`);
  }
  const own = `${new URL(requestUrl).protocol}//${host ?? new URL(requestUrl).host}`;
  const allowed = [own, publicOrigin].filter((o): o is string => !!o).map((o) => {
    try {
      return new URL(o).origin;
    } catch {
      return o;
    }
  });
  let o: string;
  try {
    o = new URL(origin).origin;
  } catch {
    throw new Forbidden(`bad Origin ${origin.slice(0, 200)}`);
  }
  if (!allowed.includes(o)) throw new Forbidden(`a page of ${o} may not ${what} on this hub`);
}

/**
 * Authenticates a request (bearer token or session cookie).
 *
 * @throws {Unauthorized} without a credential or with a dead one; {@link Forbidden} for a
 * cookie-authenticated change from another origin.
 */
export function authenticate(verifier: TokenVerifier, c: Context): Principal {
  const cred = credential(c);
  if (!cred) throw new Unauthorized();
  const principal = cred.via === "bearer"
    ? verifier.verify(cred.secret)
    : verifier.verifySession(cred.secret);
  if (!principal) {
    throw new Unauthorized(
      cred.via === "bearer"
        ? "the token is unknown, revoked or expired"
        : "the session ended (logged out, expired or its token was revoked): log in again",
    );
  }
  // A cookie rides along on cross-site requests: changes need a same-origin page.
  if (cred.via === "cookie" && !SAFE_METHODS.has(c.req.method)) {
    checkOrigin(
      c.req.header("origin"),
      c.req.url,
      c.req.header("host"),
      verifier.limits.publicOrigin,
      "send this request",
    );
  }
  // A label, not a credential: it only marks the audit entries this call writes.
  if (c.req.header("x-fleet-client") === "mcp") principal.via = "mcp";
  return principal;
}

const ALLOWED: Record<Access, readonly TokenKind[]> = {
  read: ["admin", "viewer"],
  admin: ["admin"],
  node: ["node"],
  node_or_admin: ["node", "admin"],
  metrics: ["admin", "viewer", "metrics"],
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
): MiddlewareHandler<Env> {
  return async (c, next) => {
    const principal = authenticate(verifier, c);
    if (!ALLOWED[access].includes(principal.kind)) {
      throw new Forbidden(
        access === "node"
          ? "this route is for node agents: use the node's own token"
          : access === "node_or_admin"
          ? "this route is for node agents and admins"
          : access === "admin"
          ? `a ${principal.kind} token cannot do this: use an admin token`
          : access === "metrics"
          ? `a ${principal.kind} token cannot read /metrics: use a metrics, viewer or admin token`
          : `a ${principal.kind} token cannot read fleet data: use an admin or viewer token`,
      );
    }
    c.set("principal", principal);
    await next();
  };
}
