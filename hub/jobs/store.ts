/**
 * The job queue's tables. Every change is one statement guarded by the state it
 * expects (`WHERE state = 'pending'`, `AND claimed_by = ? AND attempts = ?`), run inside the
 * hub's single writer transaction, so a job can never be handed to two workers and a stale
 * worker can never finish a job it lost. Each transition is also written to `job_events`.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type {
  AssignMode,
  JobCommand,
  JobInfo,
  JobSpec,
  JobState,
  Mount,
  RoamerState,
} from "../../shared/protocol/mod.ts";

/** A row of `jobs`. */
export interface JobRow {
  id: number;
  state: JobState;
  template: string | null;
  executor: "process" | "docker";
  image: string | null;
  command: string | null;
  env: string;
  mounts: string;
  gpu: number;
  memory_b: number | null;
  cpus: number | null;
  cluster: string | null;
  node: string | null;
  payload: string | null;
  priority: number;
  max_attempts: number;
  attempts: number;
  timeout_s: number;
  claimed_by: string | null;
  lease_expires_at: number | null;
  created_at: number;
  claimed_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  result: string | null;
  error: string | null;
  exit_code: number | null;
  log_tail: string | null;
}

/** One state change, for the live stream. */
export interface JobTransition {
  job_id: string;
  state: JobState;
  previous: JobState | null;
  node: string | null;
  attempt: number;
  detail: string | null;
}

/** A new job, resolved from a submission and its template. */
export interface NewJob {
  template: string | null;
  executor: "process" | "docker";
  image: string | null;
  command: JobCommand | null;
  env: Record<string, string>;
  mounts: Mount[];
  gpu: boolean;
  /** Resource limits; absent = none. */
  memory_b?: number | null;
  cpus?: number | null;
  cluster: string | null;
  node: string | null;
  payload: unknown;
  priority: number;
  max_attempts: number;
  timeout_s: number;
}

/** Jobs in these states are finished and never change again (but for an explicit retry). */
export const TERMINAL: readonly JobState[] = ["done", "failed", "cancelled"];

function json(v: unknown): string | null {
  return v === undefined ? null : JSON.stringify(v);
}

function parse(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

function record(
  db: Database,
  row: FinishedRow,
  previous: JobState | null,
  now: number,
  detail: string | null,
): JobTransition {
  const node = row.claimed_by ?? row.node;
  db.run(
    "INSERT INTO job_events (job_id, at, state, attempt, node, detail) VALUES (?, ?, ?, ?, ?, ?)",
    row.id,
    now,
    row.state,
    row.attempts,
    node,
    detail,
  );
  return {
    job_id: String(row.id),
    state: row.state,
    previous,
    node,
    attempt: row.attempts,
    detail,
  };
}

/** Adds a pending job. */
export function insertJob(
  db: Database,
  job: NewJob,
  now: number,
): { row: JobRow; transition: JobTransition } {
  const row = db.get<JobRow>(
    `INSERT INTO jobs (state, template, executor, image, command, env, mounts, gpu, cluster, node,
                       payload, priority, max_attempts, timeout_s, created_at, memory_b, cpus)
     VALUES ('pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    job.template,
    job.executor,
    job.image,
    json(job.command),
    JSON.stringify(job.env),
    JSON.stringify(job.mounts),
    job.gpu ? 1 : 0,
    job.cluster,
    job.node,
    json(job.payload),
    job.priority,
    job.max_attempts,
    job.timeout_s,
    now,
    job.memory_b ?? null,
    job.cpus ?? null,
  )!;
  return { row, transition: record(db, row, null, now, null) };
}

// Only the columns used are returned: a row becomes an object column by column, and all 26 made
// the claim statement ~55 % slower than its id alone (16: ~33 %). The lists define the types.
const CLAIMED = [
  "id",
  "state",
  "executor",
  "image",
  "command",
  "env",
  "mounts",
  "gpu",
  "memory_b",
  "cpus",
  "timeout_s",
  "payload",
  "attempts",
  "lease_expires_at",
  "claimed_by",
  "node",
] as const satisfies readonly (keyof JobRow)[];
const FINISHED = ["id", "state", "attempts", "claimed_by", "node"] as const satisfies readonly (
  keyof JobRow
)[];
// A finish also reads started_at, to tell the state it ended from (see finishJob).
const FINISH_RETURNS = [...FINISHED, "started_at"] as const;

/** What a claim hands its worker ({@link jobSpec}) and records. */
export type ClaimedRow = Pick<JobRow, typeof CLAIMED[number]>;

/** What a finished attempt's answer and its recorded transition read. */
export type FinishedRow = Pick<JobRow, typeof FINISHED[number]>;

/** The claim statement (exported so a test can check its query plan). */
export const CLAIM_SQL =
  `UPDATE jobs SET state = 'claimed', claimed_by = ?1, attempts = attempts + 1,
            lease_expires_at = ?2, claimed_at = ?3, started_at = NULL, error = NULL
     WHERE id = (
       SELECT id FROM jobs INDEXED BY jobs_pending WHERE state = 'pending' AND id != ?7
         AND (node = ?1 OR (node IS NULL AND (
              (cluster IS NULL AND ?5)
              OR cluster IN (SELECT value FROM json_each(?4))
              OR template IN (SELECT value FROM json_each(?6)))))
       ORDER BY priority DESC, id LIMIT 1)
     RETURNING ${CLAIMED.join(", ")}`;

/** Which jobs a node may take. */
export interface Eligibility {
  /** Clusters whose jobs it runs (its own, or the one a roamer serves). */
  clusters: readonly string[];
  /** Templates whose jobs it runs (a roamer assigned to a template). */
  templates: readonly string[];
  /** It also takes jobs bound to no cluster (dedicated and unassigned nodes; not roamers). */
  unscoped: boolean;
}

/**
 * Claims the best pending job `nodeId` may run: jobs for it by name, then what `can` allows;
 * highest priority first, oldest first within a priority; never job `notId`. `INDEXED BY` pins
 * the walk of the pending index: left to itself the planner sorted every pending row on each
 * claim (3 ms at 20,000 pending, against 3 µs).
 */
export function claimJob(
  db: Database,
  nodeId: string,
  can: Eligibility,
  leaseMs: number,
  now: number,
  notId = 0,
): { row: ClaimedRow; transition: JobTransition } | undefined {
  const row = db.get<ClaimedRow>(
    CLAIM_SQL,
    nodeId,
    now + leaseMs,
    now,
    JSON.stringify(can.clusters),
    can.unscoped ? 1 : 0,
    JSON.stringify(can.templates),
    notId,
  );
  return row ? { row, transition: record(db, row, "pending", now, null) } : undefined;
}

/** Jobs not finished, per cluster and template (queue depth for the autoscaler and overview). */
export function activeJobCounts(
  db: Database,
): { cluster: string | null; template: string | null; state: JobState; n: number }[] {
  return db.all(
    `SELECT cluster, template, state, count(*) AS n FROM jobs
     WHERE state IN ('pending', 'claimed', 'running') GROUP BY cluster, template, state`,
  );
}

/**
 * Extends the lease of a job held by `nodeId` at `attempt` (and marks it running); `undefined`
 * when the caller no longer holds it (lease lost, cancelled, finished).
 */
export function heartbeatJob(
  db: Database,
  id: number,
  nodeId: string,
  attempt: number,
  running: boolean,
  logTail: string | undefined,
  leaseMs: number,
  now: number,
): { row: JobRow; transition?: JobTransition } | undefined {
  const before = db.get<{ state: JobState }>("SELECT state FROM jobs WHERE id = ?", id);
  const row = db.get<JobRow>(
    `UPDATE jobs SET lease_expires_at = ?,
            state = CASE WHEN ? THEN 'running' ELSE state END,
            started_at = CASE WHEN ? THEN coalesce(started_at, ?) ELSE started_at END,
            log_tail = coalesce(?, log_tail)
     WHERE id = ? AND claimed_by = ? AND attempts = ? AND state IN ('claimed', 'running')
     RETURNING *`,
    now + leaseMs,
    running ? 1 : 0,
    running ? 1 : 0,
    now,
    logTail ?? null,
    id,
    nodeId,
    attempt,
  );
  if (!row) return undefined;
  const transition = before && before.state !== row.state
    ? record(db, row, before.state, now, null)
    : undefined;
  return { row, transition };
}

/** How a worker says a run ended. */
export type Outcome =
  | { ok: true; result?: unknown; exit_code?: number; log_tail?: string }
  | { ok: false; error: string; exit_code?: number; log_tail?: string };

/** An attempt's end: done, back to pending, or failed for good. */
const FINISH_SQL = `UPDATE jobs SET
     state = CASE WHEN ?1 THEN 'done' WHEN attempts >= max_attempts THEN 'failed'
                  ELSE 'pending' END,
     result = ?2, error = ?3, exit_code = ?4, log_tail = coalesce(?5, log_tail),
     finished_at = CASE WHEN ?1 OR attempts >= max_attempts THEN ?6 ELSE NULL END,
     claimed_by = CASE WHEN ?1 OR attempts >= max_attempts THEN claimed_by ELSE NULL END,
     lease_expires_at = NULL
   WHERE id = ?7 AND claimed_by = ?8 AND attempts = ?9 AND state IN ('claimed', 'running')
   RETURNING ${FINISH_RETURNS.join(", ")}`;

/**
 * Finishes the current attempt of a job held by `nodeId`. A failure goes back to the queue
 * until `max_attempts` is reached, then the job is `failed` and kept for review. `undefined`
 * when the caller no longer holds the job.
 */
export function finishJob(
  db: Database,
  id: number,
  nodeId: string,
  attempt: number,
  outcome: Outcome,
  now: number,
): { row: FinishedRow; transition: JobTransition } | undefined {
  const row = db.get<Pick<JobRow, typeof FINISH_RETURNS[number]>>(
    FINISH_SQL,
    outcome.ok ? 1 : 0,
    outcome.ok ? json(outcome.result) : null,
    outcome.ok ? null : outcome.error,
    outcome.exit_code ?? null,
    outcome.log_tail ?? null,
    now,
    id,
    nodeId,
    attempt,
  );
  if (!row) return undefined;
  // What it was: a claim becomes 'running' exactly when started_at is set (heartbeat), and the
  // update above leaves started_at as it was, so no read before it is needed.
  const before: JobState = row.started_at === null ? "claimed" : "running";
  const detail = outcome.ok ? null : outcome.error;
  return { row, transition: record(db, row, before, now, detail) };
}

/**
 * Ends an attempt ({@link finishJob}) and, in the same transaction, claims the node's next job
 * ({@link claimJob}) when `can` is given: a worker's report and its next claim in one commit. The
 * job just reported is not the next one, even when a failed attempt returned it to the queue.
 * `undefined` when the report is refused; nothing is claimed then.
 */
export function finishJobClaimNext(
  db: Database,
  id: number,
  nodeId: string,
  attempt: number,
  outcome: Outcome,
  can: Eligibility | null,
  leaseMs: number,
  now: number,
):
  | {
    row: FinishedRow;
    transition: JobTransition;
    next?: { row: ClaimedRow; transition: JobTransition };
  }
  | undefined {
  const finished = finishJob(db, id, nodeId, attempt, outcome, now);
  if (!finished || !can) return finished;
  // A failed attempt back in the queue goes to another worker, not straight back to this one.
  return { ...finished, next: claimJob(db, nodeId, can, leaseMs, now, id) };
}

/** Cancels a job that has not finished; `undefined` if it already has (or does not exist). */
export function cancelJob(
  db: Database,
  id: number,
  now: number,
): { row: JobRow; transition: JobTransition } | undefined {
  const before = db.get<{ state: JobState }>("SELECT state FROM jobs WHERE id = ?", id);
  const row = db.get<JobRow>(
    `UPDATE jobs SET state = 'cancelled', finished_at = ?, lease_expires_at = NULL
     WHERE id = ? AND state IN ('pending', 'claimed', 'running') RETURNING *`,
    now,
    id,
  );
  return row ? { row, transition: record(db, row, before!.state, now, "cancelled") } : undefined;
}

/** Puts a failed or cancelled job back in the queue with fresh attempts. */
export function retryJob(
  db: Database,
  id: number,
  now: number,
): { row: JobRow; transition: JobTransition } | undefined {
  const before = db.get<{ state: JobState }>("SELECT state FROM jobs WHERE id = ?", id);
  const row = db.get<JobRow>(
    `UPDATE jobs SET state = 'pending', attempts = 0, claimed_by = NULL, lease_expires_at = NULL,
            claimed_at = NULL, started_at = NULL, finished_at = NULL, error = NULL,
            result = NULL, exit_code = NULL
     WHERE id = ? AND state IN ('failed', 'cancelled') RETURNING *`,
    id,
  );
  return row ? { row, transition: record(db, row, before!.state, now, "retry") } : undefined;
}

/** How the sweep judges leases and timeouts. */
export interface SweepOptions {
  /** The lease a heartbeat grants (to tell when the worker last spoke). */
  leaseMs: number;
  /**
   * How long past its timeout a job may run on a worker that still heartbeats before the hub
   * fails it itself; the worker enforces `timeout_s`, this is only a backstop.
   */
  timeoutGraceMs: number;
  /** Most jobs changed per kind per round. */
  limit?: number;
}

/** Default {@link SweepOptions.timeoutGraceMs}: the worker's kill grace and report retries. */
export const TIMEOUT_GRACE_MS = 60_000;

/**
 * Returns jobs whose lease expired to the queue (counting the attempt; past `max_attempts` they
 * fail) — a silent worker is never reported as a timeout. Then, as a backstop, fails running
 * jobs whose worker is demonstrably alive (it renewed the lease more than the grace after the
 * job's deadline) yet never reported the timeout it should have enforced. Returns the
 * transitions made.
 */
export function sweepJobs(db: Database, now: number, options: SweepOptions): JobTransition[] {
  const limit = options.limit ?? 500;
  const out: JobTransition[] = [];
  const expired = db.all<JobRow>(
    `SELECT * FROM jobs WHERE state IN ('claimed', 'running') AND lease_expires_at < ? LIMIT ?`,
    now,
    limit,
  );
  for (const old of expired) {
    const row = db.get<JobRow>(
      `UPDATE jobs SET
         state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
         error = 'lease expired: worker ' || claimed_by || ' went silent',
         finished_at = CASE WHEN attempts >= max_attempts THEN ? ELSE NULL END,
         claimed_by = CASE WHEN attempts >= max_attempts THEN claimed_by ELSE NULL END,
         lease_expires_at = NULL
       WHERE id = ? AND state = ? AND attempts = ? RETURNING *`,
      now,
      old.id,
      old.state,
      old.attempts,
    );
    if (row) out.push(record(db, row, old.state, now, `lease expired on ${old.claimed_by}`));
  }
  // The last heartbeat is lease_expires_at - leaseMs: only a worker that spoke well after the
  // deadline counts as alive-but-stuck; one that died before then is left to its lease.
  const overdue = db.all<JobRow>(
    `SELECT * FROM jobs WHERE state = 'running' AND lease_expires_at >= ?1
       AND lease_expires_at - ?2 > started_at + timeout_s * 1000 + ?3 LIMIT ?4`,
    now,
    options.leaseMs,
    options.timeoutGraceMs,
    limit,
  );
  for (const old of overdue) {
    // Failed, not re-queued: the hub cannot know that the stuck run has stopped.
    const error = `timed out after ${old.timeout_s} s: worker ${old.claimed_by} did not stop ` +
      `it within ${Math.round(options.timeoutGraceMs / 1000)} s`;
    const row = db.get<JobRow>(
      `UPDATE jobs SET state = 'failed', error = ?, finished_at = ?, lease_expires_at = NULL
       WHERE id = ? AND state = 'running' AND attempts = ? AND lease_expires_at >= ?
       RETURNING *`,
      error,
      now,
      old.id,
      old.attempts,
      now,
    );
    if (row) out.push(record(db, row, "running", now, error));
  }
  return out;
}

/** What {@link returnUnheldJobs} did. */
export interface UnheldReturn {
  /** Reported jobs the node holds (left as they are). */
  kept: number[];
  /** Jobs the node held but does not run, returned to the queue (or failed). */
  returned: number[];
  /** Reported jobs the node does not hold. */
  unknown: number[];
  transitions: JobTransition[];
}

/**
 * A node's agent says which jobs it really runs (after a restart or reconnect): every other job
 * held by the node as claimed or running goes back to the queue at once, its attempt counted
 * (past `max_attempts` it fails), instead of waiting for its lease.
 */
export function returnUnheldJobs(
  db: Database,
  nodeId: string,
  running: readonly number[],
  now: number,
): UnheldReturn {
  const held = db.all<JobRow>(
    `SELECT * FROM jobs WHERE state IN ('claimed', 'running') AND claimed_by = ?`,
    nodeId,
  );
  const reported = new Set(running);
  const out: UnheldReturn = { kept: [], returned: [], unknown: [], transitions: [] };
  for (const old of held) {
    if (reported.has(old.id)) {
      out.kept.push(old.id);
      continue;
    }
    const row = db.get<JobRow>(
      `UPDATE jobs SET
         state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
         error = 'agent restarted: worker ' || claimed_by || ' no longer runs it',
         finished_at = CASE WHEN attempts >= max_attempts THEN ?1 ELSE NULL END,
         claimed_by = CASE WHEN attempts >= max_attempts THEN claimed_by ELSE NULL END,
         lease_expires_at = NULL
       WHERE id = ?2 AND state = ?3 AND attempts = ?4 AND claimed_by = ?5 RETURNING *`,
      now,
      old.id,
      old.state,
      old.attempts,
      nodeId,
    );
    if (!row) continue;
    out.returned.push(old.id);
    out.transitions.push(record(db, row, old.state, now, `agent restarted on ${nodeId}`));
  }
  const holds = new Set(out.kept);
  out.unknown = [...reported].filter((id) => !holds.has(id));
  return out;
}

/** One job. */
export function getJobRow(db: Database, id: number): JobRow | undefined {
  return db.get<JobRow>("SELECT * FROM jobs WHERE id = ?", id);
}

/** Jobs, newest first, filtered; `before` is the id to page after. */
export function listJobRows(
  db: Database,
  filter: { state?: JobState; cluster?: string; node?: string; limit: number; before?: number },
): JobRow[] {
  return db.all<JobRow>(
    `SELECT * FROM jobs
     WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR cluster = ?2)
       AND (?3 IS NULL OR node = ?3 OR claimed_by = ?3) AND (?4 IS NULL OR id < ?4)
     ORDER BY id DESC LIMIT ?5`,
    filter.state ?? null,
    filter.cluster ?? null,
    filter.node ?? null,
    filter.before ?? null,
    filter.limit,
  );
}

/** The transitions of a job, oldest first. */
export function jobHistory(db: Database, id: number): NonNullable<JobInfo["history"]> {
  return db.all<{ state: JobState; at: number; node: string | null; detail: string | null }>(
    "SELECT state, at, node, detail FROM job_events WHERE job_id = ? ORDER BY at, rowid",
    id,
  );
}

/** The API form of a row. */
export function jobInfo(row: JobRow): JobInfo {
  return {
    id: String(row.id),
    state: row.state,
    template: row.template,
    executor: row.executor,
    image: row.image,
    command: parse(row.command) as JobCommand | null,
    cluster: row.cluster,
    node: row.node,
    priority: row.priority,
    attempts: row.attempts,
    max_attempts: row.max_attempts,
    timeout_s: row.timeout_s,
    memory_b: row.memory_b,
    cpus: row.cpus,
    gpu: row.gpu === 1,
    claimed_by: row.claimed_by,
    lease_expires_at: row.lease_expires_at,
    created_at: row.created_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
    payload: parse(row.payload),
    result: parse(row.result),
    error: row.error,
    exit_code: row.exit_code,
    log_tail: row.log_tail,
  };
}

/** What the claiming worker receives. */
export function jobSpec(row: ClaimedRow): JobSpec {
  return {
    id: String(row.id),
    attempt: row.attempts,
    lease_expires_at: row.lease_expires_at!,
    executor: row.executor,
    image: row.image,
    command: parse(row.command) as JobCommand | null,
    env: JSON.parse(row.env),
    mounts: JSON.parse(row.mounts),
    gpu: row.gpu === 1,
    memory_b: row.memory_b,
    cpus: row.cpus,
    timeout_s: row.timeout_s,
    payload: parse(row.payload),
  };
}

/** A row of `roamers`. */
export interface RoamerRow {
  node_id: string;
  state: RoamerState;
  cluster: string | null;
  template: string | null;
  mode: AssignMode | null;
  until: number | null;
  assigned_by: string | null;
  assigned_at: number | null;
  release_requested: number;
  state_at: number;
  detail: string | null;
  /** JSON {image, command, env, gpu} of a custom-image assignment. */
  custom: string | null;
}

/**
 * Which reported states may follow which (the agent drives PROVISIONING → RUNNING → CLEANUP →
 * IDLE; the hub drives IDLE → ASSIGNED and releases).
 */
export const REPORTED_FROM: Record<string, readonly RoamerState[]> = {
  PROVISIONING: ["ASSIGNED", "PROVISIONING"],
  RUNNING: ["PROVISIONING"],
  CLEANUP: ["ASSIGNED", "PROVISIONING", "RUNNING"],
  IDLE: ["CLEANUP"],
  FAILED: ["ASSIGNED", "PROVISIONING", "RUNNING", "CLEANUP"],
};

/** Creates rows for roamers not yet known (from fleet.yml). */
export function ensureRoamers(db: Database, ids: readonly string[], now: number): void {
  for (const id of ids) {
    db.run(
      "INSERT OR IGNORE INTO roamers (node_id, state, state_at) VALUES (?, 'IDLE', ?)",
      id,
      now,
    );
  }
}

/** Every roamer row. */
export function listRoamerRows(db: Database): RoamerRow[] {
  return db.all<RoamerRow>("SELECT * FROM roamers ORDER BY node_id");
}

/** One roamer row. */
export function getRoamerRow(db: Database, id: string): RoamerRow | undefined {
  return db.get<RoamerRow>("SELECT * FROM roamers WHERE node_id = ?", id);
}

/** IDLE → ASSIGNED; `undefined` unless the roamer was IDLE. */
export function assignRoamer(
  db: Database,
  id: string,
  a: {
    cluster: string | null;
    template: string | null;
    custom: string | null;
    mode: AssignMode;
    until: number | null;
    by: string;
  },
  now: number,
): RoamerRow | undefined {
  return db.get<RoamerRow>(
    `UPDATE roamers SET state = 'ASSIGNED', cluster = ?, template = ?, custom = ?, mode = ?,
            until = ?, assigned_by = ?, assigned_at = ?, release_requested = 0, state_at = ?,
            detail = NULL
     WHERE node_id = ? AND state = 'IDLE' RETURNING *`,
    a.cluster,
    a.template,
    a.custom,
    a.mode,
    a.until,
    a.by,
    now,
    now,
    id,
  );
}

/**
 * Releases a roamer: one that never started goes straight back to IDLE (so does a FAILED one,
 * which is the operator's acknowledgement); one that is provisioning or running is asked to clean
 * up. `undefined` when there is nothing to release.
 */
export function releaseRoamer(
  db: Database,
  id: string,
  reason: string,
  now: number,
): RoamerRow | undefined {
  return db.get<RoamerRow>(
    `UPDATE roamers SET
       state = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN 'IDLE' ELSE state END,
       cluster = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN NULL ELSE cluster END,
       template = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN NULL ELSE template END,
       custom = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN NULL ELSE custom END,
       mode = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN NULL ELSE mode END,
       release_requested = CASE WHEN state IN ('PROVISIONING', 'RUNNING') THEN 1 ELSE 0 END,
       state_at = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN ? ELSE state_at END,
       detail = ?
     WHERE node_id = ? AND (state IN ('ASSIGNED', 'FAILED')
       OR (state IN ('PROVISIONING', 'RUNNING') AND release_requested = 0))
     RETURNING *`,
    now,
    reason,
    id,
  );
}

/** A state the roamer reports; `undefined` when the transition is not allowed from its state. */
export function reportRoamer(
  db: Database,
  id: string,
  state: RoamerState,
  detail: string | null,
  now: number,
): RoamerRow | undefined {
  const from = REPORTED_FROM[state] ?? [];
  const idle = state === "IDLE";
  return db.get<RoamerRow>(
    `UPDATE roamers SET state = ?, state_at = ?, detail = ?,
       release_requested = CASE WHEN ? THEN 0 ELSE release_requested END,
       cluster = CASE WHEN ? THEN NULL ELSE cluster END,
       template = CASE WHEN ? THEN NULL ELSE template END,
       custom = CASE WHEN ? THEN NULL ELSE custom END,
       mode = CASE WHEN ? THEN NULL ELSE mode END
     WHERE node_id = ? AND state IN (SELECT value FROM json_each(?)) RETURNING *`,
    state,
    now,
    detail,
    idle ? 1 : 0,
    idle ? 1 : 0,
    idle ? 1 : 0,
    idle ? 1 : 0,
    idle ? 1 : 0,
    id,
    JSON.stringify(from),
  );
}
