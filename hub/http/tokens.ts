/**
 * Token management over HTTP (admin): `GET /api/v1/tokens`, `POST /api/v1/tokens`,
 * `DELETE /api/v1/tokens/:id`; and the browser session: `POST/GET/DELETE /api/v1/session`.
 *
 * @module
 */
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { SessionCreate, TokenCreate } from "../../shared/protocol/mod.ts";
import { checkOrigin, createToken, type Principal, requireAuth, SESSION_COOKIE } from "../auth.ts";
import { Forbidden, NotFound, Unauthorized } from "../errors.ts";
import { getTokenRow, listTokenRows, tokenInfo } from "../store/tokens.ts";
import { recordAudit } from "../store/audit.ts";
import type { HubServices } from "../services.ts";
import { validate } from "./validate.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("tokens");

/** Routes for tokens and sessions. */
export function tokenRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
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
    logger.info("token created", { id: created.id, kind: created.kind, by: principal.name });
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
    logger.info("token revoked", { id, by: c.get("principal").name, closed });
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
    logger.info("session opened", { session: opened.id, token: principal.token_id });
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
      logger.info("session ended", { session: principal.session_id, reason: "logged out" });
    }
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.body(null, 204);
  });

  return app;
}
