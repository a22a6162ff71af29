/**
 * `POST /mcp` (and `GET`/`DELETE`, answered 405): the fleet's MCP server inside the hub. An admin
 * or viewer token authenticates; the tools then call this hub's API in-process with the caller's
 * own credential, so the token's kind decides what they may do and audit entries name the caller.
 * The behaviour is in `http.ts` and `server.ts`, loaded on the first call.
 *
 * @module
 */
import { Hono } from "hono";
import { checkOrigin, type Env, requireAuth } from "../core/auth.ts";
import type { HubServices } from "../core/services.ts";
import { ApiClient } from "../../shared/api_client.ts";
import { MCP_CLIENT_HEADER } from "./client_header.ts";

/** Routes of the MCP feature; `appFetch` is the hub's own app, for in-process API calls. */
export function mcpRoutes(
  s: HubServices,
  appFetch: (req: Request) => Response | Promise<Response>,
): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  app.on(
    ["GET", "POST", "DELETE"],
    "/mcp",
    async (c, next) => {
      // A browser page must not reach this endpoint from another origin (DNS rebinding).
      const origin = c.req.header("origin");
      if (origin !== undefined) {
        checkOrigin(origin, c.req.url, c.req.header("host"), s.config.publicOrigin, "use MCP");
      }
      await next();
    },
    read,
    async (c) => {
      // The MCP SDK and the tools load on the first call: a hub nobody asks over MCP saves their
      // memory (~6 MB of heap).
      const { answerMcpRequest } = await import("./http.ts");
      const forward: Record<string, string> = { ...MCP_CLIENT_HEADER };
      for (const h of ["authorization", "cookie", "origin"]) {
        const v = c.req.header(h);
        if (v !== undefined) forward[h] = v;
      }
      const own = new URL(c.req.url).origin;
      const api = new ApiClient({
        hub: own,
        headers: forward,
        timeoutMs: 30_000,
        fetch: async (req) => await appFetch(req),
      });
      return answerMcpRequest(c.req.raw, api, {
        tokenKind: c.get("principal").kind,
        publicUrl: s.config.publicOrigin ?? own,
      });
    },
  );
  return app;
}
