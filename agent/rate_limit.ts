/**
 * A token bucket for byte rates: the terminal's output limit. A reader that takes more than the
 * bucket holds waits, so the producer (a runaway `yes`) blocks on its full pipe instead of
 * flooding the hub.
 *
 * @module
 */
import { sleep } from "../shared/backoff.ts";

/**
 * Allows `ratePerS` units per second on average with bursts up to `burst`.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket(1_000_000, 256 * 1024);
 * await bucket.take(chunk.byteLength); // waits when the rate is exceeded
 * ```
 */
export class TokenBucket {
  readonly ratePerS: number;
  readonly burst: number;
  #tokens: number;
  #at: number;
  #now: () => number;

  /** `now` returns milliseconds (default `performance.now`; tests pass a fake clock). */
  constructor(ratePerS: number, burst: number, now: () => number = () => performance.now()) {
    this.ratePerS = ratePerS;
    this.burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#at = now();
  }

  /**
   * Takes `n` units (possibly going into debt) and returns how long to wait, in ms, before the
   * debt is paid back — 0 when the bucket had them.
   */
  reserve(n: number): number {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.ratePerS);
    this.#at = now;
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.ratePerS) * 1000;
  }

  /** Takes `n` units, waiting as long as the rate requires. */
  async take(n: number): Promise<void> {
    const wait = this.reserve(n);
    if (wait > 0) await sleep(wait);
  }
}
