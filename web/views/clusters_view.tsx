/**
 * The cluster overview: one card per cluster of fleet.yml with its workers online / total, queue
 * depth and running jobs (from `clusters`, re-read by the queue state when events say they
 * moved), utilisation bars averaged over its online workers' latest samples (live through each
 * node's signal), its member nodes and the roamers lent to it. Clicking a node opens its panel.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { ClusterInfo, NodeSummary } from "../../shared/protocol/mod.ts";
import { clusters, loadClusters, queueError, roamers } from "../state/queue.ts";
import { latestSeries, nodeSignal } from "../state/fleet.ts";
import { formatAge } from "../state/clock.ts";
import { formatPct } from "../state/format.ts";
import { selectedNode } from "../state/ui.ts";
import { Icon } from "../ui/icon.tsx";
import { isAdmin } from "../state/session.ts";
import { runCommandOnCluster } from "../state/exec.ts";
import { RoamerStateChip } from "../ui/state_chip.tsx";

const EXAMPLE = `clusters:
  - id: vision
    purpose: SDXL image generation
    template: sdxl
    nodes: [agx-01, agx-02]`;

function average(values: (number | undefined)[]): number | null {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** A labelled utilisation bar; grey "no data" when nothing reports the series. */
function UtilBar(
  { label, value, testid }: { label: string; value: number | null; testid: string },
) {
  const level = value === null ? "" : value >= 90 ? " crit" : value >= 75 ? " warn" : "";
  return (
    <div class="util" data-testid={testid}>
      <span class="util-label">{label}</span>
      <div class={`bar${level}`}>
        <i style={{ width: `${Math.max(0, Math.min(100, value ?? 0))}%` }} />
      </div>
      <span class="util-value num">{value === null ? "no data" : formatPct(value)}</span>
    </div>
  );
}

/** A node as a small status dot with its name; opens the node's panel. */
function Member({ n, id }: { n: NodeSummary | undefined; id: string }) {
  const s = n ? latestSeries(n) : null;
  const tip = n
    ? `${n.name} · ${n.status} · CPU ${formatPct(s?.cpu_pct)} · GPU ${
      formatPct(s?.gpu_pct)
    } · seen ${formatAge(n.last_seen)} ago`
    : `${id} · not enrolled`;
  return (
    <button
      type="button"
      class={selectedNode.value === id ? "member selected" : "member"}
      title={tip}
      data-testid="cluster-member"
      data-node={id}
      onClick={() => (selectedNode.value = id)}
    >
      <span class={`dot ${n?.status ?? "pending"}`} />
      {n?.name ?? id}
    </button>
  );
}

function ClusterCard({ c }: { c: ClusterInfo }) {
  const workers = [...c.nodes, ...c.roamers];
  const summaries = workers.map((id) => nodeSignal(id)?.value);
  const live = summaries.filter((n): n is NodeSummary => n?.status === "online")
    .map((n) => latestSeries(n));
  const cpu = average(live.map((s) => s?.cpu_pct));
  const gpu = average(live.map((s) => s?.gpu_pct));
  const mem = average(live.map((s) => s?.mem_pct));
  const { online, total } = c.workers;
  const backlog = c.queue.pending > 2 * Math.max(online, 0) && c.queue.pending > 0;
  const health = total === 0 ? "off" : online === total ? "ok" : online === 0 ? "bad" : "wait";
  return (
    <article class="card cluster-card" data-testid="cluster-card" data-cluster={c.id}>
      <header class="cluster-head">
        <div class="cluster-title">
          <h2>{c.id}</h2>
          {c.template
            ? (
              <span class="chip template" title="template its roamers provision">
                <Icon name="box" size={12} />
                {c.template}
              </span>
            )
            : null}
          {isAdmin.value && workers.length
            ? (
              <button
                type="button"
                class="ghost cluster-run"
                title={`Run a command on every node of ${c.id}`}
                onClick={() => runCommandOnCluster(c.id)}
                data-testid="cluster-run-command"
              >
                <Icon name="exec" size={14} /> Run command
              </button>
            )
            : null}
        </div>
        <p class="cluster-purpose">{c.purpose ?? "No purpose set in fleet.yml"}</p>
      </header>
      <div class="stats">
        <div class={`stat tone-${health}`} data-testid="cluster-workers">
          <span class="stat-value num">
            {online}
            <small>/{total}</small>
          </span>
          <span class="stat-label">workers</span>
        </div>
        <div class={c.queue.pending ? "stat tone-wait" : "stat"} data-testid="cluster-pending">
          <span class="stat-value num">{c.queue.pending}</span>
          <span class="stat-label">queued</span>
        </div>
        <div class={c.queue.running ? "stat tone-ok" : "stat"} data-testid="cluster-running">
          <span class="stat-value num">{c.queue.running}</span>
          <span class="stat-label">running</span>
        </div>
      </div>
      {backlog
        ? (
          <p class="backlog" title="the autoscaler lends a roamer when queued > 2 × workers online">
            <Icon name="alert" size={13} /> Backlog: more than twice the workers online
          </p>
        )
        : null}
      <div class="utils">
        <UtilBar label="CPU" value={cpu} testid="cluster-cpu" />
        <UtilBar label="GPU" value={gpu} testid="cluster-gpu" />
        <UtilBar label="RAM" value={mem} testid="cluster-mem" />
      </div>
      <section class="members">
        <h3>
          Nodes <span class="count num">{c.nodes.length}</span>
        </h3>
        <div class="member-list">
          {c.nodes.length
            ? c.nodes.map((id, i) => <Member key={id} id={id} n={summaries[i]} />)
            : <span class="mute">No dedicated nodes</span>}
        </div>
      </section>
      <section class="members">
        <h3>
          Lent roamers <span class="count num">{c.roamers.length}</span>
        </h3>
        <div class="member-list">
          {c.roamers.length
            ? c.roamers.map((id, i) => (
              <span class="lent" key={id} data-testid="cluster-roamer" data-node={id}>
                <Member id={id} n={summaries[c.nodes.length + i]} />
                {roamers.value[id] ? <RoamerStateChip state={roamers.value[id].state} /> : null}
              </span>
            ))
            : <span class="mute">None right now</span>}
        </div>
      </section>
    </article>
  );
}

/** The clusters view. */
export function ClustersView() {
  const loaded = useSignal(clusters.peek().length > 0);
  useEffect(() => {
    void loadClusters().finally(() => (loaded.value = true));
  }, []);
  const list = clusters.value;
  if (!list.length) {
    if (!loaded.value) {
      return (
        <div class="view empty" data-testid="clusters-view" data-state="loading">
          <span class="spinner" />
          Loading clusters…
        </div>
      );
    }
    if (queueError.value) {
      return (
        <div class="view empty" data-testid="clusters-view" data-state="error">
          <Icon name="alert" size={28} />
          <h2>Could not load clusters</h2>
          <p class="error-text">{queueError.value}</p>
          <button type="button" onClick={() => void loadClusters()}>Try again</button>
        </div>
      );
    }
    return (
      <div class="view empty" data-testid="clusters-view" data-state="empty">
        <Icon name="clusters" size={32} />
        <h2>No clusters in fleet.yml</h2>
        <p>Group dedicated nodes into clusters; each gets its own queue and roamers on demand.</p>
        <pre class="snippet">{EXAMPLE}</pre>
      </div>
    );
  }
  const t = list.reduce(
    (a, c) => ({
      online: a.online + c.workers.online,
      total: a.total + c.workers.total,
      pending: a.pending + c.queue.pending,
      running: a.running + c.queue.running,
    }),
    { online: 0, total: 0, pending: 0, running: 0 },
  );
  return (
    <div class="view" data-testid="clusters-view" data-state="ready">
      <div class="view-head">
        <div>
          <h2>Clusters</h2>
          <p class="view-sub">
            <span class="num">{list.length}</span> clusters ·{" "}
            <span class="num">{t.online}/{t.total}</span> workers online ·{" "}
            <span class="num">{t.pending}</span> queued · <span class="num">{t.running}</span>{" "}
            running
          </p>
        </div>
      </div>
      <div class="cluster-grid">{list.map((c) => <ClusterCard key={c.id} c={c} />)}</div>
    </div>
  );
}
