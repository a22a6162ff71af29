/**
 * The agent's own probe of its link to the hub: every interval a small `GET /healthz` to the hub,
 * timed. The round trip of the newest answered probe and the loss over the last
 * {@link LINK_WINDOW} probes go into each sample as `link`, so the hub sees the agent → hub
 * direction next to its own control-channel pings. A probe that fails or is not answered within
 * the probe timeout (the interval, between 1 and 5 s) counts as lost.
 *
 * @module
 */
import type { LinkProbe } from "../shared/protocol/mod.ts";
import { LINK_WINDOW } from "../shared/protocol/constants.ts";
import { sleep } from "../shared/backoff.ts";

/** Probes the hub until stopped; {@link HubProbe.current} gives the newest reading. */
export class HubProbe {
  readonly #url: string;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #outcomes: number[] = [];
  #lastRtt: number | undefined;

  constructor(hub: string, intervalMs: number) {
    // Like the API client: a hub URL with a path prefix (behind a proxy) keeps it.
    this.#url = `${hub.replace(/\/+$/, "")}/healthz`;
    this.#intervalMs = Math.max(100, intervalMs);
    this.#timeoutMs = Math.min(5000, Math.max(1000, intervalMs));
  }

  /** After how long an unanswered probe counts as lost (ms). */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** The newest reading, or undefined before the first probe ended. */
  current(): LinkProbe | undefined {
    const n = this.#outcomes.length;
    if (n === 0) return undefined;
    const lost = this.#outcomes.filter((r) => r < 0).length;
    const out: LinkProbe = { probes: n, loss_pct: Math.round(lost / n * 10000) / 100 };
    if (this.#lastRtt !== undefined) out.rtt_ms = this.#lastRtt;
    return out;
  }

  /** One probe: its round trip in ms, or -1 when it failed or took longer than the timeout. */
  async probe(signal?: AbortSignal): Promise<number> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    try {
      const res = await fetch(this.#url, {
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      await res.body?.cancel();
      const rtt = performance.now() - started;
      return rtt <= this.#timeoutMs ? Math.round(rtt * 100) / 100 : -1;
    } catch {
      // Refused, reset or timed out: on a TCP link, loss shows as exactly this.
      return -1;
    }
  }

  /** Probes every interval until `signal` aborts; never throws. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = Date.now();
      const rtt = await this.probe(signal);
      if (signal.aborted) break;
      this.#outcomes.push(rtt);
      if (this.#outcomes.length > LINK_WINDOW) this.#outcomes.shift();
      if (rtt >= 0) this.#lastRtt = rtt;
      await sleep(Math.max(0, this.#intervalMs - (Date.now() - started)), signal);
    }
  }
}
