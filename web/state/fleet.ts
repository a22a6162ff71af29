/**
 * The live fleet: one signal per node (so a sample re-renders only that node's card), the list
 * of ids, status counts, and a short in-browser history per node for sparklines. Filled from the
 * snapshot and kept current by the event stream (`stream.ts`).
 *
 * @module
 */
import { type Signal, signal } from "@preact/signals";
import type { FleetSnapshot, NodeStatus, NodeSummary, Sample } from "../../shared/protocol/mod.ts";
import { type SeriesName, seriesOf } from "../../shared/metrics.ts";
import { syncHubClock } from "./clock.ts";

/** Points kept per node for sparklines (5 s samples → 10 minutes). */
export const SPARK_POINTS = 120;
/** Series the sparklines show. */
export const SPARK_SERIES = ["cpu_pct", "gpu_pct", "mem_pct", "temp_c", "power_mw"] as const;

/** Ids of every known node, sorted by name. */
export const nodeIds = signal<string[]>([]);
/** Hub identity from the last snapshot. */
export const hubInfo = signal<{ version: string; boot_id: string } | null>(null);
/** Node count per status; changes only on status changes, not on every sample. */
export const statusCounts = signal<Record<NodeStatus, number>>({
  pending: 0,
  online: 0,
  degraded: 0,
  offline: 0,
});
/** The snapshot arrived at least once. */
export const fleetLoaded = signal(false);

const nodes = new Map<string, Signal<NodeSummary>>();
const history = new Map<string, { ts: number[]; values: Record<string, (number | null)[]> }>();

/** The live signal of one node. */
export function nodeSignal(id: string): Signal<NodeSummary> | undefined {
  return nodes.get(id);
}

/** Every node's current value (not reactive: for the canvas' frame loop and searches). */
export function allNodes(): NodeSummary[] {
  return nodeIds.peek().map((id) => nodes.get(id)!.peek());
}

/** The sparkline history of a node: times and one array per {@link SPARK_SERIES}. */
export function sparkHistory(
  id: string,
): { ts: number[]; values: Record<string, (number | null)[]> } {
  let h = history.get(id);
  if (!h) {
    h = { ts: [], values: Object.fromEntries(SPARK_SERIES.map((s) => [s, []])) };
    history.set(id, h);
  }
  return h;
}

function remember(id: string, sample: Sample): void {
  const h = sparkHistory(id);
  if (h.ts.length && sample.ts <= h.ts[h.ts.length - 1]) return;
  const v = seriesOf(sample);
  h.ts.push(sample.ts);
  for (const s of SPARK_SERIES) h.values[s].push(v[s as SeriesName] ?? null);
  if (h.ts.length > SPARK_POINTS) {
    h.ts.shift();
    for (const s of SPARK_SERIES) h.values[s].shift();
  }
}

let statusVersion = 0;

/** Bumped on every status change, add or removal (the edge layer redraws on it). */
export function fleetStatusVersion(): number {
  return statusVersion;
}

function recount(): void {
  statusVersion++;
  const counts: Record<NodeStatus, number> = { pending: 0, online: 0, degraded: 0, offline: 0 };
  for (const s of nodes.values()) counts[s.peek().status]++;
  statusCounts.value = counts;
}

function sortIds(): void {
  nodeIds.value = [...nodes.keys()].sort((a, b) =>
    nodes.get(a)!.peek().name.localeCompare(nodes.get(b)!.peek().name, undefined, {
      numeric: true,
    })
  );
}

/** Replaces everything with a snapshot. */
export function applySnapshot(snap: FleetSnapshot): void {
  syncHubClock(snap.hub.now);
  hubInfo.value = { version: snap.hub.version, boot_id: snap.hub.boot_id };
  const seen = new Set<string>();
  for (const n of snap.nodes) {
    seen.add(n.id);
    const s = nodes.get(n.id);
    if (s) s.value = n;
    else nodes.set(n.id, signal(n));
    if (n.last_sample) remember(n.id, n.last_sample);
  }
  for (const id of [...nodes.keys()]) if (!seen.has(id)) nodes.delete(id);
  sortIds();
  recount();
  fleetLoaded.value = true;
}

/** A node sent a sample. */
export function applySample(id: string, sample: Sample, at: number): void {
  const s = nodes.get(id);
  if (!s) return;
  const n = s.peek();
  if (n.last_sample && sample.seq <= n.last_sample.seq) return;
  remember(id, sample);
  s.value = { ...n, last_sample: sample, last_seq: sample.seq, last_seen: at };
}

/** Replaces fields of a node (status, recovery, …). */
export function patchNode(id: string, patch: Partial<NodeSummary>): void {
  const s = nodes.get(id);
  if (!s) return;
  const before = s.peek().status;
  s.value = { ...s.peek(), ...patch };
  if (patch.status && patch.status !== before) recount();
}

/** A node was added (enrolled, or appeared in fleet.yml). */
export function addNode(n: NodeSummary): void {
  const s = nodes.get(n.id);
  if (s) s.value = n;
  else nodes.set(n.id, signal(n));
  sortIds();
  recount();
}

/** A node was removed. */
export function removeNode(id: string): void {
  if (!nodes.delete(id)) return;
  history.delete(id);
  sortIds();
  recount();
}

/** The latest series values of a node (from its last sample). */
export function latestSeries(n: NodeSummary): Record<SeriesName, number | undefined> | null {
  return n.last_sample ? seriesOf(n.last_sample) : null;
}
