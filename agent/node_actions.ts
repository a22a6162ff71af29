/**
 * Node actions the hub asks for over the control channel (`node.action`): a cleanup (a dry run
 * that only plans, or a run of the plan), the boot recovery now, and a restart of the agent. One
 * action runs at a time; a second is refused as a conflict. Each is answered with one `reply`.
 * The restart is answered first and carried out just after, so the hub hears that it was taken.
 *
 * @module
 */
import {
  type AgentMessage,
  MAX_LISTED_STEPS,
  type NodeActionMessage,
} from "../shared/protocol/mod.ts";
import { RefusedError } from "../shared/cli.ts";
import {
  type CleanupOptions,
  cleanupSkipped,
  planCleanup,
  planId,
  runCleanup,
} from "./node_cleanup.ts";
import type { StepResult } from "./recover.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("actions");

/** How this agent carries out node actions (built by `fleet-agent run` from its config). */
export interface NodeActionHandlers {
  /** The cleanup options of this node (agent.yml `cleanup:`), with `force` as asked. */
  cleanupOptions(force: boolean): Promise<CleanupOptions>;
  /** Runs the recovery steps (bounded tries) and reports them to the hub. */
  recover(): Promise<StepResult[]>;
  /** How a restart happens here; `restart` is called after the answer went out. */
  restartMode: "systemd" | "in_place";
  restart(): void;
}

/** The action an agent is running, by its handlers. */
const BUSY = new WeakMap<NodeActionHandlers, string>();

/** Runs node actions for one control connection. */
export class NodeActionRunner {
  #send: (m: AgentMessage) => void;
  #h: NodeActionHandlers;
  #nodeId: () => string;

  constructor(send: (m: AgentMessage) => void, handlers: NodeActionHandlers, nodeId: () => string) {
    this.#send = send;
    this.#h = handlers;
    this.#nodeId = nodeId;
  }

  /** Handles one request; never throws (failures become error replies). */
  async handle(m: NodeActionMessage): Promise<void> {
    const ch = m.ch;
    // Per agent, not per connection: a reconnect must not start a second cleanup.
    const busy = BUSY.get(this.#h);
    if (busy) {
      this.#send({
        type: "reply",
        ch,
        ok: false,
        code: "conflict",
        error: `a ${busy} is already running on this node`,
      });
      return;
    }
    BUSY.set(this.#h, m.op);
    try {
      const data = await this.#run(m);
      this.#send({ type: "reply", ch, ok: true, data });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = error instanceof RefusedError || error instanceof PlanChanged
        ? "conflict"
        : "failed";
      logger.warn("node action failed", { op: m.op, error: message });
      this.#send({ type: "reply", ch, ok: false, code, error: message.slice(0, 4000) });
    } finally {
      BUSY.delete(this.#h);
    }
  }

  async #run(m: NodeActionMessage): Promise<unknown> {
    const node_id = this.#nodeId();
    if (m.op === "cleanup") {
      const o = await this.#h.cleanupOptions(m.force);
      const plan = await planCleanup(o);
      const id = await planId(plan);
      const skipped = cleanupSkipped(o);
      const planned = plan.reduce((a, s) => a + s.bytes, 0);
      if (m.dry_run) {
        logger.info("cleanup planned (dry run)", { steps: plan.length, plan_id: id });
        return {
          node_id,
          dry_run: true,
          plan_id: id,
          actions: plan.slice(0, MAX_LISTED_STEPS),
          omitted: Math.max(0, plan.length - MAX_LISTED_STEPS),
          skipped,
          bytes: planned,
          failed: [],
        };
      }
      if (m.plan_id !== undefined && m.plan_id !== id) {
        throw new PlanChanged(
          `the plan changed since the dry run (${m.plan_id} → ${id}): run the dry run again`,
        );
      }
      logger.info("cleanup runs", { steps: plan.length, plan_id: id });
      const done = await runCleanup(plan, o);
      return {
        node_id,
        dry_run: false,
        plan_id: id,
        actions: plan.slice(0, MAX_LISTED_STEPS),
        omitted: Math.max(0, plan.length - MAX_LISTED_STEPS),
        skipped,
        bytes: done.freed_b,
        failed: done.failed.slice(0, 200).map((f) => ({
          kind: f.action.kind,
          detail: f.action.detail,
          error: f.error,
        })),
      };
    }
    if (m.op === "recover") {
      logger.info("recovery asked for by the hub");
      const steps = await this.#h.recover();
      return { node_id, ok: steps.every((s) => s.ok), steps };
    }
    logger.info("restart asked for by the hub", { how: this.#h.restartMode });
    // After the reply is on the wire.
    setTimeout(() => this.#h.restart(), 200);
    return { node_id, how: this.#h.restartMode };
  }
}

/** The cleanup plan is not the one the operator saw. */
class PlanChanged extends Error {}
