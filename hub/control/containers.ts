/**
 * Containers on a node, through its agent's control channel: the list, logs (tail, and a follow
 * that lives as long as its caller's token and session), and restart / stop / remove, each
 * audited. Agent-side failures become HTTP problems with the node's name.
 *
 * @module
 */
import type { ContainerInfo, ControlErrorCode } from "../../shared/protocol/mod.ts";
import type { Principal } from "../core/auth.ts";
import type { Database } from "../core/db.ts";
import type { LiveConnections } from "../core/connections.ts";
import { Conflict, type HttpProblem, NotFound, Unavailable, Upstream } from "../core/errors.ts";
import { recordAudit } from "../core/store.ts";
import { getNodeRow } from "../fleet/store.ts";
import { type AgentSession, type AgentSessions, ControlRequestError } from "./agent_sessions.ts";

/** How long a container operation may take on the node (stop waits 10 s for the container). */
const REQUEST_TIMEOUT_MS = 75_000;

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

/** A container action. */
export type ContainerAction = "restart" | "stop" | "remove";

/** Collaborators of {@link NodeContainers}. */
export interface NodeContainersOptions {
  db: Database;
  agents: AgentSessions;
  connections: LiveConnections;
}

/** Container operations on nodes. */
export class NodeContainers {
  #o: NodeContainersOptions;

  constructor(options: NodeContainersOptions) {
    this.#o = options;
  }

  /** The node's session; 404 for an unknown node, 503 when its agent cannot do Docker now. */
  #session(nodeId: string): AgentSession {
    if (!getNodeRow(this.#o.db, nodeId)) {
      throw new NotFound(`no node ${nodeId}: see GET /api/v1/fleet for the known nodes`);
    }
    const session = this.#o.agents.get(nodeId);
    if (!session) {
      throw new Unavailable(
        `node ${nodeId} is not connected to the hub's control channel (offline, or an agent ` +
          "started with --control off)",
      );
    }
    if (!session.can("docker")) {
      throw new Unavailable(
        `the agent on ${nodeId} reports no Docker engine (its socket is missing or was turned ` +
          "off with --docker-socket off)",
      );
    }
    return session;
  }

  async #ask(session: AgentSession, build: Parameters<AgentSession["request"]>[0]) {
    try {
      return await session.request(build, REQUEST_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof ControlRequestError) {
        throw controlProblem(session.nodeId, error.code, error.message);
      }
      throw error;
    }
  }

  /** The containers on a node. */
  async list(nodeId: string): Promise<ContainerInfo[]> {
    const session = this.#session(nodeId);
    return await this.#ask(
      session,
      (ch) => ({ type: "docker", ch, op: "list" }),
    ) as ContainerInfo[];
  }

  /**
   * A container's log as a byte stream: the last `tail` lines, then (with `follow`) what it
   * writes until the caller goes away, the agent ends it, or `owner`'s token or session ends.
   * An error before the first data is thrown (so it becomes the HTTP status).
   */
  async logs(
    nodeId: string,
    container: string,
    opts: { tail: number; follow: boolean },
    owner: Principal,
  ): Promise<ReadableStream<Uint8Array>> {
    const session = this.#session(nodeId);
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
              first.reject(controlProblem(nodeId, m.code ?? "failed", m.error));
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
        if (!controller) first.reject(controlProblem(nodeId, "lost", reason));
        else {
          try {
            controller.enqueue(encoder.encode(`\n[fleet] connection to ${nodeId} lost\n`));
            controller.close();
          } catch { /* client gone */ }
        }
      },
    });
    session.send({
      type: "docker",
      ch,
      op: "logs",
      container,
      tail: opts.tail,
      follow: opts.follow,
    });
    let head: { data?: string; end?: boolean };
    try {
      head = await first.promise;
    } catch (error) {
      session.release(ch);
      throw error;
    }
    return new ReadableStream<Uint8Array>({
      start: (ctl) => {
        controller = ctl;
        if (head.data) ctl.enqueue(encoder.encode(head.data));
        if (head.end) return ctl.close();
        // A follow lives as long as its token (and browser session) does.
        untrack = this.#o.connections.track("logs", owner, (reason) => {
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
  }

  /** Restarts, stops or removes a container; audited whether it worked or not. */
  async act(
    nodeId: string,
    container: string,
    action: ContainerAction,
    force: boolean,
    by: Principal,
  ): Promise<{ node_id: string; container: string; action: ContainerAction; ok: true }> {
    const session = this.#session(nodeId);
    const detail = { node_id: nodeId, container, ...(action === "remove" ? { force } : {}) };
    const audit = (result: "ok" | "error", extra: Record<string, unknown> = {}) =>
      recordAudit(this.#o.db, {
        actor: by,
        action: `container.${action}`,
        target: `${nodeId}/${container}`,
        result,
        detail: { ...detail, ...extra },
      });
    try {
      await this.#ask(
        session,
        (ch) =>
          action === "remove"
            ? { type: "docker", ch, op: action, container, force }
            : { type: "docker", ch, op: action, container },
      );
    } catch (error) {
      await audit("error", { error: (error as Error).message });
      throw error;
    }
    await audit("ok");
    return { node_id: nodeId, container, action, ok: true };
  }
}
