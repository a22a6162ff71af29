/**
 * How bad a node's link is, for sorting worst first (the hub's `GET /network/links` and the
 * Network view use the same order). Without zod, so the browser bundle can import it.
 *
 * @module
 */

/** The fields of a link that rank it. */
export interface RankedLink {
  connected: boolean;
  loss_pct: number | null;
  rtt_avg_ms: number | null;
  rtt_ms: number | null;
  probe_loss_pct: number | null;
  probe_rtt_ms: number | null;
}

/**
 * Higher is worse: a disconnected node first, then the higher loss (pings or the agent's probes),
 * then the longer round trip.
 */
export function linkBadness(l: RankedLink): number {
  if (!l.connected) return 1e12;
  const loss = Math.max(l.loss_pct ?? 0, l.probe_loss_pct ?? 0);
  const rtt = Math.max(l.rtt_avg_ms ?? l.rtt_ms ?? 0, l.probe_rtt_ms ?? 0);
  return loss * 1e6 + Math.min(rtt, 999_999);
}

/** A word for a link: `down`, `poor` (≥ 5 % loss or ≥ 250 ms), `fair` (any loss or ≥ 50 ms), `good`. */
export function linkGrade(l: RankedLink): "down" | "poor" | "fair" | "good" {
  if (!l.connected) return "down";
  const loss = Math.max(l.loss_pct ?? 0, l.probe_loss_pct ?? 0);
  const rtt = Math.max(l.rtt_avg_ms ?? l.rtt_ms ?? 0, l.probe_rtt_ms ?? 0);
  if (loss >= 5 || rtt >= 250) return "poor";
  if (loss > 0 || rtt >= 50) return "fair";
  return "good";
}
