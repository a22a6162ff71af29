/**
 * The job queue service: resolves submissions against fleet.yml templates, hands out jobs to
 * workers (with long-polling), checks that only the current lease holder reports, returns the jobs
 * a restarted agent no longer runs, sweeps expired leases (and, as a backstop, timeouts a live
 * worker failed to enforce), and announces every transition on the fleet stream. All state lives in
 * SQLite (jobs/store.ts); this module holds only the waiting claimers.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import { writeOp } from "../core/write_ops.ts";
import { type AuditActor, insertAudit } from "../core/store.ts";
import {
  cancelJob,
  type ClaimedRow,
  type Eligibility,
  type FinishedRow,
  getJobRow,
  insertJob,
  jobHistory,
  jobInfo,
  type JobRow,
  type JobTransition,
  listJobRows,
  type NewJob,
  type Outcome,
  retryJob,
  returnUnheldJobs,
  sweepJobs,
  TIMEOUT_GRACE_MS,
  type UnheldReturn,
} from "./store.ts";
import { getNodeRow } from "../fleet/store.ts";
import type { EventBus } from "../core/bus.ts";
import type { HubConfig } from "../core/config.ts";
import type {
  JobInfo,
  JobsRunningResult,
  JobState,
  JobSubmit,
  TemplateInfo,
} from "../../shared/protocol/mod.ts";
import { BadInput, Conflict, Forbidden, NotFound } from "../core/errors.ts";
import { getLogger } from "../../shared/log.ts";
import { parseSize } from "../../shared/duration.ts";

const logger = getLogger("queue");

/** Default timeout of a job without one (1 h). */
const DEFAULT_TIMEOUT_S = 3600;

/** The parsed form of a submission (defaults applied). */
export type ParsedSubmit = Omit<JobSubmit, "priority" | "max_attempts"> & {
  priority: number;
  max_attempts: number;
};

/** Queue operations for routes, CLI and the autoscaler. */
export class JobQueue {
  #db: Database;
  #bus: EventBus;
  #config: HubConfig;
  #waiters = new Set<() => void>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  /** Called with the duration (ms) of every claim attempt, committed (the hub's /metrics). */
  onClaimTimed: ((ms: number) => void) | undefined;

  constructor(db: Database, bus: EventBus, config: HubConfig) {
    this.#db = db;
    this.#bus = bus;
    this.#config = config;
  }
  /** The templates of fleet.yml, as the job and roamer dialogs list them. */
  templates(): TemplateInfo[] {
    const list = Object.entries(this.#config.inventory.templates).map(([name, t]) => ({
      name,
      executor: t.executor ?? (t.image ? "docker" as const : "process" as const),
      image: t.image ?? null,
      command: t.command ?? null,
      gpu: t.gpu,
      memory_b: t.memory ?? null,
      cpus: t.cpus ?? null,
      startup_s: t.startup_s ?? null,
      timeout_s: t.timeout === undefined ? null : Math.round(t.timeout / 1000),
    }));
    return list.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Starts the sweep of expired leases and timeouts. */
  start(): void {
    this.#timer = setInterval(() => {
      this.sweep().catch((error) => logger.error("sweep failed", { error }));
    }, this.#config.sweepMs);
  }

  /** Stops the sweep and releases every waiting claimer. */
  stop(): void {
    clearInterval(this.#timer);
    this.#stopped = true;
    this.#wake();
  }

  #announce(transitions: (JobTransition | undefined)[]): void {
    for (const t of transitions) {
      if (!t) continue;
      this.#bus.publish({ type: "job.state", ...t });
      if (t.state === "pending") this.#wake();
    }
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  /** Turns a submission into a job, applying its template; throws `BadInput` naming the field. */
  resolve(spec: ParsedSubmit): NewJob {
    const inv = this.#config.inventory;
    if (spec.cluster !== undefined && !inv.clusters.some((c) => c.id === spec.cluster)) {
      throw new BadInput(`unknown cluster ${spec.cluster}`, [
        {
          path: "cluster",
          message: `not in fleet.yml (known: ${
            inv.clusters.map((c) => c.id).join(", ") || "none"
          })`,
        },
      ]);
    }
    if (spec.node !== undefined && !getNodeRow(this.#db, spec.node)) {
      throw new BadInput(`unknown node ${spec.node}`, [{ path: "node", message: "no such node" }]);
    }
    // Validated at the edge: a size the limits accept.
    const memory = spec.memory === undefined ? undefined : parseSize(spec.memory);
    const base = {
      cluster: spec.cluster ?? null,
      node: spec.node ?? null,
      payload: spec.payload,
      priority: spec.priority,
      max_attempts: spec.max_attempts,
    };
    if (spec.template !== undefined) {
      const t = inv.templates[spec.template];
      if (!t) {
        throw new BadInput(`unknown template ${spec.template}`, [
          {
            path: "template",
            message: `not in fleet.yml (known: ${Object.keys(inv.templates).join(", ") || "none"})`,
          },
        ]);
      }
      return {
        ...base,
        template: spec.template,
        executor: t.executor ?? (t.image ? "docker" : "process"),
        image: spec.image ?? t.image ?? null,
        command: spec.command ?? t.command ?? null,
        env: { ...t.env, ...spec.env },
        mounts: t.mounts,
        gpu: spec.gpu ?? t.gpu,
        memory_b: memory ?? t.memory ?? null,
        cpus: spec.cpus ?? t.cpus ?? null,
        timeout_s: spec.timeout_s ?? (t.timeout ? Math.ceil(t.timeout / 1000) : DEFAULT_TIMEOUT_S),
      };
    }
    return {
      ...base,
      template: null,
      executor: spec.executor!,
      image: spec.image ?? null,
      command: spec.command ?? null,
      env: spec.env ?? {},
      mounts: [],
      gpu: spec.gpu ?? false,
      memory_b: memory ?? null,
      cpus: spec.cpus ?? null,
      timeout_s: spec.timeout_s ?? DEFAULT_TIMEOUT_S,
    };
  }

  /**
   * Enqueues a job; resolves once it is durable. With `by` (an operator, not the hub itself) the
   * submission is audited in the same transaction.
   */
  async submit(spec: ParsedSubmit, by?: AuditActor): Promise<JobRow> {
    const job = this.resolve(spec);
    const now = Date.now();
    const { row, transition } = await this.#db.write((tx) => {
      const added = insertJob(tx, job, now);
      if (by) {
        const command = Array.isArray(job.command) ? job.command.join(" ") : job.command;
        insertAudit(tx, {
          actor: by,
          action: "job.submit",
          target: String(added.row.id),
          result: "ok",
          detail: {
            template: job.template,
            executor: job.executor,
            image: job.image,
            command: command?.slice(0, 1000) ?? null,
            cluster: job.cluster,
            node: job.node,
            priority: job.priority,
          },
          at: now,
        });
      }
      return added;
    });
    this.#announce([transition]);
    return row;
  }

  /**
   * Decides which jobs a node may take; the roamer pool replaces it (it knows assignments).
   * By default: the node's cluster's jobs and jobs bound to no cluster.
   */
  eligibility: (nodeId: string) => Eligibility = (nodeId) => ({
    clusters: this.#config.inventory.clusters.filter((c) => c.nodes.includes(nodeId))
      .map((c) => c.id),
    templates: [],
    unscoped: true,
  });

  /** Wakes every waiting claimer (an assignment changed what some node may take). */
  nudge(): void {
    this.#wake();
  }

  /**
   * Claims a job for `nodeId`, waiting up to `waitMs` for one to arrive; `undefined` when none
   * came. Each attempt is one guarded UPDATE in the writer transaction: never two workers.
   */
  async claim(
    nodeId: string,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<ClaimedRow | undefined> {
    const deadline = Date.now() + waitMs;
    // Bounded: every pass either returns or waits for a wake-up or the deadline.
    for (;;) {
      const now = Date.now();
      const started = performance.now();
      // Eligibility is read here, not in the transaction: it is ordered before any write issued
      // after this claim (the writer lock), so the claim sees the assignment it was made under.
      const claimed = await writeOp(
        this.#db,
        "claimJob",
        nodeId,
        this.eligibility(nodeId),
        this.#config.jobLeaseMs,
        now,
      );
      this.onClaimTimed?.(performance.now() - started);
      if (claimed) {
        this.#announce([claimed.transition]);
        return claimed.row;
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted || this.#stopped) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
        signal?.addEventListener("abort", done);
      });
    }
  }

  async #guarded<T extends { transition?: JobTransition }>(
    id: number,
    write: Promise<T | undefined>,
    what: string,
  ): Promise<T> {
    const result = await write;
    if (!result) {
      const exists = getJobRow(this.#db, id);
      if (!exists) throw new NotFound(`no job ${id}`);
      throw new Conflict(
        `cannot ${what} job ${id}: it is ${exists.state}${
          what === "report on" ? " or held by another attempt" : ""
        }`,
      );
    }
    this.#announce([result.transition]);
    return result;
  }

  /** Extends the lease (and marks running); 409 when the caller lost the job. */
  heartbeat(
    id: number,
    nodeId: string,
    attempt: number,
    running: boolean,
    logTail?: string,
  ): Promise<{ row: JobRow }> {
    const now = Date.now();
    const lease = this.#config.jobLeaseMs;
    return this.#guarded(
      id,
      writeOp(this.#db, "heartbeatJob", id, nodeId, attempt, running, logTail, lease, now),
      "report on",
    );
  }

  /**
   * Ends the attempt; with `can` (what the node may take) it also claims the node's next job in
   * the same commit, without waiting. 409 when the caller lost the job; nothing is claimed then.
   */
  async finish(
    id: number,
    nodeId: string,
    attempt: number,
    outcome: Outcome,
    can: Eligibility | undefined,
  ): Promise<{ row: FinishedRow; next?: ClaimedRow }> {
    const now = Date.now();
    const started = performance.now();
    const op = writeOp(
      this.#db,
      "finishJobClaimNext",
      id,
      nodeId,
      attempt,
      outcome,
      can ?? null,
      this.#config.jobLeaseMs,
      now,
    );
    const result = await this.#guarded(id, op, "report on");
    // The claim attempt counts in the claim metric, its time being the report's and the claim's.
    if (can) this.onClaimTimed?.(performance.now() - started);
    if (result.next) this.#announce([result.next.transition]);
    return { row: result.row, next: result.next?.row };
  }

  /** Cancels an unfinished job (audited as `by`); its worker learns it on its next heartbeat. */
  cancel(id: number, by: AuditActor): Promise<{ row: JobRow }> {
    const now = Date.now();
    return this.#guarded(
      id,
      this.#db.write((tx) => this.#audited(tx, cancelJob(tx, id, now), "cancel", by)),
      "cancel",
    );
  }

  /** Re-queues a failed or cancelled job (audited as `by`). */
  retry(id: number, by: AuditActor): Promise<{ row: JobRow }> {
    const now = Date.now();
    return this.#guarded(
      id,
      this.#db.write((tx) => this.#audited(tx, retryJob(tx, id, now), "retry", by)),
      "retry",
    );
  }

  /** Records an operator's change of a job in its own transaction; a refused change is not one. */
  #audited<T extends { row: JobRow } | undefined>(
    tx: Database,
    result: T,
    action: "cancel" | "retry",
    by: AuditActor,
  ): T {
    if (result) {
      insertAudit(tx, {
        actor: by,
        action: `job.${action}`,
        target: String(result.row.id),
        result: "ok",
        detail: { state: result.row.state, attempts: result.row.attempts },
      });
    }
    return result;
  }

  /** Jobs, newest first, filtered; the cursor is the last job's id. */
  list(q: {
    state?: JobState;
    cluster?: string;
    node?: string;
    limit: number;
    cursor?: number;
  }): { jobs: JobInfo[]; next_cursor: string | null } {
    const rows = listJobRows(this.#db, { ...q, before: q.cursor });
    const next = rows.length === q.limit ? String(rows.at(-1)!.id) : null;
    return { jobs: rows.map(jobInfo), next_cursor: next };
  }

  /** One job with its history. */
  info(id: number): JobInfo {
    const row = getJobRow(this.#db, id);
    if (!row) throw new NotFound(`no job ${id}: see GET /api/v1/jobs`);
    return { ...jobInfo(row), history: jobHistory(this.#db, id) };
  }

  /**
   * What a restarted agent says it runs (`node_id`, when given, must be its own); the node's
   * other jobs return to the queue.
   */
  async reportRunning(
    nodeId: string,
    report: { job_ids: string[]; node_id?: string },
  ): Promise<JobsRunningResult> {
    if (report.node_id !== undefined && report.node_id !== nodeId) {
      throw new Forbidden(`node_id: this token belongs to node ${nodeId}, not ${report.node_id}`);
    }
    const r = await this.reconcile(nodeId, report.job_ids.map(Number));
    return {
      kept: r.kept.map(String),
      returned: r.returned.map(String),
      unknown: r.unknown.map(String),
    };
  }

  /**
   * A node's agent reports the jobs it really runs; every other job the node holds returns to
   * the queue at once (attempt counted), so a restarted agent's jobs do not wait for their lease.
   */
  async reconcile(nodeId: string, running: readonly number[]): Promise<UnheldReturn> {
    const now = Date.now();
    const result = await this.#db.write((tx) => returnUnheldJobs(tx, nodeId, running, now));
    for (const t of result.transitions) {
      logger.warn("job returned: its agent restarted", {
        job_id: t.job_id,
        node_id: nodeId,
        state: t.state,
        attempt: t.attempt,
      });
    }
    this.#announce(result.transitions);
    return result;
  }

  /** One sweep round now. */
  async sweep(now = Date.now()): Promise<number> {
    const options = { leaseMs: this.#config.jobLeaseMs, timeoutGraceMs: TIMEOUT_GRACE_MS };
    const transitions = await this.#db.write((tx) => sweepJobs(tx, now, options));
    for (const t of transitions) {
      logger.warn("job returned by sweep", { job_id: t.job_id, state: t.state, detail: t.detail });
    }
    this.#announce(transitions);
    return transitions.length;
  }
}
