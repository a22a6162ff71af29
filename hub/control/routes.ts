/**
 * `GET /api/v1/agent/ws`: the agents' control WebSocket (node tokens only, as their own node).
 * The first frame must be `hello`; then the session joins the registry (`live/agent_sessions.ts`)
 * and every later frame is validated against `AgentMessage` and routed by channel. A frame that
 * is not JSON, not a known message or too large is logged and answered with an `error` frame;
 * the connection stays up.
 *
 * @module
 */
import { Hono } from "hono";
import { upgradeWebSocket } from "hono/deno";
import type { WSContext } from "hono/ws";
import {
  AGENT_CLOSE,
  type AgentMessage,
  type ContainerInfo,
  ContainerRef,
  type ControlErrorCode,
  ExecRequest,
  type HubMessage,
  NodeId,
} from "../../shared/protocol/mod.ts";
import { AGENT_FRAMES, parseFrame } from "../../shared/control_frames.ts";
import { callingNode, checkOrigin, type Env, requireAuth } from "../core/auth.ts";
import { Conflict, HttpProblem, NotFound, Unavailable, Upstream } from "../core/errors.ts";
import { type AgentSession, ControlRequestError, type ControlSocket } from "./agent_sessions.ts";
import type { HubServices } from "../core/services.ts";
import { getLogger } from "../../shared/log.ts";
import { z } from "zod";
import { listExecRuns } from "./store.ts";
import { validate } from "../core/validate.ts";
import { getNodeRow } from "../fleet/store.ts";
import type { TerminalSession } from "./terminal_relay.ts";
import { listAudit, recordAudit } from "../core/store.ts";

const logger = getLogger("agent-ws");

/** How long a new connection may take to say hello. */
const HELLO_TIMEOUT_MS = 5_000;

/**
 * Control sockets one node token may hold at once (the live one and a reconnect racing it).
 * The runtime buffers a whole WebSocket message before the frame limit can be checked, up to
 * its own cap (64 MiB in Deno 2.9, not configurable), so this bounds what one token can pin.
 */
export const MAX_SOCKETS_PER_TOKEN = 2;

/** Frames refused before `hello` after which the socket is closed. */
const MAX_FRAMES_BEFORE_HELLO = 8;

/** A Hono WebSocket as the registry's socket. */
export function controlSocket(ws: WSContext): ControlSocket {
  return {
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason),
    get bufferedAmount() {
      return (ws.raw as WebSocket | undefined)?.bufferedAmount ?? 0;
    },
  };
}

/** 426 for a plain HTTP request to a WebSocket route. */
export function requireUpgrade(upgrade: string | undefined, what: string): void {
  if (upgrade?.toLowerCase() !== "websocket") {
    throw new HttpProblem(
      426,
      "upgrade-required",
      "Upgrade required",
      `${what} is a WebSocket: connect with a WebSocket client (Upgrade: websocket)`,
    );
  }
}

/** The agent control socket route. */
export function agentWsRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();

  app.get("/agent/ws", requireAuth(s.verifier, "node"), (c) => {
    requireUpgrade(c.req.header("upgrade"), "/api/v1/agent/ws");
    const principal = c.get("principal");
    const nodeId = callingNode(principal);
    // Each socket may buffer one large frame before it is parsed: a node token gets only a few.
    if (s.connections.countForToken(principal.token_id, "agent") >= MAX_SOCKETS_PER_TOKEN) {
      throw new HttpProblem(
        429,
        "too-many-sockets",
        "Too many control sockets",
        `node ${nodeId} already holds ${MAX_SOCKETS_PER_TOKEN} control sockets with this token: ` +
          "close one first",
      );
    }
    let session: AgentSession | undefined;
    let socket: WSContext | undefined;
    let helloTimer: ReturnType<typeof setTimeout> | undefined;
    let refused = 0;
    const untrack = s.connections.track("agent", principal, (reason) => {
      if (session) s.agents.detach(session, reason, AGENT_CLOSE.revoked);
      else socket?.close(AGENT_CLOSE.revoked, reason.slice(0, 120));
    });
    const reply = (ws: WSContext, msg: HubMessage) => {
      try {
        ws.send(JSON.stringify(msg));
      } catch { /* closing */ }
    };
    const refuse = (ws: WSContext, message: string, ch?: number) => {
      refused++;
      if (refused <= 10 || refused % 100 === 0) {
        logger.warn("bad control frame from an agent", {
          node_id: nodeId,
          error: message,
          count: refused,
        });
      }
      reply(ws, { type: "error", ...(ch ? { ch } : {}), message });
    };
    return upgradeWebSocket(c, {
      onOpen: (_e, ws) => {
        socket = ws;
        helloTimer = setTimeout(
          () => ws.close(AGENT_CLOSE.noHello, `no hello within ${HELLO_TIMEOUT_MS / 1000} s`),
          HELLO_TIMEOUT_MS,
        );
      },
      onMessage: (e, ws) => {
        const parsed = parseFrame<AgentMessage>(e.data, AGENT_FRAMES);
        if (!session) {
          if (!parsed.ok || parsed.msg.type !== "hello") {
            if (parsed.ok) refuse(ws, "the first frame must be 'hello'");
            else refuse(ws, parsed.error, parsed.ch);
            // A socket that never says hello holds buffers for nothing: a few tries, then out.
            if (refused >= MAX_FRAMES_BEFORE_HELLO) {
              clearTimeout(helloTimer);
              ws.close(AGENT_CLOSE.noHello, "too many frames before 'hello'");
            }
            return;
          }
          clearTimeout(helloTimer);
          session = s.agents.attach(nodeId, principal.token_id, controlSocket(ws), parsed.msg);
          return;
        }
        if (!parsed.ok) return refuse(ws, parsed.error, parsed.ch);
        const msg = parsed.msg;
        switch (msg.type) {
          case "hello":
            return refuse(ws, "'hello' was already received on this connection");
          case "pong":
            return s.agents.pong(session, msg.t);
          case "error":
            logger.warn("agent reported an error", {
              node_id: nodeId,
              ch: msg.ch,
              error: msg.message,
            });
            return session.deliver(msg);
          default:
            session.deliver(msg);
        }
      },
      onClose: (e) => {
        clearTimeout(helloTimer);
        untrack();
        if (session) s.agents.detach(session, `connection closed (${e.code})`);
      },
    });
  });

  return app;
}

const IdParam = z.object({ id: z.coerce.number().int().positive() });
const ListQuery = z.strictObject({
  node: NodeId.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.coerce.number().int().positive().optional(),
});

/** Routes for batch exec. */
export function execRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");

  app.post("/exec", admin, validate("json", ExecRequest), async (c) => {
    const info = await s.execs.start(c.req.valid("json"), c.get("principal"));
    return c.json(info, 201);
  });

  app.get("/exec", read, validate("query", ListQuery), (c) => {
    const q = c.req.valid("query");
    const runs = listExecRuns(s.db, { limit: q.limit, before: q.cursor, node: q.node });
    const next = runs.length === q.limit ? runs.at(-1)!.id : null;
    return c.json({ runs, next_cursor: next });
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

  return app;
}

const Params = z.object({ node: NodeId });
const TerminalQuery = z.strictObject({
  cols: z.coerce.number().int().min(2).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
});

/** The terminal route. */
export function terminalRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();

  app.get(
    "/terminal/:node",
    requireAuth(s.verifier, "admin"),
    validate("param", Params),
    validate("query", TerminalQuery),
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

/** How long a container operation may take on the node (stop waits 10 s for the container). */
const REQUEST_TIMEOUT_MS = 75_000;

const NodeParam = z.object({ id: NodeId });
const ContainerParam = z.object({ id: NodeId, cid: ContainerRef });
const ActionParam = ContainerParam.extend({ action: z.enum(["restart", "stop", "remove"]) });
const ActionQuery = z.strictObject({ force: z.enum(["0", "1", "true", "false"]).optional() });
const LogsQuery = z.strictObject({
  tail: z.coerce.number().int().min(0).max(100_000).default(200),
  follow: z.enum(["0", "1", "true", "false"]).default("0"),
});

/** The HTTP problem for an agent-side failure. */
export function controlProblem(
  nodeId: string,
  code: ControlErrorCode | "timeout" | "lost",
  message: string,
): HttpProblem {
  switch (code) {
    case "not_found":
      return new NotFound(`${nodeId}: ${message}`);
    case "conflict":
      return new Conflict(`${nodeId}: ${message}`);
    case "unavailable":
      return new Unavailable(`${nodeId}: ${message}`);
    case "lost":
      return new Unavailable(`${nodeId}: the agent's connection was lost: ${message}`);
    case "timeout":
      return new Upstream(`${nodeId}: the agent gave ${message}`);
    default:
      return new Upstream(`${nodeId}: ${message}`);
  }
}

/** Routes for containers on nodes. */
export function containerRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");

  /** The node's session; 404 for an unknown node, 503 when its agent cannot do Docker now. */
  const dockerSession = (nodeId: string): AgentSession => {
    if (!getNodeRow(s.db, nodeId)) {
      throw new NotFound(`no node ${nodeId}: see GET /api/v1/fleet for the known nodes`);
    }
    const session = s.agents.get(nodeId);
    if (!session) {
      throw new Unavailable(
        `node ${nodeId} is not connected to the hub's control channel (offline, or an agent ` +
          "started with --control off)",
      );
    }
    if (!session.can("docker")) {
      throw new Unavailable(
        `the agent on ${nodeId} runs without Docker (started with --docker-socket off)`,
      );
    }
    return session;
  };

  const ask = async (session: AgentSession, build: Parameters<AgentSession["request"]>[0]) => {
    try {
      return await session.request(build, REQUEST_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof ControlRequestError) {
        throw controlProblem(session.nodeId, error.code, error.message);
      }
      throw error;
    }
  };

  app.get("/nodes/:id/containers", read, validate("param", NodeParam), async (c) => {
    const session = dockerSession(c.req.valid("param").id);
    const list = await ask(session, (ch) => ({ type: "docker", ch, op: "list" }));
    return c.json(list as ContainerInfo[]);
  });

  app.get(
    "/nodes/:id/containers/:cid/logs",
    read,
    validate("param", ContainerParam),
    validate("query", LogsQuery),
    async (c) => {
      const { id, cid } = c.req.valid("param");
      const q = c.req.valid("query");
      const follow = q.follow === "1" || q.follow === "true";
      const session = dockerSession(id);
      const encoder = new TextEncoder();
      // The first frame decides the status: an error before any data is an HTTP error.
      const first = Promise.withResolvers<{ data?: string; end?: boolean }>();
      let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
      let done = false;
      let untrack = () => {};
      const ch = session.open({
        message: (m) => {
          if (m.type === "stream.data") {
            if (!controller) first.resolve({ data: m.data });
            else {
              try {
                controller.enqueue(encoder.encode(m.data));
              } catch { /* client gone */ }
            }
          } else if (m.type === "stream.end") {
            done = true;
            untrack();
            session.release(ch);
            if (!controller) {
              if (m.error) {
                first.reject(controlProblem(id, m.code ?? "failed", m.error));
              } else first.resolve({ end: true });
              return;
            }
            try {
              if (m.error) {
                controller.enqueue(encoder.encode(`\n[fleet] log stream ended: ${m.error}\n`));
              }
              controller.close();
            } catch { /* client gone */ }
          }
        },
        lost: (reason) => {
          done = true;
          untrack();
          if (!controller) first.reject(controlProblem(id, "lost", reason));
          else {
            try {
              controller.enqueue(encoder.encode(`\n[fleet] connection to ${id} lost\n`));
              controller.close();
            } catch { /* client gone */ }
          }
        },
      });
      session.send({ type: "docker", ch, op: "logs", container: cid, tail: q.tail, follow });
      let head: { data?: string; end?: boolean };
      try {
        head = await first.promise;
      } catch (error) {
        session.release(ch);
        throw error;
      }
      const body = new ReadableStream<Uint8Array>({
        start: (ctl) => {
          controller = ctl;
          if (head.data) ctl.enqueue(encoder.encode(head.data));
          if (head.end) return ctl.close();
          // A follow lives as long as its token (and browser session) does.
          untrack = s.connections.track("logs", c.get("principal"), (reason) => {
            if (!done) {
              done = true;
              session.send({ type: "stream.cancel", ch });
              session.release(ch);
            }
            try {
              ctl.enqueue(encoder.encode(`\n[fleet] log stream ended: ${reason}\n`));
              ctl.close();
            } catch { /* client gone */ }
          });
        },
        cancel: () => {
          untrack();
          if (done) return;
          session.send({ type: "stream.cancel", ch });
          session.release(ch);
        },
      });
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
      const force = ["1", "true"].includes(c.req.valid("query").force ?? "0");
      const principal = c.get("principal");
      const session = dockerSession(id);
      const detail = { node_id: id, container: cid, ...(action === "remove" ? { force } : {}) };
      try {
        await ask(
          session,
          (ch) =>
            action === "remove"
              ? { type: "docker", ch, op: action, container: cid, force }
              : { type: "docker", ch, op: action, container: cid },
        );
      } catch (error) {
        await recordAudit(s.db, {
          actor: principal,
          action: `container.${action}`,
          target: `${id}/${cid}`,
          result: "error",
          detail: { ...detail, error: (error as Error).message },
        });
        throw error;
      }
      await recordAudit(s.db, {
        actor: principal,
        action: `container.${action}`,
        target: `${id}/${cid}`,
        result: "ok",
        detail,
      });
      return c.json({ node_id: id, container: cid, action, ok: true as const });
    },
  );

  return app;
}

const AuditListQuery = z.strictObject({
  action: z.string().min(1).max(64).optional(),
  target: z.string().min(1).max(1000).optional(),
  actor: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.coerce.number().int().positive().optional(),
});

/** The audit log route. */
export function auditRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();

  app.get("/audit", requireAuth(s.verifier, "read"), validate("query", AuditListQuery), (c) => {
    const q = c.req.valid("query");
    const entries = listAudit(s.db, { ...q, before: q.cursor });
    const next = entries.length === q.limit ? entries.at(-1)!.id : null;
    return c.json({ entries, next_cursor: next });
  });

  return app;
}
