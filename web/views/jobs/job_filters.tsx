/**
 * The Jobs view's filter bar: state, cluster and node, bound to `jobFilter`; every change
 * re-reads the list with `loadJobs()`.
 *
 * @module
 */
import type { JobState } from "../../../shared/protocol/mod.ts";
import { JOB_STATES } from "../../../shared/protocol/enums.ts";
import { clusters, jobFilter, jobsLoading, loadJobs } from "../../state/queue.ts";
import { nodeIds, nodeSignal } from "../../state/fleet.ts";
import { Icon } from "../../ui/icon.tsx";

function set(patch: { state?: JobState; cluster?: string; node?: string }): void {
  const next = { ...jobFilter.value, ...patch };
  for (const k of Object.keys(next) as (keyof typeof next)[]) if (!next[k]) delete next[k];
  jobFilter.value = next;
  void loadJobs();
}

/** True when any filter is set. */
export function filtered(): boolean {
  const f = jobFilter.value;
  return !!(f.state || f.cluster || f.node);
}

/** The filter bar. */
export function JobFilters({ shown }: { shown: number }) {
  const f = jobFilter.value;
  const value = (e: Event) => (e.target as HTMLSelectElement).value;
  return (
    <div class="filter-bar" data-testid="job-filters">
      <Icon name="filter" size={15} />
      <select
        name="state"
        value={f.state ?? ""}
        onChange={(e) => set({ state: (value(e) || undefined) as JobState | undefined })}
        data-testid="filter-state"
        aria-label="State"
      >
        <option value="">Any state</option>
        {JOB_STATES.map((s) => <option key={s} value={s}>{s}</option>)}
      </select>
      <select
        name="cluster"
        value={f.cluster ?? ""}
        onChange={(e) => set({ cluster: value(e) || undefined })}
        data-testid="filter-cluster"
        aria-label="Cluster"
      >
        <option value="">Any cluster</option>
        {clusters.value.map((c) => <option key={c.id} value={c.id}>{c.id}</option>)}
      </select>
      <select
        name="node"
        value={f.node ?? ""}
        onChange={(e) => set({ node: value(e) || undefined })}
        data-testid="filter-node"
        aria-label="Node"
      >
        <option value="">Any node</option>
        {nodeIds.value.map((id) => (
          <option key={id} value={id}>{nodeSignal(id)?.peek().name ?? id}</option>
        ))}
      </select>
      {filtered()
        ? (
          <button
            type="button"
            class="ghost"
            onClick={() => {
              jobFilter.value = {};
              void loadJobs();
            }}
            data-testid="filter-clear"
          >
            Clear
          </button>
        )
        : null}
      <span class="filter-count mute">
        {jobsLoading.value ? <span class="spinner small" /> : null}
        {jobsLoading.value && !shown ? null : (
          <>
            <span class="num">{shown}</span> {shown === 1 ? "job" : "jobs"}
            {shown >= 200 ? " (newest)" : ""}
          </>
        )}
      </span>
      <button
        type="button"
        class="ghost icon"
        onClick={() => void loadJobs()}
        title="Reload the list"
        aria-label="Reload"
      >
        <Icon name="refresh" size={15} />
      </button>
    </div>
  );
}
