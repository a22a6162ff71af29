/**
 * The control feature's HTTP routes: the agents' control WebSocket, batch exec, the browser's
 * terminal WebSocket, containers on nodes and the audit log. Each handler validates, calls one
 * service (`agent_socket.ts`, `exec_runs.ts`, `terminal_relay.ts`, `containers.ts`) and answers.
 *
 * @module
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/deno";
import { z } from "zod";
import {
  ContainerRef,
  ExecRequest,
  NodeCleanupRequest,
  NodeId,
} from "../../shared/protocol/mod.ts";
import { checkOrigin, type Env, nodeCaller, requireAuth } from "../core/auth.ts";
import { NotFound } from "../core/errors.ts";
import type { HubServices } from "../core/services.ts";
import { validate } from "../core/validate.ts";
import { agentSocket, controlSocket, requireUpgrade } from "./agent_socket.ts";
import type { TerminalSession } from "./terminal_relay.ts";

const IdParam = z.object({ id: z.coerce.number().int().positive() });
const ExecListQuery = z.strictObject({
  node: NodeId.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.coerce.number().int().positive().optional(),
});
const TerminalParam = z.object({ node: NodeId });
const TerminalQuery = z.strictObject({
  cols: z.coerce.number().int().min(2).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
});
const NodeParam = z.object({ id: NodeId });
const ContainerParam = z.object({ id: NodeId, cid: ContainerRef });
const ActionParam = ContainerParam.extend({ action: z.enum(["restart", "stop", "remove"]) });
const ActionQuery = z.strictObject({ force: z.stringbool().default(false) });
const LogsQuery = z.strictObject({
  tail: z.coerce.number().int().min(0).max(100_000).default(200),
  follow: z.stringbool().default(false),
});
const AuditListQuery = z.strictObject({
  action: z.string().min(1).max(64).optional(),
  target: z.string().min(1).max(1000).optional(),
  actor: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.coerce.number().int().positive().optional(),
});

/** Routes of the control feature. */
export function controlRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");

  app.get("/agent/ws", requireAuth(s.verifier, "node"), (c) => {
    requireUpgrade(c.req.header("upgrade"), "/api/v1/agent/ws");
    const principal = nodeCaller(c.get("principal"));
    return upgradeWebSocket(c, agentSocket(s.agents, s.connections, principal));
  });

  app.post("/exec", admin, validate("json", ExecRequest), async (c) => {
    return c.json(await s.execs.start(c.req.valid("json"), c.get("principal")), 201);
  });

  app.get("/exec", read, validate("query", ExecListQuery), (c) => {
    return c.json(s.execs.list(c.req.valid("query")));
  });

  app.get("/exec/:id", read, validate("param", IdParam), (c) => {
    const { id } = c.req.valid("param");
    const info = s.execs.get(id);
    if (!info) throw new NotFound(`no exec ${id}: see GET /api/v1/exec`);
    return c.json(info);
  });

  app.post("/exec/:id/cancel", admin, validate("param", IdParam), async (c) => {
    return c.json(await s.execs.cancel(c.req.valid("param").id, c.get("principal")));
  });

  app.get(
    "/terminal/:node",
    admin,
    validate("param", TerminalParam),
    validate("query", TerminalQuery),
    (c) => {
      const { node } = c.req.valid("param");
      s.nodes.summary(node); // 404 for an unknown node
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

  app.get("/nodes/:id/containers", read, validate("param", NodeParam), async (c) => {
    return c.json(await s.containers.list(c.req.valid("param").id));
  });

  app.get(
    "/nodes/:id/containers/:cid/logs",
    read,
    validate("param", ContainerParam),
    validate("query", LogsQuery),
    async (c) => {
      const { id, cid } = c.req.valid("param");
      const body = await s.containers.logs(id, cid, c.req.valid("query"), c.get("principal"));
      return new Response(body, {
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-cache, no-transform",
          "x-accel-buffering": "no",
        },
      });
    },
  );

  app.post(
    "/nodes/:id/containers/:cid/:action",
    admin,
    validate("param", ActionParam),
    validate("query", ActionQuery),
    async (c) => {
      const { id, cid, action } = c.req.valid("param");
      const { force } = c.req.valid("query");
      return c.json(await s.containers.act(id, cid, action, force, c.get("principal")));
    },
  );

  // Node actions: a cleanup is a dry run unless the body says `dry_run: false`.
  app.post(
    "/nodes/:id/actions/cleanup",
    admin,
    validate("param", NodeParam),
    validate("json", NodeCleanupRequest),
    async (c) => {
      const id = c.req.valid("param").id;
      return c.json(await s.nodeActions.cleanup(id, c.req.valid("json"), c.get("principal")));
    },
  );

  app.post("/nodes/:id/actions/recover", admin, validate("param", NodeParam), async (c) => {
    return c.json(await s.nodeActions.recover(c.req.valid("param").id, c.get("principal")));
  });

  app.post("/nodes/:id/actions/restart", admin, validate("param", NodeParam), async (c) => {
    return c.json(await s.nodeActions.restart(c.req.valid("param").id, c.get("principal")));
  });

  app.get("/audit", read, validate("query", AuditListQuery), (c) => {
    return c.json(s.audit.page(c.req.valid("query")));
  });

  return app;
}
