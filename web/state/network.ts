/**
 * Link quality in the browser: every node's current link (loaded with `GET /network/links` at each
 * snapshot, then kept live by `link.quality` events) and the series for the sparklines: every live
 * reading since the page opened, or — until those cover five minutes — the last hour by minute from
 * the history route (the two have steps 100 times apart, so they are not drawn as one line). The
 * canvas reads {@link linkOf} every frame, so it is a plain map lookup.
 *
 * @module
 */
import { signal } from "@preact/signals";
import type { LinkPoint, NodeLink } from "../../shared/protocol/mod.ts";
import { linkBadness } from "../../shared/link_rank.ts";
import { api } from "./api.ts";
import { onEvent, onResync } from "./stream.ts";

/** Readings kept per node for its sparkline (an hour at a 5 s ping). */
const SERIES_MAX = 720;

/** A node's recent round trips and losses, oldest first. */
export interface LinkSeries {
  ts: number[];
  rtt: (number | null)[];
  loss: (number | null)[];
}

/** What a sparkline draws: a series and whether it is the minute history (on a time axis). */
export interface SparkSeries extends LinkSeries {
  /** Minutes of the last hour (draw on a one-hour time axis); else live readings (evenly). */
  minutes: boolean;
}

const current = new Map<string, NodeLink>();
const series = new Map<string, LinkSeries>();
const minutes = new Map<string, LinkSeries>();
const historyLoaded = new Set<string>();

/** Changes whenever a link reading arrives: views re-render from it. */
export const linksVersion = signal(0);
/** The hub's ping interval and timeout (ms), once loaded. */
export const pingInfo = signal<{ ping_ms: number; ping_timeout_ms: number } | null>(null);
/** Why the last load failed, if it did. */
export const linksError = signal<string | null>(null);

/** A node's current link (cheap: the canvas calls it every frame). */
export function linkOf(id: string): NodeLink | undefined {
  return current.get(id);
}

/** Live readings are shown once they cover this long; the minute history before. */
const LIVE_SPAN_MS = 300_000;

/**
 * A node's recent series for its sparkline, if any. Live readings arrive only when a link changed,
 * so their times are irregular: they are drawn evenly, not as holes.
 */
export function linkSeries(id: string): SparkSeries | undefined {
  const live = series.get(id);
  const hist = minutes.get(id);
  const span = live && live.ts.length > 1 ? live.ts[live.ts.length - 1] - live.ts[0] : 0;
  if (span >= LIVE_SPAN_MS || !hist || hist.ts.length < 2) {
    return live ? { ...live, minutes: false } : undefined;
  }
  return { ...hist, minutes: true };
}

/** Every current link, worst first. */
export function linksWorstFirst(): NodeLink[] {
  return [...current.values()].sort((a, b) =>
    linkBadness(b) - linkBadness(a) || a.node_id.localeCompare(b.node_id)
  );
}

function push(
  id: string,
  ts: number,
  rtt: number | null,
  loss: number | null,
  into = series,
): void {
  let s = into.get(id);
  if (!s) into.set(id, s = { ts: [], rtt: [], loss: [] });
  if (s.ts.length && ts <= s.ts[s.ts.length - 1]) return;
  s.ts.push(ts);
  s.rtt.push(rtt);
  s.loss.push(loss);
  if (s.ts.length > SERIES_MAX) {
    s.ts.shift();
    s.rtt.shift();
    s.loss.shift();
  }
}

function apply(links: readonly NodeLink[]): void {
  for (const l of links) {
    current.set(l.node_id, l);
    push(l.node_id, l.ts, l.rtt_avg_ms ?? l.rtt_ms, l.loss_pct);
  }
  linksVersion.value++;
}

/** Loads every node's link now (at each snapshot, and when the Network view opens). */
export async function loadLinks(): Promise<void> {
  try {
    const list = await api.links();
    current.clear();
    pingInfo.value = { ping_ms: list.ping_ms, ping_timeout_ms: list.ping_timeout_ms };
    linksError.value = null;
    apply(list.links);
  } catch (err) {
    linksError.value = (err as Error).message;
  }
}

/** Fills the sparklines of `ids` with their last hour (once per node and page). */
export async function loadLinkHistory(ids: readonly string[]): Promise<void> {
  const todo = ids.filter((id) => !historyLoaded.has(id)).slice(0, 40);
  for (const id of todo) historyLoaded.add(id);
  await Promise.all(todo.map(async (id) => {
    try {
      const h = await api.linkHistory(id);
      minutes.delete(id);
      // Each minute at its middle.
      h.points.forEach((p: LinkPoint) => push(id, p.ts + 30_000, p.rtt_ms, p.loss_pct, minutes));
    } catch {
      historyLoaded.delete(id);
    }
  }));
  linksVersion.value++;
}

onEvent("link.quality", (e) => apply(e.links));
onResync(() => void loadLinks());
