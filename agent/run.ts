/**
 * The agent's main loop: every interval, collect a sample, append it to the spool (so it
 * survives anything), then let the pusher send the backlog. Collection never waits for the hub:
 * a slow or absent hub only grows the (bounded) spool.
 *
 * @module
 */
import { join } from "node:path";
import type { AgentInfo, SampleMetrics } from "../shared/protocol/mod.ts";
import { Spool } from "./spool.ts";
import { Pusher } from "./push.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("agent");

/** Produces the metrics of one sample (real collectors, or simulated ones in the demo). */
export interface SampleSource {
  collect(now: number): Promise<SampleMetrics>;
  close(): Promise<void> | void;
}

/** Options of {@link runAgent}. */
export interface AgentRunOptions {
  hub: string;
  token: string;
  intervalMs: number;
  stateDir: string;
  source: SampleSource;
  agent: AgentInfo;
  nodeId?: string;
  spoolMaxBytes?: number;
  spoolMaxAgeMs?: number;
  /** The node's wall clock for sample times and `sent_at` (default `Date.now`; a test hook). */
  clock?: () => number;
  /** Stops the loop; the spool is closed and pending pushes are awaited. */
  signal: AbortSignal;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

/**
 * Runs until `signal` aborts.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * await runAgent({ hub, token, intervalMs: 5000, stateDir, source, agent, signal: stop.signal });
 * ```
 */
export async function runAgent(options: AgentRunOptions): Promise<void> {
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
    while (!options.signal.aborted) {
      const now = (options.clock ?? Date.now)();
      let metrics: SampleMetrics = {};
      try {
        metrics = await options.source.collect(now);
      } catch (error) {
        logger.error("collection failed", { error });
      }
      await spool.append(metrics, now);
      push();
      next += options.intervalMs;
      // After a long stall (suspend, overload) start again from now instead of bursting.
      if (next < Date.now()) next = Date.now() + options.intervalMs;
      await sleep(next - Date.now(), options.signal);
    }
  } finally {
    // Unsent samples stay in the spool for the next start; only finish the request in flight.
    await pushing;
    spool.close();
    await options.source.close();
    logger.info("agent stopped", { last_seq: spool.lastSeq, backlog: spool.backlog });
  }
}
