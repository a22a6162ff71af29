/**
 * Clusters, roamers, templates and jobs as the views show them. Each list is loaded once and
 * kept current by stream events: a `roamer.state` event carries the whole roamer; a `job.state`
 * event patches the job in place; cluster numbers (queue depth, workers) are re-read, debounced,
 * when events say they moved.
 *
 * @module
 */
import { signal } from "@preact/signals";
import type {
  ClusterInfo,
  JobInfo,
  JobState,
  RoamerInfo,
  TemplateInfo,
} from "../../shared/protocol/mod.ts";
import { api } from "./api.ts";
import { onEvent, onResync } from "./stream.ts";

/** Every cluster with its workers and queue. */
export const clusters = signal<ClusterInfo[]>([]);
/** Every roamer by node id. */
export const roamers = signal<Record<string, RoamerInfo>>({});
/** Templates from fleet.yml. */
export const templates = signal<TemplateInfo[]>([]);
/** Jobs running or claimed, per node (the card's job badge). */
export const nodeJobs = signal<Record<string, string[]>>({});
/** The Jobs view's list, newest first, and its filter. */
export const jobs = signal<JobInfo[]>([]);
export const jobFilter = signal<{ state?: JobState; cluster?: string; node?: string }>({});
export const jobsLoading = signal(false);
export const queueError = signal<string | null>(null);

function debounce(fn: () => void, ms: number): () => void {
  let t: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(t);
    t = setTimeout(fn, ms);
  };
}

/** Reads a list into its signal, or records why it failed. */
async function loadList<T>(read: () => Promise<T[]>, apply: (list: T[]) => void): Promise<void> {
  try {
    apply(await read());
  } catch (err) {
    queueError.value = (err as Error).message;
  }
}

/** Re-reads the cluster overview. */
export function loadClusters(): Promise<void> {
  return loadList(() => api.clusters(), (list) => (clusters.value = list));
}

/** Re-reads the roamer pool. */
export function loadRoamers(): Promise<void> {
  return loadList(() => api.roamers(), (list) => {
    roamers.value = Object.fromEntries(list.map((r) => [r.node_id, r]));
  });
}

/** Re-reads the templates. */
export function loadTemplates(): Promise<void> {
  return loadList(() => api.templates(), (list) => (templates.value = list));
}

async function loadNodeJobs(): Promise<void> {
  const [claimed, running] = await Promise.all([
    api.jobs({ state: "claimed", limit: 1000 }),
    api.jobs({ state: "running", limit: 1000 }),
  ]).catch(() => [{ jobs: [] }, { jobs: [] }]);
  const map: Record<string, string[]> = {};
  for (const j of [...claimed.jobs, ...running.jobs]) {
    if (j.claimed_by) (map[j.claimed_by] ??= []).push(j.id);
  }
  nodeJobs.value = map;
}

/** Re-reads the Jobs view's list with the current filter. */
export async function loadJobs(): Promise<void> {
  const f = jobFilter.value;
  jobsLoading.value = true;
  try {
    // Empty filter fields mean "any": they are left out of the query.
    jobs.value = (await api.jobs({
      limit: 200,
      state: f.state || undefined,
      cluster: f.cluster || undefined,
      node: f.node || undefined,
    })).jobs;
    queueError.value = null;
  } catch (err) {
    queueError.value = (err as Error).message;
  } finally {
    jobsLoading.value = false;
  }
}

const reloadClusters = debounce(loadClusters, 400);
const reloadJobs = debounce(loadJobs, 300);

/** Loads everything once and subscribes to the stream; call after login. */
export function startQueueState(): void {
  void loadClusters();
  void loadRoamers();
  void loadTemplates();
  void loadNodeJobs();
  void loadJobs();
}

onResync(() => startQueueState());

onEvent("roamer.state", (e) => {
  roamers.value = { ...roamers.value, [e.roamer.node_id]: e.roamer };
  reloadClusters();
});

onEvent(
  "job.state",
  (e) => {
    // The node's badge: on while claimed or running.
    const map = { ...nodeJobs.value };
    for (const [n, ids] of Object.entries(map)) {
      if (ids.includes(e.job_id)) map[n] = ids.filter((id) => id !== e.job_id);
    }
    if ((e.state === "claimed" || e.state === "running") && e.node) {
      map[e.node] = [...(map[e.node] ?? []), e.job_id];
    }
    nodeJobs.value = map;
    reloadClusters();
    // The Jobs view: patch a listed job, or re-read when a new one may match the filter.
    const i = jobs.value.findIndex((j) => j.id === e.job_id);
    if (i >= 0) {
      const list = jobs.value.slice();
      list[i] = { ...list[i], state: e.state, claimed_by: e.node ?? list[i].claimed_by };
      jobs.value = list;
      if (e.state === "done" || e.state === "failed") reloadJobs();
    } else {
      reloadJobs();
    }
  },
);

onEvent("node.status", () => reloadClusters());
onEvent("node.added", () => reloadClusters());
