/**
 * The agent's job worker: claims a job for this node (long-poll), marks it running, runs it with
 * the matching executor while heartbeating its lease, and reports the result. When the hub
 * answers a heartbeat with 409 (job cancelled, or the lease was lost and the job handed to
 * another worker) the run is stopped and not reported: the hub already moved on.
 *
 * Each run is recorded in `<stateDir>/running` before it starts (agent/worker/ledger.ts). When
 * the worker starts it first kills whatever a killed agent left running, then tells the hub which
 * jobs it really runs (none, after a restart; again after every reconnect), so the hub returns
 * the rest to the queue at once instead of after their lease — and only then claims.
 *
 * @module
 */
import { join } from "../../shared/join_path.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import type { ClaimAnswer, JobReportAnswer, JobSpec } from "../../shared/protocol/mod.ts";
import type { ExecResult, Executor } from "./executor.ts";
import { OutputTail } from "./process.ts";
import { JobLedger, type JobRecord, reapLeftovers } from "./ledger.ts";
import { backoffDelay, sleep } from "../../shared/backoff.ts";
import { getLogger } from "../../shared/log.ts";
import { lazyImport } from "../../shared/lazy_import.ts";

const logger = getLogger("worker");

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  hub: string;
  token: string;
  /** Job temp dirs are made under `<stateDir>/jobs`. */
  stateDir: string;
  executors: Partial<Record<JobSpec["executor"], Executor>>;
  signal: AbortSignal;
  /** Long-poll wait per claim (default 20 s). */
  claimWaitS?: number;
  /** Most output kept and sent with the result (default 64 KiB). */
  outputCapBytes?: number;
  /** Docker socket for roamer provisioning and cleanup (undefined: no Docker on this node). */
  dockerSocket?: string;
}

/**
 * What {@link report} did: the hub's answer if one came, and whether an earlier attempt may have
 * reached the hub with its answer lost (the caller then says again what it runs before claiming).
 */
interface Reported {
  answer?: JobReportAnswer;
  uncertain: boolean;
}

/**
 * Reports with a few retries; after that the lease runs out and the hub re-queues the job.
 * `fn(first)` sends the report; only the first attempt may claim the next job, so a retry after a
 * lost answer never holds a job the worker does not know about beyond the next reconcile.
 */
async function report(
  fn: (first: boolean) => Promise<JobReportAnswer>,
  what: string,
  signal: AbortSignal,
): Promise<Reported> {
  let uncertain = false;
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      return { answer: await fn(attempt === 1), uncertain };
    } catch (error) {
      // A hub from before `claim_next` refuses the field (400, nothing written): send it again
      // without it, so the result is not lost.
      if (error instanceof ApiError && error.status === 400 && attempt === 1) continue;
      if (error instanceof ApiError && error.status < 500) {
        logger.warn(`hub refused ${what}`, { detail: error.message });
        return { uncertain };
      }
      uncertain = true;
      if (attempt === 5) {
        logger.error(`could not ${what}; the job will run again after its lease`, { error });
        return { uncertain };
      }
      await sleep(backoffDelay(attempt - 1, { baseMs: 500, jitter: "equal" }), signal);
    }
  }
  return { uncertain };
}

/** How a run ended for the worker loop: the next job if the report claimed one. */
interface RunEnd {
  next?: ClaimAnswer;
  /** A report's answer may have been lost: reconcile before the next claim. */
  uncertain: boolean;
}

/** What the worker keeps across jobs. */
interface WorkerState {
  ledger: JobLedger;
  /** Jobs running now (told to the hub when it asks after a reconnect). */
  active: Set<string>;
}

async function runOne(
  api: ApiClient,
  job: JobSpec,
  options: WorkerOptions,
  state: WorkerState,
): Promise<RunEnd> {
  const log = { job_id: job.id, attempt: job.attempt, executor: job.executor };
  const executor = options.executors[job.executor];
  if (!executor) {
    const r = await report(
      () =>
        api.reportJob(job.id, "fail", {
          attempt: job.attempt,
          error: `this node cannot run ${job.executor} jobs`,
        }),
      "report the failure",
      options.signal,
    );
    return { uncertain: r.uncertain };
  }
  try {
    await api.heartbeatJob(job.id, { attempt: job.attempt, running: true });
  } catch (error) {
    logger.warn("lost the job before it started", { ...log, error });
    return { uncertain: false };
  }
  logger.info("job started", log);
  const stop = new AbortController();
  const onAgentStop = () => stop.abort();
  options.signal.addEventListener("abort", onAgentStop, { once: true });
  let lost = false;
  const tail = new OutputTail(4096);
  const leaseMs = Math.max(1000, job.lease_expires_at - Date.now());
  const beat = setInterval(async () => {
    try {
      await api.heartbeatJob(job.id, { attempt: job.attempt, log_tail: tail.toString() });
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        lost = true;
        logger.warn("hub took the job back (cancelled or lease lost); stopping it", {
          ...log,
          detail: error.message,
        });
        stop.abort();
      }
    }
    // At least every 5 s, so a cancel reaches the job quickly even with a long lease.
  }, Math.max(200, Math.min(5000, Math.floor(leaseMs / 3))));
  const tempDir = join(options.stateDir, "jobs", `${job.id}-${job.attempt}`);
  let result: ExecResult;
  let record: JobRecord | undefined;
  state.active.add(job.id);
  try {
    await Deno.mkdir(tempDir, { recursive: true, mode: 0o700 });
    try {
      // Written before the run starts: without it a killed agent could leave the run behind.
      record = state.ledger.begin(job);
      const r = record;
      result = await executor.run(job, {
        signal: stop.signal,
        tempDir,
        outputCapBytes: options.outputCapBytes,
        onOutput: (text) => tail.push(text),
        tag: r.tag,
        onHandle: (handle) => state.ledger.update(r, handle),
      });
    } catch (error) {
      // The executor could not run anything (e.g. Docker is down): a failed attempt.
      const now = Date.now();
      result = {
        exit_code: null,
        timed_out: false,
        cancelled: false,
        output: tail.toString(),
        truncated: false,
        error: error instanceof Error ? error.message : String(error),
        started_at: now,
        ended_at: now,
      };
    }
  } finally {
    clearInterval(beat);
    options.signal.removeEventListener("abort", onAgentStop);
    // The run is over: the executor killed its process group or removed its container.
    if (record) state.ledger.end(record);
    state.active.delete(job.id);
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
  if (lost) return { uncertain: false };
  if (result.cancelled && options.signal.aborted) {
    // The agent is stopping: the job returns to the queue when the restarted agent reports what
    // it runs, or after its lease if the agent does not come back.
    logger.warn("agent stopping; job left to its lease", log);
    return { uncertain: false };
  }
  const ok = result.exit_code === 0 && !result.error && !result.oom_killed;
  const unenforced = result.limits_not_enforced
    ? `limits not enforced: ${result.limits_not_enforced}`
    : undefined;
  const body = {
    attempt: job.attempt,
    exit_code: result.exit_code ?? undefined,
    log_tail: result.output.slice(-65_536),
  };
  logger.info(ok ? "job done" : "job failed", {
    ...log,
    exit_code: result.exit_code,
    timed_out: result.timed_out,
    oom_killed: result.oom_killed ?? false,
    ms: result.ended_at - result.started_at,
  });
  const reported = await report(
    // The next job comes with the answer, unless the agent is stopping.
    (first) => {
      const claim_next = first && !options.signal.aborted ? true : undefined;
      return ok
        ? api.reportJob(job.id, "complete", {
          ...body,
          claim_next,
          result: {
            exit_code: 0,
            ms: result.ended_at - result.started_at,
            ...(unenforced ? { limits: unenforced } : {}),
          },
        })
        : api.reportJob(job.id, "fail", {
          ...body,
          claim_next,
          error: failure(job, result) + (unenforced ? ` (${unenforced})` : ""),
        });
    },
    "report the result",
    options.signal,
  );
  return { next: reported.answer?.next, uncertain: reported.uncertain };
}

/** Why a run failed, in words: a memory kill is named as such, not as a bare signal or code. */
function failure(job: JobSpec, result: ExecResult): string {
  if (result.oom_killed) {
    const limit = job.memory_b ? ` of ${Math.round(job.memory_b / 1_048_576)} MiB` : "";
    return `killed for memory: passed its memory limit${limit} (OOM)`;
  }
  return result.error ??
    (result.timed_out
      ? `timed out after ${job.timeout_s} s`
      : result.cancelled
      ? "cancelled"
      : `exit code ${result.exit_code}`);
}

/**
 * Claims and runs jobs until `signal` aborts.
 *
 * @example
 * ```ts
 * await runWorker({ hub, token, stateDir, executors: { process: createProcessExecutor() }, signal });
 * ```
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const wait = options.claimWaitS ?? 20;
  const api = new ApiClient({
    hub: options.hub,
    token: options.token,
    timeoutMs: (wait + 15) * 1000,
    signal: options.signal,
  });
  const state: WorkerState = {
    ledger: new JobLedger(join(options.stateDir, "running")),
    active: new Set(),
  };
  // Before anything is claimed: what a killed agent left must not run beside its own rerun.
  try {
    await reapLeftovers(state.ledger, {
      dockerSocket: options.dockerSocket,
      jobsDir: join(options.stateDir, "jobs"),
    });
  } catch (error) {
    logger.error("could not look for leftover jobs", { error });
  }
  let failures = 0;
  let reconciled = false;
  // A job claimed by the last report's answer: run it without another claim.
  let next: ClaimAnswer | undefined;
  logger.info("worker started", { executors: Object.keys(options.executors) });
  while (!options.signal.aborted) {
    let job: JobSpec | null;
    try {
      if (!reconciled) {
        await reconcile(api, state);
        reconciled = true;
      }
      const answer = next ?? await api.claimJob(wait);
      next = undefined;
      job = answer.job;
      failures = 0;
      if (answer.roamer && !job) {
        // Roamer code (Docker provisioning) loads only on a node that is assigned one.
        const { followAssignment } = await lazyImport<typeof import("./roamer.ts")>(
          import.meta.url,
          "./roamer.ts",
        );
        await followAssignment({
          api,
          dockerSocket: options.dockerSocket,
          stateDir: options.stateDir,
          signal: options.signal,
        }, answer.roamer);
      }
    } catch (error) {
      failures++;
      // A claim whose answer was lost may have left a job claimed for us: say again what runs.
      reconciled = false;
      if (failures === 1) logger.warn("cannot claim jobs; retrying", { error });
      await sleep(
        backoffDelay(failures - 1, { baseMs: 1000, capMs: 30_000, jitter: "equal" }),
        options.signal,
      );
      continue;
    }
    if (!job) continue;
    const end = await runOne(api, job, options, state);
    if (end.uncertain) reconciled = false;
    // An empty answer is not kept: the long-poll claim waits for the next job (or a roamer
    // assignment) where this one could not.
    else if (end.next?.job) next = end.next;
  }
  logger.info("worker stopped");
}

/**
 * Tells the hub which jobs this agent really runs; the hub returns the others it holds for this
 * node to the queue. Throws when the hub cannot be reached (the caller retries before claiming).
 */
async function reconcile(api: ApiClient, state: WorkerState): Promise<void> {
  try {
    const r = await api.reportRunningJobs([...state.active]);
    if (r.returned.length) {
      logger.warn("hub returned jobs this agent no longer runs to the queue", {
        job_ids: r.returned,
      });
    }
  } catch (error) {
    // A hub that refuses (e.g. one without this route) still hands out jobs: leases cover it.
    if (error instanceof ApiError && error.status < 500) {
      logger.warn("hub refused the list of running jobs", { detail: error.message });
      return;
    }
    throw error;
  }
}
