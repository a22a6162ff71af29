/**
 * Retry pacing for every loop that waits before trying again: {@link backoffDelay} (exponential,
 * capped, jittered) and {@link sleep}. No Deno or npm imports, so the browser bundle can use it
 * too. Written here rather than taken from `npm:p-retry`: the callers' loops differ (bounded,
 * endless, reset on success) and only share the delay and the abortable wait.
 *
 * @module
 */

/**
 * How a delay `d` is spread: `"full"` draws from [0, d) (spreads a herd the most), `"equal"`
 * from [d/2, d) (never retries at once).
 */
export type Jitter = "full" | "equal";

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Delay of the first retry (attempt 0) before jitter; doubles per attempt. */
  baseMs: number;
  /** Largest delay before jitter (default: no cap). */
  capMs?: number;
  /** Default `"full"`. */
  jitter?: Jitter;
}

/**
 * The wait before retry number `attempt` (0 for the first): `min(capMs, baseMs · 2^attempt)`,
 * jittered.
 *
 * @example
 * ```ts
 * // 1 s, 2 s, 4 s … up to 30 s, each between half and all of it.
 * const ms = backoffDelay(failures - 1, { baseMs: 1000, capMs: 30_000, jitter: "equal" });
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  // The exponent is bounded so an endless loop's counter never turns the delay into NaN.
  const delay = Math.min(
    options.capMs ?? Number.POSITIVE_INFINITY,
    options.baseMs * 2 ** Math.min(Math.max(attempt, 0), 52),
  );
  return (options.jitter ?? "full") === "full"
    ? random() * delay
    : delay / 2 + random() * (delay / 2);
}

/**
 * Waits `ms`, or less when `signal` aborts (at once if it already has). It resolves rather than
 * rejects on abort: every caller is a loop that checks its signal right after the wait.
 *
 * @example
 * ```ts
 * while (!signal.aborted) {
 *   await tryOnce();
 *   await sleep(5000, signal);
 * }
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
