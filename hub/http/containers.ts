/**
 * Containers on a node, through its agent's control channel and local Docker engine:
 * `GET /api/v1/nodes/:id/containers` (list), `GET …/containers/:cid/logs?tail=N&follow=1`
 * (plain text, streamed while `follow` is on), and `POST …/containers/:cid/{restart,stop,remove}`
 * (admin; `remove?force=1` also removes a running container). Every action is audited.
 *
 * A node whose agent is not connected answers 503; an unknown container 404; a conflict (remove
 * a running container without force) 409; any other engine failure 502.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  type ContainerInfo,
  ContainerRef,
  type ControlErrorCode,
  NodeId,
} from "../../shared/protocol/mod.ts";
import { type Principal, requireAuth } from "../auth.ts";
import { Conflict, type HttpProblem, NotFound, Unavailable, Upstream } from "../errors.ts";
import { getNodeRow } from "../store/nodes.ts";
import { recordAudit } from "../store/audit.ts";
import { type AgentSession, ControlRequestError } from "../live/agent_sessions.ts";
import type { HubServices } from "../services.ts";
import { validate } from "./validate.ts";

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
export function containerRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
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
