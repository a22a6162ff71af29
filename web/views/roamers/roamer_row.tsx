/**
 * One roamer in the pool table: its node (status, last seen), live state and how long it has
 * been in it, its assignment (target, image, mode with a countdown for fixed-time loans, who
 * assigned it), the agent's last detail, and the admin's Assign / Release buttons.
 *
 * @module
 */
import type { AssignMode, RoamerInfo } from "../../../shared/protocol/mod.ts";
import { nodeSignal } from "../../state/fleet.ts";
import { formatAge, now } from "../../state/clock.ts";
import { selectedNode } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { RoamerStateChip } from "../../ui/state_chip.tsx";

const MODE_LABEL: Record<AssignMode, string> = {
  until_idle: "until idle",
  minutes: "fixed time",
  manual: "manual",
};

/** States a roamer can be released from. */
export const RELEASABLE = new Set(["ASSIGNED", "PROVISIONING", "RUNNING", "FAILED"]);

/** "12:04 left", "1 h 05 min left", "time is up". */
function countdown(until: number, at: number): string {
  const s = Math.floor((until - at) / 1000);
  if (s <= 0) return "time is up";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h
    ? `${h} h ${String(m).padStart(2, "0")} min left`
    : `${m}:${String(sec).padStart(2, "0")} left`;
}

function Assignment({ r }: { r: RoamerInfo }) {
  const a = r.assignment;
  if (!a) return <span class="mute">In the pool</span>;
  const target = a.cluster
    ? `cluster ${a.cluster}`
    : a.template
    ? `template ${a.template}`
    : "custom image";
  return (
    <div class="assign-cell">
      <div class="assign-target">
        <Icon name={a.cluster ? "clusters" : "box"} size={13} />
        <b>{target}</b>
      </div>
      {a.image ? <code class="image" title={a.image}>{a.image}</code> : null}
    </div>
  );
}

function Mode({ r }: { r: RoamerInfo }) {
  const a = r.assignment;
  if (!a) return <span class="mute">—</span>;
  return (
    <div class="mode-cell">
      <span>{MODE_LABEL[a.mode]}</span>
      {a.mode === "minutes" && a.until
        ? (
          <span class="countdown num" data-testid="roamer-countdown">
            {countdown(a.until, now.value)}
          </span>
        )
        : null}
      <span class="by mute" title={`assigned ${new Date(a.at).toLocaleString()}`}>
        by {a.by} · {formatAge(a.at)} ago
      </span>
    </div>
  );
}

/** Why a busy roamer cannot be assigned (the Assign button's tooltip and text). */
export function assignBlocked(r: RoamerInfo): string | null {
  if (r.state === "IDLE") return null;
  if (r.state === "FAILED") return "FAILED: release it (acknowledges the failure) to assign it";
  if (r.release_requested || r.state === "CLEANUP") {
    return `${r.state}, being released: it can be assigned once it is IDLE again`;
  }
  return `${r.state}: release it or wait until it goes idle before assigning it`;
}

/** The row; `onAssign`/`onRelease` are absent for viewers (no buttons then). */
export function RoamerRow({ r, onAssign, onRelease }: {
  r: RoamerInfo;
  onAssign?: () => void;
  onRelease?: () => void;
}) {
  const n = nodeSignal(r.node_id)?.value;
  const status = n?.status ?? "pending";
  return (
    <tr
      data-testid="roamer-row"
      data-roamer={r.node_id}
      data-state={r.state}
      class={selectedNode.value === r.node_id ? "selected" : ""}
    >
      <td>
        <button
          type="button"
          class="node-link"
          onClick={() => (selectedNode.value = r.node_id)}
          title="Open the node's details"
        >
          <span class={`dot ${status}`} />
          <span class="node-name">{n?.name ?? r.node_id}</span>
        </button>
        <div class="sub mute">
          {status} · seen <span class="num">{formatAge(n?.last_seen)}</span>
          {n?.last_seen ? " ago" : ""}
        </div>
      </td>
      <td>
        <RoamerStateChip state={r.state} />
        {r.manual_only
          ? (
            <span
              class="chip manual-only"
              title="The autoscaler never lends this roamer; it is kept for assignment by hand"
              data-testid="roamer-manual-only"
            >
              manual only
            </span>
          )
          : null}
        <div class="sub mute">
          for <span class="num">{formatAge(r.state_at)}</span>
          {r.release_requested
            ? <span class="chip releasing" data-testid="roamer-releasing">releasing</span>
            : null}
        </div>
      </td>
      <td>
        <Assignment r={r} />
      </td>
      <td>
        <Mode r={r} />
      </td>
      <td class="detail-cell" title={r.detail ?? ""}>
        {r.detail
          ? <span class={r.state === "FAILED" ? "detail bad" : "detail"}>{r.detail}</span>
          : <span class="mute">—</span>}
      </td>
      {onAssign || onRelease
        ? (
          <td class="actions-cell">
            {onAssign
              ? (
                <button
                  type="button"
                  onClick={onAssign}
                  disabled={r.state !== "IDLE"}
                  title={assignBlocked(r) ?? "Lend this roamer to a cluster, template or image"}
                  aria-describedby={r.state !== "IDLE" ? `assign-why-${r.node_id}` : undefined}
                  data-testid="roamer-assign"
                >
                  Assign…
                </button>
              )
              : null}
            {onAssign && r.state !== "IDLE"
              ? (
                // The reason is the button's tooltip; this copy is for screen readers only, so
                // a busy row stays one line high.
                <span class="assign-why" id={`assign-why-${r.node_id}`}>
                  {assignBlocked(r)}
                </span>
              )
              : null}
            {RELEASABLE.has(r.state) && onRelease
              ? (
                <button
                  type="button"
                  class="release"
                  onClick={onRelease}
                  disabled={r.release_requested}
                  data-testid="roamer-release"
                >
                  <Icon name="release" size={14} /> Release
                </button>
              )
              : null}
          </td>
        )
        : null}
    </tr>
  );
}
