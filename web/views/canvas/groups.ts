/**
 * Which frame each node is drawn in, from the app's stores: each cluster, the roamer pool, then
 * nodes in neither. The canvas adapter (`web/canvas/`) lays these groups out.
 *
 * @module
 */
import { computed, type ReadonlySignal } from "@preact/signals";
import type { Group } from "../../canvas/auto_layout.ts";
import { nodeIds, nodeSignal } from "../../state/fleet.ts";
import { clusters, roamers } from "../../state/queue.ts";

function byName(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true });
}

/** Groups from inventory: each cluster, the roamer pool, then nodes in neither. */
export const canvasGroups: ReadonlySignal<Group[]> = computed<Group[]>(() => {
  const ids = nodeIds.value;
  const known = new Set(ids);
  const pool = Object.keys(roamers.value).filter((id) => known.has(id)).sort(byName);
  const inPool = new Set(pool);
  const byCluster = new Map<string, string[]>();
  for (const c of clusters.value) byCluster.set(c.id, []);
  for (const id of ids) {
    if (inPool.has(id)) continue;
    const c = nodeSignal(id)?.peek().cluster;
    if (c) (byCluster.get(c) ?? byCluster.set(c, []).get(c)!).push(id);
  }
  const out: Group[] = [...byCluster.entries()].sort(([a], [b]) => byName(a, b)).map((
    [id, members],
  ) => ({ id, kind: "cluster" as const, label: id, members }));
  if (pool.length) {
    out.push({ id: "roamers", kind: "roamers", label: "Roamer pool", members: pool });
  }
  const grouped = new Set(out.flatMap((g) => g.members));
  const rest = ids.filter((id) => !grouped.has(id));
  if (rest.length) {
    out.push({ id: "unassigned", kind: "unassigned", label: "Unassigned", members: rest });
  }
  return out;
});
