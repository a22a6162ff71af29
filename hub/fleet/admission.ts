/**
 * Admission of ingest work: the request bytes of ingest batches the hub has taken in and not
 * yet answered are bounded. Beyond the bound a batch is refused at once, before its body is read,
 * with 503 and `Retry-After`: the agent keeps the batch spooled and sends it again later, so a
 * burst costs time, not the hub's memory, and nothing acknowledged is lost.
 *
 * @module
 */
import { Unavailable } from "../core/errors.ts";

/** Seconds an agent is told to wait after a refusal (it adds its own jittered backoff). */
export const RETRY_AFTER_S = 1;

/** 503 for a batch refused because the hub is at its ingest bound. */
export class Overloaded extends Unavailable {
  readonly retryAfterS = RETRY_AFTER_S;
  constructor(pendingBytes: number, maxBytes: number) {
    super(
      `the hub has ${pendingBytes} bytes of ingest in flight (bound ${maxBytes}): ` +
        `send this batch again after ${RETRY_AFTER_S} s`,
    );
  }
}

/** Counts ingest bytes in flight against a bound. */
export class IngestGate {
  readonly maxBytes: number;
  /** Bytes admitted and not yet answered. */
  pendingBytes = 0;
  /** Batches refused since start (hub stats and `/metrics` show it). */
  refused = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /**
   * Admits a request of `bytes` (its Content-Length; the body limit when unknown) or throws
   * {@link Overloaded}. One request is always admitted when nothing is in flight, so a bound
   * below one body cannot starve ingest. Call {@link leave} with the same bytes when answered.
   */
  enter(bytes: number): void {
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.maxBytes) {
      this.refused++;
      throw new Overloaded(this.pendingBytes, this.maxBytes);
    }
    this.pendingBytes += bytes;
  }

  /** Releases what {@link enter} admitted. */
  leave(bytes: number): void {
    this.pendingBytes -= bytes;
  }
}

/**
 * The answer to a refused batch: its problem, `Retry-After`, and `Connection: close`. The body
 * is not read: it is dropped with the connection, so a refused batch is never buffered.
 */
export function refuse(request: Request, error: Overloaded): Response {
  void request.body?.cancel().catch(() => {});
  return new Response(JSON.stringify(error.toProblem()), {
    status: 503,
    headers: {
      "content-type": "application/problem+json",
      "retry-after": String(error.retryAfterS),
      connection: "close",
    },
  });
}
