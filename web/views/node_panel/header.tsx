/**
 * The head of the details panel: who the node is (name, id, host, arch, agent, cluster, role),
 * how it is (status, uptime, a "last seen" age that ticks every second), and — when it is not
 * healthy — a strip that says so in amber or red, so an operator tells a quiet node from a dead
 * one at a glance. A roamer also shows its state and what it serves.
 *
 * @module
 */
import type { NodeSummary, RoamerInfo } from "../../../shared/protocol/mod.ts";
import { formatAge, formatUptime, now } from "../../state/clock.ts";
import { formatSkew, formatTime, skewTitle } from "../../state/format.ts";
import { roamers } from "../../state/queue.ts";
import { selectedNode } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { RoamerStateChip } from "../../ui/state_chip.tsx";

const STATUS_WORD: Record<NodeSummary["status"], string> = {
  online: "Online",
  degraded: "Degraded",
  offline: "Offline",
  pending: "Pending",
};

/** "last seen 4 s ago", re-rendered alone every second. */
function LastSeen({ node }: { node: NodeSummary }) {
  const at = now.value;
  const text = node.last_seen ? `${formatAge(node.last_seen, at)} ago` : "never";
  return (
    <span
      class={`last-seen ${node.status}`}
      data-testid="panel-last-seen"
      title={node.last_seen ? `last sample received ${formatTime(node.last_seen)}` : undefined}
    >
      <Icon name="clock" size={13} />
      seen {text}
    </span>
  );
}

/** The amber/red strip of a node that is not well. */
function Alert({ node }: { node: NodeSummary }) {
  const age = node.last_seen ? formatAge(node.last_seen, now.value) : null;
  if (node.status === "degraded") {
    return (
      <div class="panel-alert degraded" role="status" data-testid="panel-alert">
        <Icon name="alert" size={15} />
        <span>
          <b>Degraded</b> — no sample for {age}. The agent may be struggling or the link is lossy.
        </span>
      </div>
    );
  }
  if (node.status === "offline") {
    return (
      <div class="panel-alert offline" role="status" data-testid="panel-alert">
        <Icon name="alert" size={15} />
        <span>
          <b>Offline</b> — {node.last_seen
            ? `last sample ${age} ago (${formatTime(node.last_seen)}). Values below are from then.`
            : "never reported."}
        </span>
      </div>
    );
  }
  if (node.status === "pending") {
    return (
      <div class="panel-alert pending" role="status" data-testid="panel-alert">
        <Icon name="clock" size={15} />
        <span>Waiting for the first sample from this node's agent.</span>
      </div>
    );
  }
  return null;
}

/** What a roamer is doing: its state chip and assignment. */
function RoamerLine({ r }: { r: RoamerInfo }) {
  const a = r.assignment;
  const target = a ? (a.cluster ? `cluster ${a.cluster}` : `template ${a.template}`) : null;
  let mode = "";
  if (a?.mode === "until_idle") mode = "until idle";
  else if (a?.mode === "manual") mode = "until released";
  else if (a?.mode === "minutes" && a.until) {
    mode = a.until > now.value ? `${formatAge(now.value, a.until)} left` : "time is up";
  }
  return (
    <div class="panel-roamer" data-testid="panel-roamer">
      <span class="panel-roamer-label">Roamer</span>
      <RoamerStateChip state={r.state} />
      {target
        ? (
          <span class="panel-roamer-target">
            serving <b>{target}</b>
            {mode ? <span class="mute">· {mode}</span> : null}
            {a?.image ? <code class="mute">{a.image}</code> : null}
          </span>
        )
        : <span class="mute">in the pool, free to assign</span>}
      {r.release_requested ? <span class="chip">release requested</span> : null}
      {r.detail && r.state === "FAILED" ? <span class="panel-roamer-err">{r.detail}</span> : null}
    </div>
  );
}

/** The panel header. */
export function PanelHeader({ node }: { node: NodeSummary }) {
  const roamer = roamers.value[node.id];
  const showId = node.id !== node.name;
  const host = node.hostname && node.hostname !== node.name ? node.hostname : null;
  // The role is implied by the cluster chip or the roamer line; show it when it says more.
  const role = node.role && !(node.role === "cluster" && node.cluster) &&
      !(node.role === "roamer" && roamer)
    ? node.role
    : null;
  return (
    <header class={`panel-head ${node.status}`}>
      <div class="panel-title">
        <span class={`dot ${node.status}`} />
        <div class="panel-name">
          <h2 title={node.name}>{node.name}</h2>
          {showId || host
            ? (
              <div class="panel-ids mono">
                {showId ? <span title="node id">{node.id}</span> : null}
                {host ? <span title="hostname">{host}</span> : null}
              </div>
            )
            : null}
        </div>
        <button
          type="button"
          class="ghost icon panel-close"
          onClick={() => (selectedNode.value = null)}
          aria-label="Close details (Escape)"
          title="Close (Esc)"
          data-testid="panel-close"
        >
          <Icon name="close" size={18} />
        </button>
      </div>
      <div class="panel-status-row">
        <span class={`status-word ${node.status}`} data-testid="panel-status">
          {STATUS_WORD[node.status]}
        </span>
        <LastSeen node={node} />
        <span class="panel-uptime" title="uptime">
          <Icon name="activity" size={13} />
          up {formatUptime(node.last_sample?.uptime_s)}
        </span>
      </div>
      <div class="panel-chips">
        {node.cluster
          ? (
            <span class="chip chip-cluster" title="cluster">
              <span class="chip-key">cluster</span> {node.cluster}
            </span>
          )
          : null}
        {role
          ? (
            <span class="chip" title="role">
              <span class="chip-key">role</span> {role}
            </span>
          )
          : null}
        {node.type ? <span class="chip" title="hardware type">{node.type}</span> : null}
        {node.arch ? <span class="chip" title="architecture">{node.arch}</span> : null}
        {node.agent_version
          ? <span class="chip" title="agent version">agent {node.agent_version}</span>
          : null}
        {node.control === true
          ? (
            <span
              class="chip chip-ok"
              title="the agent's control channel is connected (round trip)"
            >
              link{node.rtt_ms != null ? ` ${Math.round(node.rtt_ms)} ms` : ""}
            </span>
          )
          : node.control === false
          ? (
            <span class="chip chip-mute" title="the agent's control channel is not connected">
              no link
            </span>
          )
          : null}
        {node.clock_skew_s != null
          ? (
            <span
              class="chip chip-warn"
              title={skewTitle(node.clock_skew_s)}
              data-testid="panel-clock"
            >
              clock off {formatSkew(node.clock_skew_s)}
            </span>
          )
          : null}
        {node.spool_dropped > 0
          ? (
            <span class="chip chip-warn" title="samples the agent had to drop from its spool">
              {node.spool_dropped} dropped
            </span>
          )
          : null}
      </div>
      <Alert node={node} />
      {node.recovery && !node.recovery.ok
        ? (
          <div class="panel-alert degraded" data-testid="panel-recovery">
            <Icon name="alert" size={15} />
            <span>
              <b>Boot recovery failed</b> ({formatTime(node.recovery.at)}):{" "}
              {node.recovery.steps.filter((s) => !s.ok).map((s) => s.step).join(", ")}
            </span>
          </div>
        )
        : null}
      {roamer ? <RoamerLine r={roamer} /> : null}
    </header>
  );
}
