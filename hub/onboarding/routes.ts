/**
 * Onboarding over HTTP, all public (SPEC §5): `GET /install.sh`, `GET /dist/:file` (the agent
 * binaries and `SHA256SUMS`, read-only, no paths) and `POST /api/v1/enroll`, which exchanges a
 * valid, unexpired, unused enrollment token for the node's own token — once.
 *
 * @module
 */
import { Hono } from "hono";
import { join } from "node:path";
import {
  EnrollRequest,
  type EnrollResponse,
  NodeId,
  SessionCreate,
  TokenCreate,
} from "../../shared/protocol/mod.ts";
import {
  checkOrigin,
  createToken,
  type Env,
  hashToken,
  mintToken,
  requireAuth,
  SESSION_COOKIE,
  storeMintedToken,
} from "../core/auth.ts";
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
import type { Database } from "../core/db.ts";
import { installScript } from "./install_script.ts";
import type { HubServices } from "../core/services.ts";
import { validate } from "../core/validate.ts";
import { getLogger } from "../../shared/log.ts";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

const logger = getLogger("enroll");

/** The audit log names the enrollment token that was used. */
const ENROLL_ACTOR = (row: TokenRow) => ({ name: row.name, kind: "enrollment", token_id: row.id });

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

/** Routes for onboarding. */
export function installRoutes(s: HubServices): Hono {
  const app = new Hono();

  app.get("/install.sh", (c) => {
    const url = new URL(c.req.url);
    return c.body(installScript(`${url.protocol}//${url.host}`), 200, {
      "content-type": "text/x-shellscript; charset=utf-8",
      "cache-control": "no-store",
    });
  });

  app.get("/dist/:file", async (c) => {
    const file = c.req.param("file");
    // One plain file name: no directories, no dot files, so nothing outside dist is reachable.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file)) throw new NotFound(`no file ${file}`);
    const path = join(s.config.distDir, file);
    let f: Deno.FsFile;
    try {
      f = await Deno.open(path, { read: true });
      if (!(await f.stat()).isFile) {
        f.close();
        throw new Deno.errors.NotFound();
      }
    } catch {
      throw new NotFound(`no ${file} in the hub's dist dir: build it with 'deno task dist'`);
    }
    return new Response(f.readable, {
      headers: {
        "content-type": file === "SHA256SUMS"
          ? "text/plain; charset=utf-8"
          : "application/octet-stream",
        "cache-control": "no-cache",
      },
    });
  });

  app.post("/api/v1/enroll", validate("json", EnrollRequest), async (c) => {
    const req = c.req.valid("json");
    const row = tokenByHash(s.db, hashToken(req.token));
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
    const result = await s.db.write((tx): Enrolled => {
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
            actor: ENROLL_ACTOR(row),
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
        actor: ENROLL_ACTOR(row),
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
      s.verifier.invalidate();
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
    s.verifier.invalidate();
    // The replaced agent is cut off at once (control socket, streams).
    for (const t of result.replaced) s.connections.closeToken(t, `${nodeId} was re-enrolled`);
    s.fleet.added(nodeId);
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
    const body: EnrollResponse = { node_id: nodeId, token: result.token };
    return c.json(body, 201);
  });

  return app;
}

const tokenLogger = getLogger("tokens");

/** Routes for tokens and sessions. */
export function tokenRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const admin = requireAuth(s.verifier, "admin");
  const read = requireAuth(s.verifier, "read");

  app.get("/tokens", admin, (c) => c.json(listTokenRows(s.db).map(tokenInfo)));

  app.post("/tokens", admin, validate("json", TokenCreate), async (c) => {
    const { ttl_s, ...spec } = c.req.valid("json");
    const principal = c.get("principal");
    const now = Date.now();
    // The token and its audit entry commit together.
    const created = await s.db.write((tx) =>
      createToken(
        tx,
        { ...spec, expires_at: ttl_s === undefined ? undefined : now + ttl_s * 1000 },
        principal,
        now,
      )
    );
    if (created.node_id && created.kind === "node") s.fleet.added(created.node_id);
    tokenLogger.info("token created", { id: created.id, kind: created.kind, by: principal.name });
    return c.json(created, 201);
  });

  app.delete("/tokens/:id", admin, async (c) => {
    const id = c.req.param("id");
    const row = getTokenRow(s.db, id);
    if (!row) throw new NotFound(`no token ${id}: see GET /api/v1/tokens`);
    await s.verifier.revoke(id);
    // Everything opened with it ends now, not at its next request.
    const closed = s.connections.closeToken(id, "the token was revoked");
    await recordAudit(s.db, {
      actor: c.get("principal"),
      action: "token.revoke",
      target: id,
      result: "ok",
      detail: { kind: row.kind, name: row.name, node_id: row.node_id, closed },
    });
    tokenLogger.info("token revoked", { id, by: c.get("principal").name, closed });
    return c.body(null, 204);
  });

  app.post("/session", validate("json", SessionCreate), async (c) => {
    const principal = s.verifier.verify(c.req.valid("json").token);
    if (!principal) throw new Unauthorized("the token is unknown, revoked or expired");
    if (principal.kind !== "admin" && principal.kind !== "viewer") {
      throw new Forbidden(
        `${principal.kind} tokens cannot log in to the UI: use an admin or viewer token`,
      );
    }
    // The cookie holds a random session id, never the token: logout and revocation end it.
    const opened = await s.verifier.openSession(principal.token_id);
    setCookie(c, SESSION_COOKIE, opened.secret, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: new URL(c.req.url).protocol === "https:" ||
        s.verifier.limits.publicOrigin?.startsWith("https:"),
      maxAge: Math.floor(s.verifier.limits.lifetimeMs / 1000),
    });
    tokenLogger.info("session opened", { session: opened.id, token: principal.token_id });
    return c.json({ kind: principal.kind, name: principal.name });
  });

  app.get("/session", read, (c) => {
    const p = c.get("principal");
    return c.json({ kind: p.kind, name: p.name });
  });

  app.delete("/session", async (c) => {
    // Logging out must work with a dead session too, so no auth: the cookie names what to end.
    const secret = getCookie(c, SESSION_COOKIE);
    const principal = secret ? s.verifier.verifySession(secret) : undefined;
    if (principal?.session_id) {
      if (c.req.header("origin") !== undefined || c.req.header("sec-fetch-site")) {
        checkOrigin(
          c.req.header("origin"),
          c.req.url,
          c.req.header("host"),
          s.verifier.limits.publicOrigin,
          "log out",
        );
      }
      await s.verifier.endSession(principal.session_id, "logged out");
      s.connections.closeSession(principal.session_id, "logged out");
      tokenLogger.info("session ended", { session: principal.session_id, reason: "logged out" });
    }
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.body(null, 204);
  });

  return app;
}
