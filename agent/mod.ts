/**
 * {@link startAgent}: the one way to run an agent, used by `fleet-agent run` and by the hub's
 * simulated fleet (`hub/demo.ts`). It runs, until stopped, three parts on one state dir:
 *
 * - the sample loop: every interval, collect a sample, append it to the spool (so it survives
 *   anything), then let the pusher send the backlog. Collection never waits for the hub: a slow or
 *   absent hub only grows the (bounded) spool;
 * - the job worker (`worker/worker.ts`), unless `jobs` is `false`;
 * - the control channel (`control.ts`), unless `control` is `false`.
 *
 * What differs between a node and the demo (collectors, job executors, Docker sockets) comes in
 * through the options. When one part fails the others are stopped too and {@link AgentHandle.done}
 * rejects, so a broken agent exits (and systemd restarts it) instead of running on half.
 *
 * @module
 */
import { join } from "../shared/join_path.ts";
import type { AgentInfo, JobSpec, SampleMetrics } from "../shared/protocol/mod.ts";
import { Spool } from "./spool.ts";
import { Pusher } from "./push.ts";
import { runWorker } from "./worker/worker.ts";
import type { Executor } from "./worker/executor.ts";
import { runControl } from "./control.ts";
import { HubProbe } from "./link_probe.ts";
import type { NodeActionHandlers } from "./node_actions.ts";
import { sleep } from "../shared/backoff.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("agent");

/** Produces the metrics of one sample (the real collectors, or simulated ones in the demo). */
export interface SampleSource {
  collect(now: number): Promise<SampleMetrics>;
  close(): Promise<void> | void;
}

/** The job worker's part of {@link AgentOptions}. */
export interface AgentJobsOptions {
  /** How each kind of job runs here; a job of a kind not listed fails at once. */
  executors: Partial<Record<JobSpec["executor"], Executor>>;
  /** Docker socket for roamer provisioning and leftover cleanup (undefined: no Docker here). */
  dockerSocket?: string;
}

/** The control channel's part of {@link AgentOptions}. */
export interface AgentControlOptions {
  /** The Docker socket container operations use; `false`: this node offers none. */
  dockerSocket: string | false;
  /** Restart, cleanup and recovery from the hub; absent: none offered (the demo). */
  actions?: NodeActionHandlers;
}

/** Options of {@link startAgent}. */
export interface AgentOptions {
  /** Hub base URL, e.g. `http://control:8765`. */
  hub: string;
  /** This node's token. */
  token: string;
  /** The node id; asked from the hub when absent. */
  nodeId?: string;
  /** Sent with every push; `version` and `hostname` are also said on the control channel. */
  agent: AgentInfo;
  /** The spool, the job ledger and job temp dirs live here. */
  stateDir: string;
  intervalMs: number;
  source: SampleSource;
  spoolMaxBytes?: number;
  spoolMaxAgeMs?: number;
  /** Claim and run jobs; `false` runs no worker. */
  jobs: AgentJobsOptions | false;
  /** Hold the control channel (exec, terminal, containers); `false` holds none. */
  control: AgentControlOptions | false;
  /** Stops the agent like {@link AgentHandle.stop} (one signal can stop many agents). */
  signal?: AbortSignal;
  /** The node's wall clock for sample times and `sent_at` (default `Date.now`; a test hook). */
  clock?: () => number;
}

/** A running agent. */
export interface AgentHandle {
  /**
   * Settles once every part has stopped: resolves after a stop, rejects with the error of a part
   * that failed (the others were stopped then). Await it: a failure is reported only here.
   */
  readonly done: Promise<void>;
  /**
   * Stops collection, the worker and the control channel; resolves when all have ended (never
   * rejects: a failure is reported by {@link AgentHandle.done}). Unsent samples stay spooled for
   * the next start.
   */
  stop(): Promise<void>;
}

/**
 * Starts an agent; it runs until {@link AgentHandle.stop} or `options.signal`.
 *
 * @example
 * ```ts
 * const agent = startAgent({
 *   hub, token, agent: { version: VERSION, hostname: Deno.hostname() }, stateDir, intervalMs: 5000,
 *   source: createSampler({ root: "/", intervalMs: 5000 }), jobs: false, control: { dockerSocket: false },
 * });
 * Deno.addSignalListener("SIGTERM", () => agent.stop());
 * await agent.done;
 * ```
 */
export function startAgent(options: AgentOptions): AgentHandle {
  const stopping = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, stopping.signal])
    : stopping.signal;
  let failure: { error: unknown } | undefined;
  // A part that fails takes the others down with it: half an agent would look alive to systemd.
  const part = (run: Promise<void>): Promise<void> =>
    run.catch((error) => {
      failure ??= { error };
      stopping.abort();
    });
  const parts: Promise<void>[] = [];
  if (options.jobs) {
    parts.push(part(runWorker({
      hub: options.hub,
      token: options.token,
      stateDir: options.stateDir,
      executors: options.jobs.executors,
      dockerSocket: options.jobs.dockerSocket,
      signal,
    })));
  }
  if (options.control) {
    parts.push(part(runControl({
      hub: options.hub,
      token: options.token,
      version: options.agent.version,
      hostname: options.agent.hostname,
      dockerSocket: options.control.dockerSocket,
      actions: options.control.actions,
      signal,
    })));
  }
  // The agent's own view of its link to the hub, sent with each sample.
  const probe = new HubProbe(options.hub, options.intervalMs);
  parts.push(probe.run(signal));
  parts.push(part(runSampleLoop(options, signal, probe)));
  const done = Promise.all(parts).then(() => {
    if (failure) throw failure.error;
  });
  return {
    done,
    async stop(): Promise<void> {
      stopping.abort();
      await done.catch(() => {});
    },
  };
}

/** Collects, spools and pushes every interval until `signal` aborts. */
async function runSampleLoop(
  options: AgentOptions,
  signal: AbortSignal,
  probe: HubProbe,
): Promise<void> {
  const spool = await Spool.open({
    dir: join(options.stateDir, "spool"),
    maxBytes: options.spoolMaxBytes,
    maxAgeMs: options.spoolMaxAgeMs,
  });
  const pusher = new Pusher({
    hub: options.hub,
    token: options.token,
    spool,
    agent: options.agent,
    nodeId: options.nodeId,
    clock: options.clock,
  });
  logger.info("agent started", {
    hub: options.hub,
    interval_ms: options.intervalMs,
    state_dir: options.stateDir,
    last_seq: spool.lastSeq,
    backlog: spool.backlog,
  });
  let pushing: Promise<unknown> | undefined;
  const push = () => {
    pushing ??= pusher.flush().finally(() => (pushing = undefined));
  };
  try {
    // Replay what a previous run left before the first new sample.
    push();
    let next = Date.now();
    while (!signal.aborted) {
      const now = (options.clock ?? Date.now)();
      let metrics: SampleMetrics = {};
      try {
        metrics = await options.source.collect(now);
      } catch (error) {
        logger.error("collection failed", { error });
      }
      const link = probe.current();
      if (link) metrics = { ...metrics, link };
      await spool.append(metrics, now);
      push();
      next += options.intervalMs;
      // After a long stall (suspend, overload) start again from now instead of bursting.
      if (next < Date.now()) next = Date.now() + options.intervalMs;
      await sleep(next - Date.now(), signal);
    }
  } finally {
    // Unsent samples stay in the spool for the next start; only finish the request in flight.
    await pushing;
    spool.close();
    await options.source.close();
    logger.info("agent stopped", { last_seq: spool.lastSeq, backlog: spool.backlog });
  }
}
