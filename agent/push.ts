/**
 * Sends spooled samples to the hub in seq order, in batches, with bounded retries and jittered
 * backoff, and acknowledges them in the spool only when the hub answered. When the hub refuses a
 * sample (its problem names `samples.N`), the samples before it are sent and the refused one is
 * dropped — logged with the hub's reason and counted in what the agent reports as dropped — so one
 * poisoned sample cannot block the queue, nor cost any other sample. A refusal that names no
 * sample (the batch itself) drops nothing: the samples stay spooled.
 *
 * @module
 */
import { ApiClient, ApiError } from "../shared/api_client.ts";
import type { AgentInfo, IngestAck, Problem } from "../shared/protocol/mod.ts";
import type { Spool } from "./spool.ts";
import { backoffDelay, sleep } from "../shared/backoff.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("push");

/** Options of {@link Pusher}. */
export interface PushOptions {
  hub: string;
  token: string;
  spool: Spool;
  agent: AgentInfo;
  /** The node id; asked from the hub (`GET /api/v1/agent/self`) when absent. */
  nodeId?: string;
  /** Most samples per request (default 200). */
  batchMax?: number;
  /** Attempts per {@link Pusher.flush} before giving up until the next call (default 3). */
  attempts?: number;
  /** First backoff delay (default 500 ms); doubles per attempt, equal jitter (half to all). */
  backoffMs?: number;
  timeoutMs?: number;
  /** The agent's wall clock, sent as `sent_at` (default `Date.now`; tests inject a skewed one). */
  clock?: () => number;
}

/**
 * The first sample a refusal names (`samples.3.cpu.pct` → 3) and what the hub said about it;
 * undefined when the problem names no sample.
 */
export function refusedSample(
  problem: Problem | undefined,
): { index: number; reason: string } | undefined {
  let index = Number.POSITIVE_INFINITY;
  for (const e of problem?.errors ?? []) {
    const m = /^samples\.(\d+)(\.|$)/.exec(e.path);
    if (m) index = Math.min(index, Number(m[1]));
  }
  if (index === Number.POSITIVE_INFINITY) return undefined;
  const reason = problem!.errors!
    .filter((e) => e.path === `samples.${index}` || e.path.startsWith(`samples.${index}.`))
    .map((e) => `${e.path}: ${e.message}`).join("; ");
  return { index, reason };
}

/** Outcome of one flush. */
export interface FlushResult {
  sent: number;
  /** True when the spool is empty (everything acknowledged). */
  drained: boolean;
  error?: string;
}

/** Pushes the spool to the hub. */
export class Pusher {
  #api: ApiClient;
  #spool: Spool;
  #agent: AgentInfo;
  #nodeId: string | undefined;
  #batchMax: number;
  #attempts: number;
  #backoffMs: number;
  #lastError: string | undefined;
  #clock: () => number;
  /** Set once the hub told this agent its last seq (so no seq it holds is reused). */
  #floorSynced = false;
  #clockSkewS: number | null = null;
  /** Samples the hub refused and that were dropped (also counted in the spool's `dropped`). */
  rejected = 0;

  constructor(options: PushOptions) {
    this.#api = new ApiClient({
      hub: options.hub,
      token: options.token,
      timeoutMs: options.timeoutMs,
    });
    this.#spool = options.spool;
    this.#agent = options.agent;
    this.#nodeId = options.nodeId;
    this.#batchMax = options.batchMax ?? 200;
    this.#attempts = options.attempts ?? 3;
    this.#backoffMs = options.backoffMs ?? 500;
    this.#clock = options.clock ?? Date.now;
  }

  /** The node id, once known. */
  get nodeId(): string | undefined {
    return this.#nodeId;
  }

  // Asked once even with a configured node id: a wiped spool must not reuse seqs the hub holds.
  async #resolveNode(): Promise<string> {
    if (this.#nodeId && this.#floorSynced) return this.#nodeId;
    const self = await this.#api.self();
    this.#spool.raiseSeqFloor(self.last_seq);
    this.#floorSynced = true;
    this.#nodeId ??= self.node_id;
    logger.info("hub knows this agent", { node_id: self.node_id, hub_last_seq: self.last_seq });
    return self.node_id;
  }

  /** Sends one batch; returns how many samples left the spool (accepted or dropped). */
  async #send(limit: number): Promise<{ handled: number; accepted: number }> {
    const nodeId = await this.#resolveNode();
    const samples = await this.#spool.pending(limit);
    if (samples.length === 0) return { handled: 0, accepted: 0 };
    let ack: IngestAck;
    try {
      ack = await this.#api.ingest({
        node_id: nodeId,
        agent: this.#agent,
        spool_dropped: this.#spool.dropped,
        sent_at: this.#clock(),
        samples,
      });
    } catch (error) {
      if (!(error instanceof ApiError) || (error.status !== 400 && error.status !== 413)) {
        throw error;
      }
      const bad = refusedSample(error.problem);
      // A refusal of the batch itself (no sample named) is no reason to drop any sample.
      if (error.status === 400 && (bad === undefined || bad.index >= samples.length)) throw error;
      if (bad && bad.index > 0) return this.#send(bad.index);
      // Too large with no sample named: halve until the one that is too large is alone.
      if (!bad && samples.length > 1) return this.#send(Math.ceil(samples.length / 2));
      this.rejected++;
      logger.warn("hub refused a sample; dropping it", {
        seq: samples[0].seq,
        reason: bad?.reason ?? error.message,
        dropped: this.#spool.dropped + 1,
      });
      await this.#spool.drop(samples[0].seq);
      return { handled: 1, accepted: 0 };
    }
    await this.#spool.ack(ack.acked_seq);
    this.#spool.raiseSeqFloor(ack.last_seq);
    this.#noteClock(ack.clock_skew_s ?? null);
    return { handled: samples.length, accepted: samples.length };
  }

  /** Logs once when the hub finds this node's clock off, and once when it is back. */
  #noteClock(skewS: number | null): void {
    if ((skewS === null) === (this.#clockSkewS === null)) return;
    if (skewS !== null) {
      logger.warn("hub finds this node's clock off; it places the samples on its own time", {
        clock_skew_s: skewS,
      });
    } else logger.info("hub finds this node's clock in sync again");
    this.#clockSkewS = skewS;
  }

  /**
   * Sends everything pending (up to `maxBatches` requests), retrying transient failures a
   * bounded number of times. Never throws: a failure leaves the samples spooled.
   */
  async flush(maxBatches = 50): Promise<FlushResult> {
    let sent = 0;
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      try {
        for (let i = 0; i < maxBatches; i++) {
          const { handled, accepted } = await this.#send(this.#batchMax);
          if (handled === 0) break;
          sent += accepted;
        }
        if (this.#lastError) {
          logger.info("hub reachable again", { replayed: sent, backlog: this.#spool.backlog });
          this.#lastError = undefined;
        }
        return { sent, drained: this.#spool.backlog === 0 };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          if (this.#lastError !== message) {
            logger.error("hub refused this agent's token", { detail: message });
          }
          this.#lastError = message;
          return { sent, drained: false, error: message };
        }
        if (error instanceof ApiError && error.status === 400) {
          if (this.#lastError !== message) {
            logger.error("hub refused this agent's batch (no sample named); samples kept", {
              detail: message,
              backlog: this.#spool.backlog,
            });
          }
          this.#lastError = message;
          return { sent, drained: false, error: message };
        }
        if (attempt === this.#attempts) {
          if (this.#lastError !== message) {
            logger.warn("hub unreachable; spooling", {
              error: message,
              backlog: this.#spool.backlog,
            });
          }
          this.#lastError = message;
          return { sent, drained: false, error: message };
        }
        await sleep(backoffDelay(attempt - 1, { baseMs: this.#backoffMs, jitter: "equal" }));
      }
    }
    return { sent, drained: false };
  }
}
