/**
 * Node actions from the hub (UI, API, MCP): restart a node's agent, clean the node up (a dry run
 * that only plans, then a run of that plan) and run its boot recovery now. Each is sent to the
 * agent over its control channel (`node.action`), announced on the stream as it starts and ends
 * (`node.action` events, so every open UI shows it), and audited with its result.
 *
 * @module
 */
import type { z } from "zod";
import {
  type NodeAction,
  NodeCleanupReport,
  type NodeCleanupRequest,
  NodeRecoverReport,
  NodeRestartReport,
} from "../../shared/protocol/mod.ts";
import type { Principal } from "../core/auth.ts";
import type { Database } from "../core/db.ts";
import type { EventBus } from "../core/bus.ts";
import { NotFound, Unavailable, Upstream } from "../core/errors.ts";
import { recordAudit } from "../core/store.ts";
import { getNodeRow } from "../fleet/store.ts";
import { type AgentSession, type AgentSessions, ControlRequestError } from "./agent_sessions.ts";
import { controlProblem } from "./containers.ts";

/** How long each action may take on the node (recovery: 3 bounded tries per step). */
const TIMEOUT_MS: Record<NodeAction, number> = {
  cleanup: 10 * 60_000,
  recover: 5 * 60_000,
  restart: 30_000,
};

/** Collaborators of {@link NodeActions}. */
export interface NodeActionsOptions {
  db: Database;
  agents: AgentSessions;
  bus: EventBus;
}

/** Node actions through the agents' control channels. */
export class NodeActions {
  #o: NodeActionsOptions;

  constructor(options: NodeActionsOptions) {
    this.#o = options;
  }

  /** The node's session; 404 for an unknown node, 503 when its agent offers no actions now. */
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
    if (!session.can("actions")) {
      throw new Unavailable(
        `the agent on ${nodeId} offers no node actions (a simulated demo agent, or an agent ` +
          `older than this hub; agent version ${session.version})`,
      );
    }
    return session;
  }

  async #do<T>(
    nodeId: string,
    action: NodeAction,
    schema: z.ZodType<T>,
    by: Principal,
    message: Record<string, unknown>,
    auditDetail: Record<string, unknown>,
    summary: (reply: T) => { detail: string; audit: Record<string, unknown>; failed?: boolean },
  ): Promise<T> {
    const session = this.#session(nodeId);
    const dryRun = message.dry_run === true;
    const who = `${by.kind}:${by.name}`;
    const announce = (state: "started" | "done" | "failed", detail: string | null) =>
      this.#o.bus.publish({
        type: "node.action",
        node_id: nodeId,
        action,
        dry_run: dryRun,
        state,
        by: who,
        detail,
      });
    const audit = (result: "ok" | "error", extra: Record<string, unknown>) =>
      recordAudit(this.#o.db, {
        actor: by,
        action: `node.${action}`,
        target: nodeId,
        result,
        detail: { ...auditDetail, ...extra },
      });
    announce("started", null);
    let reply: T;
    try {
      const raw = await session.request(
        (ch) => ({ type: "node.action", ch, op: action, ...message }) as never,
        TIMEOUT_MS[action],
      );
      // The agent's answer is checked like any input before it reaches the API or the audit.
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        throw new Upstream(`${nodeId}: the agent's ${action} answer is malformed`);
      }
      reply = parsed.data;
    } catch (error) {
      const problem = error instanceof ControlRequestError
        ? controlProblem(nodeId, error.code, error.message)
        : error;
      const text = (problem as Error).message;
      announce("failed", text);
      await audit("error", { error: text });
      throw problem;
    }
    const s = summary(reply);
    announce(s.failed ? "failed" : "done", s.detail);
    await audit(s.failed ? "error" : "ok", s.audit);
    return reply;
  }

  /** A cleanup: a dry run (the plan) unless `dry_run` is false; audited either way. */
  cleanup(
    nodeId: string,
    req: { dry_run: boolean; force: boolean; plan_id?: string },
    by: Principal,
  ): Promise<NodeCleanupReport> {
    const message: NodeCleanupRequest & Record<string, unknown> = {
      dry_run: req.dry_run,
      force: req.force,
      ...(req.plan_id ? { plan_id: req.plan_id } : {}),
    };
    return this.#do<NodeCleanupReport>(
      nodeId,
      "cleanup",
      NodeCleanupReport,
      by,
      message,
      { dry_run: req.dry_run, force: req.force },
      (r) => ({
        detail: `${r.dry_run ? "would run" : "ran"} ${r.actions.length} steps` +
          (r.failed.length ? `, ${r.failed.length} failed` : ""),
        audit: {
          plan_id: r.plan_id,
          steps: r.actions.length,
          bytes: r.bytes,
          failed: r.failed.length,
        },
        failed: r.failed.length > 0,
      }),
    );
  }

  /** Runs the node's boot recovery now; the steps are also stored as its recovery report. */
  recover(nodeId: string, by: Principal): Promise<NodeRecoverReport> {
    return this.#do<NodeRecoverReport>(nodeId, "recover", NodeRecoverReport, by, {}, {}, (r) => ({
      detail: r.steps.map((s) => `${s.step}: ${s.ok ? "ok" : "failed"}`).join("; "),
      audit: { ok: r.ok, failed: r.steps.filter((s) => !s.ok).map((s) => s.step) },
      failed: !r.ok,
    }));
  }

  /** Restarts the node's agent (its control channel drops and comes back). */
  restart(nodeId: string, by: Principal): Promise<NodeRestartReport> {
    return this.#do<NodeRestartReport>(nodeId, "restart", NodeRestartReport, by, {}, {}, (r) => ({
      detail: r.how === "systemd" ? "exits; systemd starts it again" : "restarts in place",
      audit: { how: r.how },
    }));
  }
}
