/**
 * Batch exec: runs one shell command on many nodes at once over their control channels.
 *
 * A run resolves its targets (a node list or a cluster's nodes and lent roamers), stores itself
 * with one result row per node — nodes whose agent is not connected are `offline` at once, never
 * waited on — records the audit entry in the same transaction, announces `exec.started`, and
 * sends `exec.start` to every connected agent. Output arrives as `exec.output` frames, is
 * forwarded as `exec.output` events and kept (up to the cap) in memory; each node's end is
 * stored and announced as `exec.exit`, and the run's end as `exec.finished`.
 *
 * A node whose connection drops mid-run is `interrupted`; one that does not report an exit
 * within its timeout plus a grace period is `timed_out`. Cancel asks every agent to kill its
 * process group. Runs still `running` when the hub starts are marked `interrupted`.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import {
  finishExecResult,
  finishExecRun,
  getExecRun,
  insertExecRun,
  interruptRunningExecs,
  listExecRuns,
} from "./store.ts";
import { insertAudit, recordAudit } from "../core/store.ts";
import { getNodeRow } from "../fleet/store.ts";
import type { EventBus } from "../core/bus.ts";
import type { AgentSession, AgentSessions, ChannelMessage } from "./agent_sessions.ts";
import type { Principal } from "../core/auth.ts";
import { BadInput, Conflict, NotFound } from "../core/errors.ts";
import type {
  ExecInfo,
  ExecNodeState,
  ExecRequest,
  ExecRunState,
  OutputStream,
} from "../../shared/protocol/mod.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("exec");
const encoder = new TextEncoder();

/** Extra time past a node's timeout before the hub stops waiting for its exit. */
const EXIT_GRACE_MS = 15_000;
/** How long a cancelled node may take to confirm before it is marked cancelled anyway. */
const CANCEL_GRACE_MS = 10_000;

/** The parsed `POST /api/v1/exec` body. */
export type ExecStart = Omit<ExecRequest, "timeout_s"> & { timeout_s: number };

interface LiveNode {
  nodeId: string;
  session: AgentSession;
  ch: number;
  chunks: { stream: OutputStream; data: string }[];
  bytes: number;
  truncated: boolean;
  guard: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

interface LiveRun {
  id: number;
  nodes: Map<string, LiveNode>;
  remaining: number;
  cancelled: boolean;
  interrupted: boolean;
}

/** Options of {@link ExecRuns}. */
export interface ExecRunsOptions {
  /** Most output bytes kept and streamed per node. */
  outputCapBytes: number;
  /** The nodes of a cluster (members and lent roamers), or undefined for an unknown cluster. */
  clusterNodes: (cluster: string) => string[] | undefined;
  /** Known cluster ids (for the error message). */
  clusterIds: () => string[];
}

/** Batch exec runs. */
export class ExecRuns {
  #db: Database;
  #bus: EventBus;
  #agents: AgentSessions;
  #options: ExecRunsOptions;
  #live = new Map<number, LiveRun>();

  constructor(db: Database, bus: EventBus, agents: AgentSessions, options: ExecRunsOptions) {
    this.#db = db;
    this.#bus = bus;
    this.#agents = agents;
    this.#options = options;
  }

  /** Runs in progress. */
  get running(): number {
    return this.#live.size;
  }

  /** Marks runs left `running` by a previous hub process as `interrupted` (call at start). */
  async recover(): Promise<number[]> {
    const ids = await this.#db.write((tx) => interruptRunningExecs(tx, Date.now()));
    if (ids.length) logger.warn("marked runs of the previous hub interrupted", { exec_ids: ids });
    return ids;
  }

  #targets(req: ExecStart): string[] {
    if (req.cluster !== undefined) {
      const nodes = this.#options.clusterNodes(req.cluster);
      if (!nodes) {
        throw new BadInput(`unknown cluster ${req.cluster}`, [{
          path: "cluster",
          message: `not in fleet.yml (known: ${this.#options.clusterIds().join(", ") || "none"})`,
        }]);
      }
      if (nodes.length === 0) {
        throw new BadInput(`cluster ${req.cluster} has no nodes`, [
          { path: "cluster", message: "no member nodes and no lent roamers" },
        ]);
      }
      return [...new Set(nodes)];
    }
    const nodes = req.nodes!;
    const unknown = nodes.map((n, i) => ({ n, i })).filter(({ n }) => !getNodeRow(this.#db, n));
    if (unknown.length) {
      throw new BadInput(
        `unknown node${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => u.n).join(", ")}: ` +
          "nothing was run (see GET /api/v1/fleet for the known nodes)",
        unknown.map((u) => ({ path: `nodes.${u.i}`, message: `no node ${u.n}` })),
      );
    }
    return [...new Set(nodes)];
  }

  /**
   * Starts a run; resolves once it is stored and sent to the agents. Throws `BadInput` (unknown
   * node or cluster) before anything runs.
   */
  async start(req: ExecStart, by: Principal): Promise<ExecInfo> {
    const targets = this.#targets(req);
    const now = Date.now();
    const plan = targets.map((nodeId) => {
      const session = this.#agents.get(nodeId);
      if (!session) {
        return {
          node_id: nodeId,
          state: "offline" as ExecNodeState,
          error: "the node's agent is not connected",
          session,
        };
      }
      if (!session.can("exec")) {
        return {
          node_id: nodeId,
          state: "error" as ExecNodeState,
          error: `the agent (version ${session.version}) does not offer exec`,
          session: undefined,
        };
      }
      return { node_id: nodeId, state: "running" as ExecNodeState, error: null, session };
    });
    const id = await this.#db.write((tx) => {
      const id = insertExecRun(tx, {
        command: req.command,
        cluster: req.cluster ?? null,
        timeout_s: req.timeout_s,
        by: { name: by.name, kind: by.kind },
        created_at: now,
        nodes: plan.map(({ node_id, state, error }) => ({ node_id, state, error })),
      });
      insertAudit(tx, {
        actor: by,
        action: "exec.run",
        target: req.cluster !== undefined
          ? `cluster:${req.cluster}`
          : targets.join(",").slice(0, 1000),
        result: "ok",
        detail: {
          exec_id: String(id),
          command: req.command,
          nodes: targets,
          timeout_s: req.timeout_s,
          not_connected: plan.filter((p) => p.state !== "running").map((p) => p.node_id),
        },
        at: now,
      });
      return id;
    });
    const execId = String(id);
    this.#bus.publish({
      type: "exec.started",
      exec_id: execId,
      command: req.command,
      nodes: targets,
      by: by.name,
    });
    for (const p of plan) {
      if (p.state === "running") continue;
      this.#bus.publish({
        type: "exec.exit",
        exec_id: execId,
        node_id: p.node_id,
        state: p.state,
        exit_code: null,
        truncated: false,
        error: p.error,
      });
    }
    const running = plan.filter((p) => p.state === "running");
    logger.info("exec started", {
      exec_id: execId,
      by: by.name,
      nodes: targets.length,
      connected: running.length,
    });
    if (running.length === 0) {
      this.#bus.publish({ type: "exec.finished", exec_id: execId, state: "done" });
      return getExecRun(this.#db, id)!;
    }
    const run: LiveRun = {
      id,
      nodes: new Map(),
      remaining: running.length,
      cancelled: false,
      interrupted: false,
    };
    this.#live.set(id, run);
    for (const p of running) {
      const session = p.session!;
      const node: LiveNode = {
        nodeId: p.node_id,
        session,
        ch: 0,
        chunks: [],
        bytes: 0,
        truncated: false,
        guard: undefined,
        done: false,
      };
      node.ch = session.open({
        message: (m) => this.#onMessage(run, node, m),
        lost: (reason) =>
          this.#finishNode(run, node, {
            state: "interrupted",
            exit_code: null,
            error: `the connection to the node's agent was lost (${reason})`,
          }),
      });
      run.nodes.set(p.node_id, node);
      node.guard = setTimeout(() => {
        session.send({ type: "exec.cancel", ch: node.ch });
        this.#finishNode(run, node, {
          state: "timed_out",
          exit_code: null,
          error: "the agent reported no exit within the timeout",
        });
      }, req.timeout_s * 1000 + EXIT_GRACE_MS);
      const sent = session.send({
        type: "exec.start",
        ch: node.ch,
        command: req.command,
        timeout_s: req.timeout_s,
        output_cap_b: this.#options.outputCapBytes,
      });
      if (!sent) {
        this.#finishNode(run, node, {
          state: "interrupted",
          exit_code: null,
          error: "the connection to the node's agent was lost",
        });
      }
    }
    return this.get(id)!;
  }

  #onMessage(run: LiveRun, node: LiveNode, m: ChannelMessage): void {
    if (node.done) return;
    if (m.type === "exec.output") {
      const size = encoder.encode(m.data).length;
      if (node.bytes + size > this.#options.outputCapBytes) {
        node.truncated = true;
        return;
      }
      node.bytes += size;
      const last = node.chunks.at(-1);
      if (last && last.stream === m.stream) last.data += m.data;
      else node.chunks.push({ stream: m.stream, data: m.data });
      this.#bus.publish({
        type: "exec.output",
        exec_id: String(run.id),
        node_id: node.nodeId,
        stream: m.stream,
        data: m.data,
      });
    } else if (m.type === "exec.exit") {
      const state: ExecNodeState = m.timed_out
        ? "timed_out"
        : m.cancelled
        ? "cancelled"
        : m.exit_code === null && m.error
        ? "error"
        : "exited";
      this.#finishNode(run, node, {
        state,
        exit_code: m.exit_code,
        error: m.error ?? null,
        truncated: m.truncated || node.truncated,
        output_bytes: m.output_bytes,
        tail: m.tail ?? null,
      });
    } else if (m.type === "error") {
      logger.warn("agent refused an exec frame", { node_id: node.nodeId, error: m.message });
    }
  }

  async #finishNode(
    run: LiveRun,
    node: LiveNode,
    f: {
      state: ExecNodeState;
      exit_code: number | null;
      error: string | null;
      truncated?: boolean;
      output_bytes?: number;
      tail?: string | null;
    },
  ): Promise<void> {
    if (node.done) return;
    node.done = true;
    clearTimeout(node.guard);
    node.session.release(node.ch);
    if (f.state === "interrupted") run.interrupted = true;
    const truncated = f.truncated ?? node.truncated;
    const execId = String(run.id);
    try {
      await this.#db.write((tx) =>
        finishExecResult(tx, run.id, node.nodeId, {
          state: f.state,
          exit_code: f.exit_code,
          output: node.chunks,
          truncated,
          output_bytes: f.output_bytes ?? node.bytes,
          tail: f.tail ?? null,
          error: f.error,
          finished_at: Date.now(),
        })
      );
    } catch (error) {
      logger.error("exec result not stored", { exec_id: execId, node_id: node.nodeId, error });
    }
    this.#bus.publish({
      type: "exec.exit",
      exec_id: execId,
      node_id: node.nodeId,
      state: f.state,
      exit_code: f.exit_code,
      truncated,
      error: f.error,
    });
    run.remaining--;
    if (run.remaining > 0) return;
    this.#live.delete(run.id);
    const state: ExecRunState = run.cancelled
      ? "cancelled"
      : run.interrupted
      ? "interrupted"
      : "done";
    await this.#db.write((tx) => finishExecRun(tx, run.id, state, Date.now())).catch((error) =>
      logger.error("exec run state not stored", { exec_id: execId, error })
    );
    this.#bus.publish({ type: "exec.finished", exec_id: execId, state });
    logger.info("exec finished", { exec_id: execId, state });
  }

  /** Asks every node still running to kill its process group. */
  async cancel(id: number, by: Principal): Promise<ExecInfo> {
    const stored = getExecRun(this.#db, id);
    if (!stored) throw new NotFound(`no exec ${id}: see GET /api/v1/exec`);
    const run = this.#live.get(id);
    if (!run || stored.state !== "running") {
      throw new Conflict(`exec ${id} is ${stored.state}: only a running exec can be cancelled`);
    }
    run.cancelled = true;
    const pending = [...run.nodes.values()].filter((n) => !n.done);
    for (const node of pending) {
      node.session.send({ type: "exec.cancel", ch: node.ch });
      clearTimeout(node.guard);
      node.guard = setTimeout(() =>
        this.#finishNode(run, node, {
          state: "cancelled",
          exit_code: null,
          error: "the agent did not confirm the cancel",
        }), CANCEL_GRACE_MS);
    }
    await recordAudit(this.#db, {
      actor: by,
      action: "exec.cancel",
      target: stored.nodes.join(",").slice(0, 1000),
      result: "ok",
      detail: { exec_id: String(id), nodes: pending.map((n) => n.nodeId) },
    });
    logger.info("exec cancel requested", { exec_id: String(id), by: by.name });
    return this.get(id)!;
  }

  /** Past runs, newest first, without output; the cursor is the last run's id. */
  list(q: { limit: number; cursor?: number; node?: string }): {
    runs: ExecInfo[];
    next_cursor: string | null;
  } {
    const runs = listExecRuns(this.#db, { limit: q.limit, before: q.cursor, node: q.node });
    return { runs, next_cursor: runs.length === q.limit ? runs.at(-1)!.id : null };
  }

  /** A run with every node's result; running nodes show the output received so far. */
  get(id: number): ExecInfo | undefined {
    const info = getExecRun(this.#db, id);
    const run = this.#live.get(id);
    if (!info || !run) return info;
    for (const r of info.results ?? []) {
      const node = run.nodes.get(r.node_id);
      if (!node || node.done) continue;
      r.output = node.chunks.map((c) => ({ ...c }));
      r.output_bytes = node.bytes;
      r.truncated = node.truncated;
    }
    return info;
  }

  /** Marks every live run interrupted (hub shutdown); resolves once stored. */
  async shutdown(): Promise<void> {
    const finishing: Promise<void>[] = [];
    for (const run of [...this.#live.values()]) {
      for (const node of run.nodes.values()) {
        finishing.push(this.#finishNode(run, node, {
          state: "interrupted",
          exit_code: null,
          error: "the hub stopped while this ran",
        }));
      }
    }
    await Promise.all(finishing);
  }
}
