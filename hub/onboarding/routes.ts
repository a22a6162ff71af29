/**
 * Onboarding over HTTP. Public: `GET /install.sh`, `GET /dist/:file` (the agent
 * binaries and `SHA256SUMS`, read-only, no paths), `POST /api/v1/enroll` (an enrollment token
 * traded once for the node's own token) and the browser login/logout at `/api/v1/session`.
 * Admin: the token routes. The behaviour is in `service.ts`.
 *
 * @module
 */
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { EnrollRequest, SessionCreate, TokenCreate } from "../../shared/protocol/mod.ts";
import { checkOrigin, type Env, requireAuth, SESSION_COOKIE } from "../core/auth.ts";
import type { HubServices } from "../core/services.ts";
import { validate } from "../core/validate.ts";
import { installScript } from "./install_script.ts";

/** Routes of the onboarding feature (mounted at the root: some are outside `/api/v1`). */
export function onboardingRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const admin = requireAuth(s.verifier, "admin");
  const read = requireAuth(s.verifier, "read");

  app.get("/install.sh", (c) => {
    const url = new URL(c.req.url);
    return c.body(installScript(`${url.protocol}//${url.host}`), 200, {
      "content-type": "text/x-shellscript; charset=utf-8",
      "cache-control": "no-store",
    });
  });

  app.get("/dist/:file", async (c) => {
    const file = await s.onboarding.distFile(c.req.param("file"));
    return new Response(file.body, {
      headers: { "content-type": file.contentType, "cache-control": "no-cache" },
    });
  });

  app.post("/api/v1/enroll", validate("json", EnrollRequest), async (c) => {
    return c.json(await s.onboarding.enroll(c.req.valid("json")), 201);
  });

  app.get("/api/v1/tokens", admin, (c) => c.json(s.onboarding.tokens()));

  app.post("/api/v1/tokens", admin, validate("json", TokenCreate), async (c) => {
    return c.json(await s.onboarding.createToken(c.req.valid("json"), c.get("principal")), 201);
  });

  app.delete("/api/v1/tokens/:id", admin, async (c) => {
    await s.onboarding.revokeToken(c.req.param("id"), c.get("principal"));
    return c.body(null, 204);
  });

  app.post("/api/v1/session", validate("json", SessionCreate), async (c) => {
    const { session, info } = await s.onboarding.login(c.req.valid("json").token);
    // The cookie holds a random session id, never the token: logout and revocation end it.
    setCookie(c, SESSION_COOKIE, session.secret, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: new URL(c.req.url).protocol === "https:" ||
        s.verifier.limits.publicOrigin?.startsWith("https:"),
      maxAge: Math.floor(s.verifier.limits.lifetimeMs / 1000),
    });
    return c.json(info);
  });

  app.get("/api/v1/session", read, (c) => {
    const p = c.get("principal");
    return c.json({ kind: p.kind, name: p.name });
  });

  app.delete("/api/v1/session", async (c) => {
    // Logging out must work with a dead session too, so no auth: the cookie names what to end.
    const secret = getCookie(c, SESSION_COOKIE);
    const principal = secret ? s.verifier.verifySession(secret) : undefined;
    if (principal?.session_id) {
      if (c.req.header("origin") !== undefined) {
        checkOrigin(
          c.req.header("origin"),
          c.req.url,
          c.req.header("host"),
          s.verifier.limits.publicOrigin,
          "log out",
        );
      }
      await s.onboarding.logout(principal.session_id, principal);
    }
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.body(null, 204);
  });

  return app;
}
