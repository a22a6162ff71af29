/**
 * Sends spooled samples to the hub in seq order, in batches, with bounded retries and jittered
 * backoff, and acknowledges them in the spool only when the hub answered. A batch the hub
 * rejects as malformed is split until the bad sample is isolated and dropped (counted), so one
 * poisoned sample cannot block the queue.
 *
 * @module
 */
import { ApiClient, ApiError } from "../shared/api_client.ts";
import type { AgentInfo, IngestAck } from "../shared/protocol.ts";
import type { Spool } from "./spool.ts";
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
  /** First backoff delay (default 500 ms); doubles per attempt, with jitter. */
  backoffMs?: number;
  timeoutMs?: number;
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
  /** Samples the hub refused as malformed and that were dropped. */
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
  }

  /** The node id, once known. */
  get nodeId(): string | undefined {
    return this.#nodeId;
  }

  async #resolveNode(): Promise<string> {
    if (this.#nodeId) return this.#nodeId;
    const self = await this.#api.self();
    this.#spool.raiseSeqFloor(self.last_seq);
    this.#nodeId = self.node_id;
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
        samples,
      });
    } catch (error) {
      if (error instanceof ApiError && (error.status === 400 || error.status === 413)) {
        if (samples.length > 1) return this.#send(Math.ceil(samples.length / 2));
        this.rejected++;
        logger.error("hub refused a sample; dropping it", {
          seq: samples[0].seq,
          detail: error.message,
        });
        await this.#spool.ack(samples[0].seq);
        return { handled: 1, accepted: 0 };
      }
      throw error;
    }
    await this.#spool.ack(ack.acked_seq);
    this.#spool.raiseSeqFloor(ack.last_seq);
    return { handled: samples.length, accepted: samples.length };
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
        const delay = this.#backoffMs * 2 ** (attempt - 1);
        await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * delay));
      }
    }
    return { sent, drained: false };
  }
}
