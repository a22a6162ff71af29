/**
 * Token management over HTTP (admin): `GET /api/v1/tokens`, `POST /api/v1/tokens`,
 * `DELETE /api/v1/tokens/:id`; and the browser session: `POST/GET/DELETE /api/v1/session`.
 *
 * @module
 */
import { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { SessionCreate, TokenCreate } from "../../shared/protocol.ts";
import {
  mintToken,
  type Principal,
  requireAuth,
  SESSION_COOKIE,
  storeMintedToken,
} from "../auth.ts";
import { Forbidden, NotFound, Unauthorized } from "../errors.ts";
import { getTokenRow, listTokenRows, tokenInfo } from "../store/tokens.ts";
import { insertAudit, recordAudit } from "../store/audit.ts";
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
    const spec = c.req.valid("json");
    const minted = mintToken({
      ...spec,
      expires_at: spec.ttl_s === undefined ? undefined : Date.now() + spec.ttl_s * 1000,
    });
    const principal = c.get("principal");
    // The token and its audit entry commit together.
    const created = await s.db.write((tx) => {
      const created = storeMintedToken(tx, minted);
      insertAudit(tx, {
        actor: principal,
        action: "token.create",
        target: created.id,
        result: "ok",
        detail: { kind: created.kind, name: created.name, node_id: created.node_id },
      });
      return created;
    });
    if (created.node_id) s.fleet.added(created.node_id);
    logger.info("token created", {
      id: created.id,
      kind: created.kind,
      by: c.get("principal").name,
    });
    return c.json(created, 201);
  });

  app.delete("/tokens/:id", admin, async (c) => {
    const id = c.req.param("id");
    const row = getTokenRow(s.db, id);
    if (!row) throw new NotFound(`no token ${id}: see GET /api/v1/tokens`);
    await s.verifier.revoke(id);
    await recordAudit(s.db, {
      actor: c.get("principal"),
      action: "token.revoke",
      target: id,
      result: "ok",
      detail: { kind: row.kind, name: row.name, node_id: row.node_id },
    });
    logger.info("token revoked", { id, by: c.get("principal").name });
    return c.body(null, 204);
  });

  app.post("/session", validate("json", SessionCreate), (c) => {
    const principal = s.verifier.verify(c.req.valid("json").token);
    if (!principal) throw new Unauthorized("the token is unknown, revoked or expired");
    if (principal.kind !== "admin" && principal.kind !== "viewer") {
      throw new Forbidden(
        `${principal.kind} tokens cannot log in to the UI: use an admin or viewer token`,
      );
    }
    setCookie(c, SESSION_COOKIE, c.req.valid("json").token, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: new URL(c.req.url).protocol === "https:",
      maxAge: 30 * 86_400,
    });
    return c.json({ kind: principal.kind, name: principal.name });
  });

  app.get("/session", read, (c) => {
    const p = c.get("principal");
    return c.json({ kind: p.kind, name: p.name });
  });

  app.delete("/session", (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.body(null, 204);
  });

  return app;
}
