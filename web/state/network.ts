/**
 * Link quality in the browser: every node's current link (loaded with `GET /network/links` at each
 * snapshot, then kept live by `link.quality` events) and a short rolling series per node for the
 * sparklines (the last hour's minutes from the history route, then every live reading). The canvas
 * reads {@link linkOf} every frame, so it is a plain map lookup.
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

const current = new Map<string, NodeLink>();
const series = new Map<string, LinkSeries>();
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

/** A node's recent series, if any. */
export function linkSeries(id: string): LinkSeries | undefined {
  return series.get(id);
}

/** Every current link, worst first. */
export function linksWorstFirst(): NodeLink[] {
  return [...current.values()].sort((a, b) =>
    linkBadness(b) - linkBadness(a) || a.node_id.localeCompare(b.node_id)
  );
}

function push(id: string, ts: number, rtt: number | null, loss: number | null): void {
  let s = series.get(id);
  if (!s) series.set(id, s = { ts: [], rtt: [], loss: [] });
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
      const live = series.get(id);
      const fresh: LinkSeries = { ts: [], rtt: [], loss: [] };
      series.set(id, fresh);
      // Minute points first (at the middle of their minute), then the live readings after them.
      h.points.forEach((p: LinkPoint) => push(id, p.ts + 30_000, p.rtt_ms, p.loss_pct));
      if (live) live.ts.forEach((t, i) => push(id, t, live.rtt[i], live.loss[i]));
    } catch {
      historyLoaded.delete(id);
    }
  }));
  linksVersion.value++;
}

onEvent("link.quality", (e) => apply(e.links));
onResync(() => void loadLinks());
