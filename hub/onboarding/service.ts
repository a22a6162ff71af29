/**
 * Onboarding without HTTP: enrollment (an enrollment token traded once for a node's own token,
 * never a second identity for a live node), token administration (create, list, revoke — also
 * used by `fleet-hub token` on the database directly) and browser logins.
 *
 * @module
 */
import type {
  EnrollRequest,
  EnrollResponse,
  SessionInfo,
  TokenCreate,
  TokenCreated,
  TokenInfo,
} from "../../shared/protocol/mod.ts";
import { join } from "node:path";
import { NodeId } from "../../shared/protocol/mod.ts";
import {
  hashToken,
  mintToken,
  type OpenedSession,
  type Principal,
  storeMintedToken,
  type TokenVerifier,
} from "../core/auth.ts";
import type { Database } from "../core/db.ts";
import type { LiveConnections } from "../core/connections.ts";
import { Conflict, Forbidden, NotFound, Unauthorized } from "../core/errors.ts";
import {
  getTokenRow,
  insertAudit,
  listTokenRows,
  liveNodeTokens,
  recordAudit,
  revokeNodeTokens,
  tokenByHash,
  tokenInfo,
  type TokenRow,
  useEnrollmentToken,
} from "../core/store.ts";
import type { FleetView } from "../fleet/service.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("onboarding");

/** Who a token change is recorded as, in the audit log. */
export interface TokenActor {
  name: string;
  kind: string;
  token_id: string | null;
}

/**
 * Creates a token (inside a write) and audits it: the one way both `POST /api/v1/tokens` and
 * `fleet-hub token create` do it. An enrollment token for a node that already has a live token
 * is refused unless it is a re-enrollment, so enrollment can never mint a second identity.
 *
 * @throws {Conflict} when `node_id` already has a live token and `reenroll` is not set.
 */
export function createToken(
  db: Database,
  spec: Omit<TokenCreate, "ttl_s"> & { expires_at?: number | null },
  actor: TokenActor,
  now = Date.now(),
): TokenCreated {
  if (spec.kind === "enrollment" && spec.node_id && !spec.reenroll) {
    if (liveNodeTokens(db, spec.node_id, now).length > 0) {
      throw new Conflict(
        `node ${spec.node_id} already has a live token: make a re-enrollment token ` +
          `(--node ${spec.node_id} --reenroll) to replace it, or revoke the old one first`,
      );
    }
  }
  const created = storeMintedToken(db, mintToken(spec, now));
  insertAudit(db, {
    actor,
    action: "token.create",
    target: created.id,
    result: "ok",
    detail: {
      kind: created.kind,
      name: created.name,
      node_id: created.node_id,
      ...(created.reenroll ? { reenroll: true } : {}),
    },
    at: now,
  });
  return created;
}

/** The audit log names the enrollment token that was used. */
const enrollActor = (row: TokenRow) => ({ name: row.name, kind: "enrollment", token_id: row.id });

/** The node id a hostname suggests (its first label, cleaned), or a random one. */
function idFromHostname(hostname: string): string {
  const host = hostname.split(".")[0].replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);
  return NodeId.safeParse(host).success ? host : `node-${crypto.randomUUID().slice(0, 8)}`;
}

/** `base`, or `base-2`, `base-3`, … : the first that no live node token holds. */
function freeNodeId(db: Database, base: string, now: number): string {
  if (liveNodeTokens(db, base, now).length === 0) return base;
  for (let i = 2; i < 1000; i++) {
    const id = `${base.slice(0, 63 - String(i).length - 1)}-${i}`;
    if (liveNodeTokens(db, id, now).length === 0) return id;
  }
  return `node-${crypto.randomUUID().slice(0, 8)}`;
}

/** What an enrollment resolved to. */
type Enrolled =
  | { ok: true; nodeId: string; token: string; replaced: string[]; collided?: string }
  | { ok: false; reason: "used" | "taken"; nodeId?: string };

/** Collaborators of {@link Onboarding}. */
export interface OnboardingOptions {
  db: Database;
  /** Where the agent binaries and SHA256SUMS are served from. */
  distDir: string;
  verifier: TokenVerifier;
  connections: LiveConnections;
  fleet: FleetView;
}

/** Enrollment, tokens and browser sessions. */
export class Onboarding {
  #o: OnboardingOptions;

  constructor(options: OnboardingOptions) {
    this.#o = options;
  }

  /**
   * Trades a valid, unexpired, unused enrollment token for the node's own token.
   *
   * @throws {Unauthorized} for an unknown or expired token; {@link Conflict} when it was used,
   * or names a node that already has a live token (then the token stays unused).
   */
  async enroll(req: EnrollRequest): Promise<EnrollResponse> {
    const { db, verifier, connections, fleet } = this.#o;
    const row = tokenByHash(db, hashToken(req.token));
    const now = Date.now();
    if (!row || row.kind !== "enrollment" || row.revoked_at !== null) {
      logger.warn("enrollment refused: unknown token", { hostname: req.hostname });
      throw new Unauthorized(
        "not a valid enrollment token: create one with 'fleet-hub token create --kind enrollment --name NODE'",
      );
    }
    if (row.expires_at !== null && row.expires_at <= now) {
      logger.warn("enrollment refused: expired token", {
        token_id: row.id,
        hostname: req.hostname,
      });
      throw new Unauthorized(`enrollment token ${row.id} expired: create a new one`);
    }
    // The node id: the one the token was made for, else its name when that is a valid id,
    // else the hostname's. Only the first two are the operator's word; a hostname is a claim.
    const named = row.node_id ?? (NodeId.safeParse(row.name).success ? row.name : undefined);
    const result = await db.write((tx): Enrolled => {
      let nodeId: string;
      let replaced: string[] = [];
      let collided: string | undefined;
      if (getTokenRow(tx, row.id)?.used_at !== null) return { ok: false, reason: "used" };
      if (row.reenroll === 1 && row.node_id) {
        nodeId = row.node_id;
      } else if (named) {
        // Never a second identity for a node that has a working token: that is re-enrollment.
        if (liveNodeTokens(tx, named, now).length > 0) {
          insertAudit(tx, {
            actor: enrollActor(row),
            action: "node.enroll",
            target: named,
            result: "error",
            detail: { error: "node already has a live token", hostname: req.hostname },
          });
          return { ok: false, reason: "taken", nodeId: named };
        }
        nodeId = named;
      } else {
        const wanted = idFromHostname(req.hostname);
        nodeId = freeNodeId(tx, wanted, now);
        if (nodeId !== wanted) collided = wanted;
      }
      if (!useEnrollmentToken(tx, row.id, now)) return { ok: false, reason: "used" };
      if (row.reenroll === 1) replaced = revokeNodeTokens(tx, nodeId, now, false);
      const created = storeMintedToken(tx, mintToken({ kind: "node", node_id: nodeId }, now));
      insertAudit(tx, {
        actor: enrollActor(row),
        action: row.reenroll === 1 ? "node.reenroll" : "node.enroll",
        target: nodeId,
        result: "ok",
        detail: {
          hostname: req.hostname,
          arch: req.arch,
          token_id: created.id,
          ...(collided ? { requested: collided, reason: "id taken by a live node" } : {}),
          ...(replaced.length ? { revoked: replaced } : {}),
        },
      });
      return { ok: true, nodeId, token: created.token, replaced, collided };
    });
    if (!result.ok && result.reason === "taken") {
      verifier.invalidate();
      logger.warn("enrollment refused: node already has a live token", {
        token_id: row.id,
        node_id: result.nodeId,
        hostname: req.hostname,
      });
      throw new Conflict(
        `node ${result.nodeId} already has a live token: to replace its agent, make a ` +
          `re-enrollment token (fleet-hub token create --kind enrollment --node ${result.nodeId} ` +
          "--reenroll), or revoke the old token first",
      );
    }
    if (!result.ok) {
      logger.warn("enrollment refused: token already used", {
        token_id: row.id,
        hostname: req.hostname,
      });
      throw new Conflict(`enrollment token ${row.id} was already used: it works once`);
    }
    const nodeId = result.nodeId;
    verifier.invalidate();
    // The replaced agent is cut off at once (control socket, streams).
    for (const t of result.replaced) connections.closeToken(t, `${nodeId} was re-enrolled`);
    fleet.added(nodeId);
    if (result.collided) {
      logger.warn("enrollment: hostname id taken by a live node, gave a fresh id", {
        requested: result.collided,
        node_id: nodeId,
        hostname: req.hostname,
      });
    }
    logger.info(row.reenroll === 1 ? "node re-enrolled" : "node enrolled", {
      node_id: nodeId,
      token_id: row.id,
      hostname: req.hostname,
      arch: req.arch,
    });
    return { node_id: nodeId, token: result.token };
  }

  /**
   * Opens a file of the dist dir for `/dist/:file`: one plain file name, no directories, no
   * dot files, so nothing outside the dist dir is reachable.
   *
   * @throws {NotFound} naming how to build the binaries.
   */
  async distFile(name: string): Promise<{ body: ReadableStream<Uint8Array>; contentType: string }> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new NotFound(`no file ${name}`);
    let f: Deno.FsFile;
    try {
      f = await Deno.open(join(this.#o.distDir, name), { read: true });
      if (!(await f.stat()).isFile) {
        f.close();
        throw new Deno.errors.NotFound();
      }
    } catch {
      throw new NotFound(
        `no ${name} in the hub's dist dir (--dist-dir): the hub has no agent binaries; build ` +
          "them with 'deno task dist' (DENORT_BIN=/path/to/denort where dl.deno.land is " +
          "unreachable) and start the hub with --dist-dir pointing at the output",
      );
    }
    return {
      body: f.readable,
      contentType: name === "SHA256SUMS" ? "text/plain; charset=utf-8" : "application/octet-stream",
    };
  }

  /** Every token, without secrets. */
  tokens(): TokenInfo[] {
    return listTokenRows(this.#o.db).map(tokenInfo);
  }

  /** Creates a token for an admin over HTTP (committed with its audit entry). */
  async createToken(spec: TokenCreate, by: Principal): Promise<TokenCreated> {
    const { ttl_s, ...rest } = spec;
    const now = Date.now();
    const created = await this.#o.db.write((tx) =>
      createToken(
        tx,
        { ...rest, expires_at: ttl_s === undefined ? undefined : now + ttl_s * 1000 },
        by,
        now,
      )
    );
    if (created.node_id && created.kind === "node") this.#o.fleet.added(created.node_id);
    logger.info("token created", { id: created.id, kind: created.kind, by: by.name });
    return created;
  }

  /** Revokes a token: its sessions end and everything it opened closes now. */
  async revokeToken(id: string, by: Principal): Promise<void> {
    const { db, verifier, connections } = this.#o;
    const row = getTokenRow(db, id);
    if (!row) throw new NotFound(`no token ${id}: see GET /api/v1/tokens`);
    await verifier.revoke(id);
    const closed = connections.closeToken(id, "the token was revoked");
    await recordAudit(db, {
      actor: by,
      action: "token.revoke",
      target: id,
      result: "ok",
      detail: { kind: row.kind, name: row.name, node_id: row.node_id, closed },
    });
    logger.info("token revoked", { id, by: by.name, closed });
  }

  /**
   * Opens a browser session for an admin or viewer token.
   *
   * @throws {Unauthorized} for a dead token; {@link Forbidden} for node and enrollment tokens.
   */
  async login(token: string): Promise<{ session: OpenedSession; info: SessionInfo }> {
    const principal = this.#o.verifier.verify(token);
    if (!principal) throw new Unauthorized("the token is unknown, revoked or expired");
    if (principal.kind !== "admin" && principal.kind !== "viewer") {
      throw new Forbidden(
        `${principal.kind} tokens cannot log in to the UI: use an admin or viewer token`,
      );
    }
    const session = await this.#o.verifier.openSession(principal.token_id, Date.now(), principal);
    logger.info("session opened", { session: session.id, token: principal.token_id });
    return { session, info: { kind: principal.kind, name: principal.name } };
  }

  /**
   * Ends the browser session a cookie names (if it is still open) and what it opened; audited as
   * `by`, the session's token.
   */
  async logout(sessionId: string, by: Principal): Promise<void> {
    await this.#o.verifier.endSession(sessionId, "logged out", Date.now(), by);
    this.#o.connections.closeSession(sessionId, "logged out");
    logger.info("session ended", { session: sessionId, reason: "logged out" });
  }
}
