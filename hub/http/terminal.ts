/**
 * `GET /api/v1/terminal/:node?cols=80&rows=24`: the browser's terminal WebSocket (admin only;
 * browsers authenticate with the `fleet_session` cookie, other clients with
 * `Authorization: Bearer`). A cross-site `Origin` is refused, so another site cannot open a
 * terminal with the operator's cookie. The relay itself is `live/terminal_relay.ts`; the frame
 * format is documented there and in the README.
 *
 * @module
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/deno";
import { z } from "zod";
import { NodeId } from "../../shared/protocol/mod.ts";
import { checkOrigin, type Principal, requireAuth } from "../auth.ts";
import { NotFound } from "../errors.ts";
import { getNodeRow } from "../store/nodes.ts";
import type { TerminalSession } from "../live/terminal_relay.ts";
import type { HubServices } from "../services.ts";
import { controlSocket, requireUpgrade } from "./agent_ws.ts";
import { validate } from "./validate.ts";

const Params = z.object({ node: NodeId });
const Query = z.strictObject({
  cols: z.coerce.number().int().min(2).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
});

/** The terminal route. */
export function terminalRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();

  app.get(
    "/terminal/:node",
    requireAuth(s.verifier, "admin"),
    validate("param", Params),
    validate("query", Query),
    (c) => {
      const { node } = c.req.valid("param");
      if (!getNodeRow(s.db, node)) {
        throw new NotFound(`no node ${node}: see GET /api/v1/fleet for the known nodes`);
      }
      const principal = c.get("principal");
      // Cross-site WebSocket hijacking: a browser (cookie, or any request with an Origin) must
      // come from the hub's own page.
      const origin = c.req.header("origin");
      if (principal.session_id !== null || origin !== undefined) {
        checkOrigin(
          origin,
          c.req.url,
          c.req.header("host"),
          s.verifier.limits.publicOrigin,
          "open a terminal",
        );
      }
      requireUpgrade(c.req.header("upgrade"), `/api/v1/terminal/${node}`);
      const { cols, rows } = c.req.valid("query");
      let session: TerminalSession | undefined;
      return upgradeWebSocket(c, {
        onOpen: (_e, ws) => {
          session = s.terminals.open({
            nodeId: node,
            principal,
            cols,
            rows,
            socket: controlSocket(ws),
          });
        },
        onMessage: (e) => session?.fromBrowser(e.data),
        onClose: (e) => session?.browserClosed(e.code),
      });
    },
  );

  return app;
}
