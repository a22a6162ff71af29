/**
 * The Nodes tab: every swarm node with its role (leader marked), availability (drained amber,
 * paused grey), state (down red, with Docker's message), engine version, platform, resources
 * (GPUs as generic resources), labels, running tasks and the fleet node it is (its panel opens).
 * Admins drain / activate, promote / demote, edit labels and remove a node.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { SwarmNode, SwarmNodeAction } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { formatBytes } from "../../state/format.ts";
import { isAdmin } from "../../state/session.ts";
import { loadNodes, swarmErrors, swarmNodes } from "../../state/swarm.ts";
import { selectedNode, toast } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { confirmDialog, FormError, Modal } from "../../ui/modal.tsx";
import { nodeAction } from "./node_actions.ts";

async function removeNode(n: SwarmNode): Promise<void> {
  const live = n.state !== "down";
  const ok = await confirmDialog({
    title: `Remove ${n.hostname} from the swarm?`,
    body: live
      ? "The node is not down: it is removed by force and its tasks are rescheduled. It rejoins only with a new join token (its boot recovery does that)."
      : "The node is down; it is forgotten by the swarm. It rejoins with a new join token.",
    confirm: live ? "Remove by force" : "Remove",
    danger: true,
  });
  if (!ok) return;
  try {
    await api.swarmNodeRemove(n.id, live);
    toast(`${n.hostname} removed from the swarm`, "ok");
  } catch (err) {
    toast(`Remove ${n.hostname} failed: ${(err as Error).message}`, "error");
  }
  void loadNodes();
}

function LabelsDialog({ n, onClose }: { n: SwarmNode; onClose: () => void }) {
  const key = useSignal("");
  const val = useSignal("");
  const removing = useSignal<ReadonlySet<string>>(new Set());
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async () => {
    const add: Record<string, string> = {};
    if (key.value.trim()) add[key.value.trim()] = val.value;
    const remove = [...removing.value];
    if (!Object.keys(add).length && !remove.length) return onClose();
    busy.value = true;
    error.value = null;
    try {
      await api.swarmNodeLabels(n.id, {
        ...(Object.keys(add).length ? { add } : {}),
        ...(remove.length ? { remove } : {}),
      });
      toast(`${n.hostname}: labels saved`, "ok");
      await loadNodes();
      onClose();
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };
  const labels = Object.entries(n.labels);
  return (
    <Modal
      title={`Labels · ${n.hostname}`}
      subtitle="Constraints such as node.labels.gpu == true place services on labelled nodes."
      onClose={onClose}
      onSubmit={() => void submit()}
      testid="labels-dialog"
      footer={
        <>
          <button type="button" class="ghost" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy.value} data-testid="labels-save">
            {busy.value ? "Saving…" : "Save"}
          </button>
        </>
      }
    >
      {labels.length
        ? (
          <ul class="sw-label-list">
            {labels.map(([k, v]) => {
              const gone = removing.value.has(k);
              return (
                <li key={k} class={gone ? "gone" : ""}>
                  <code>{k}={v}</code>
                  <button
                    type="button"
                    class="small ghost"
                    onClick={() => {
                      const s = new Set(removing.value);
                      if (gone) s.delete(k);
                      else s.add(k);
                      removing.value = s;
                    }}
                  >
                    {gone ? "Keep" : "Remove"}
                  </button>
                </li>
              );
            })}
          </ul>
        )
        : <p class="hint">No labels yet.</p>}
      <div class="form-grid">
        <label>
          Add label
          <input
            class="mono"
            placeholder="gpu"
            value={key.value}
            onInput={(e) => (key.value = (e.target as HTMLInputElement).value)}
            data-testid="label-key"
          />
        </label>
        <label>
          Value
          <input
            class="mono"
            placeholder="true"
            value={val.value}
            onInput={(e) => (val.value = (e.target as HTMLInputElement).value)}
            data-testid="label-value"
          />
        </label>
      </div>
      <FormError message={error.value} />
    </Modal>
  );
}

function availabilityTone(a: string): string {
  return a === "active" ? "ok" : a === "drain" ? "wait" : "off";
}

function NodeRow({ n, onLabels }: { n: SwarmNode; onLabels: () => void }) {
  const admin = isAdmin.value;
  const busy = useSignal<string | null>(null);
  const run = async (a: SwarmNodeAction) => {
    busy.value = a;
    await nodeAction(n, a);
    busy.value = null;
  };
  const gpus = n.generic_resources.filter((g) => /gpu/i.test(g.kind));
  return (
    <tr
      data-testid="swarm-node-row"
      data-node={n.hostname}
      data-availability={n.availability}
      class={n.availability === "drain" ? "drained" : ""}
    >
      <td class="sw-name">
        <b>{n.hostname}</b>
        {n.self ? <span class="chip sw-self" title="the engine the hub talks to">hub</span> : null}
        <div class="sub mute">
          {n.addr ?? "—"} · <code>{n.id.slice(0, 10)}</code>
        </div>
      </td>
      <td>
        <span class={`chip sw-role ${n.role}`}>{n.leader ? "leader" : n.role}</span>
        {n.manager_reachability && n.manager_reachability !== "reachable"
          ? <div class="sub bad-text">{n.manager_reachability}</div>
          : null}
      </td>
      <td>
        <span
          class={`chip state tone-${availabilityTone(n.availability)}`}
          data-testid="node-availability"
        >
          <i class="state-dot" />
          {n.availability === "drain" ? "drained" : n.availability}
        </span>
      </td>
      <td>
        <span
          class={`chip state tone-${n.state === "ready" ? "ok" : "bad"}`}
          title={n.message ?? n.state}
        >
          <i class="state-dot" />
          {n.state}
        </span>
      </td>
      <td class="num">{n.engine_version ?? "—"}</td>
      <td class="mute">
        {[n.os, n.arch].filter(Boolean).join("/") || "—"}
        <div class="sub">
          {n.nano_cpus ? `${Math.round(n.nano_cpus / 1e9)} CPU` : ""}
          {n.memory_b ? ` · ${formatBytes(n.memory_b)}` : ""}
          {gpus.length ? ` · ${gpus.map((g) => `${g.kind}=${g.value}`).join(", ")}` : ""}
        </div>
      </td>
      <td class="sw-labels">
        {Object.entries(n.labels).slice(0, 4).map(([k, v]) => (
          <span key={k} class="chip sw-label">{k}={v}</span>
        ))}
        {Object.keys(n.labels).length > 4
          ? <span class="mute">+{Object.keys(n.labels).length - 4}</span>
          : null}
        {!Object.keys(n.labels).length ? <span class="mute">—</span> : null}
      </td>
      <td class="num right">{n.tasks_running}</td>
      <td>
        {n.fleet_node_id
          ? (
            <button
              type="button"
              class="link"
              onClick={() => (selectedNode.value = n.fleet_node_id)}
              title="Open the fleet node's panel"
            >
              {n.fleet_node_id}
            </button>
          )
          : <span class="mute" title="no fleet node has this hostname">—</span>}
      </td>
      {admin
        ? (
          <td class="actions-cell">
            {n.availability === "drain" || n.availability === "pause"
              ? (
                <button
                  type="button"
                  disabled={!!busy.value}
                  onClick={() => void run("activate")}
                  data-testid="node-activate"
                >
                  {busy.value === "activate"
                    ? <span class="spinner small" />
                    : <Icon name="play" size={12} />} Activate
                </button>
              )
              : (
                <button
                  type="button"
                  disabled={!!busy.value}
                  onClick={() => void run("drain")}
                  data-testid="node-drain"
                >
                  {busy.value === "drain"
                    ? <span class="spinner small" />
                    : <Icon name="stop" size={12} />} Drain
                </button>
              )}
            {n.role === "worker"
              ? (
                <button type="button" disabled={!!busy.value} onClick={() => void run("promote")}>
                  Promote
                </button>
              )
              : (
                <button
                  type="button"
                  disabled={!!busy.value || n.self}
                  title={n.self ? "The hub's own engine stays a manager" : undefined}
                  onClick={() => void run("demote")}
                >
                  Demote
                </button>
              )}
            <button type="button" onClick={onLabels} data-testid="node-labels">Labels</button>
            <button
              type="button"
              class="ghost icon sw-stop"
              disabled={n.self}
              title={n.self
                ? "The hub's own engine cannot be removed here"
                : "Remove from the swarm"}
              aria-label="Remove"
              onClick={() => void removeNode(n)}
            >
              <Icon name="trash" size={15} />
            </button>
          </td>
        )
        : null}
    </tr>
  );
}

/** The nodes tab. */
export function NodesTab() {
  const labels = useSignal<SwarmNode | null>(null);
  const list = swarmNodes.value;
  const err = swarmErrors.value.nodes;
  if (!list) {
    return (
      <div class="card empty-state table-empty" data-state={err ? "error" : "loading"}>
        {err ? <Icon name="alert" size={26} /> : <span class="spinner" />}
        {err ? <p class="error-text">{err}</p> : "Reading the swarm's nodes…"}
      </div>
    );
  }
  const sorted = [...list].sort((a, b) =>
    (a.role === b.role ? 0 : a.role === "manager" ? -1 : 1) ||
    a.hostname.localeCompare(b.hostname, undefined, { numeric: true })
  );
  return (
    <div data-testid="nodes-tab">
      <div class="card table-card">
        <table class="grid sw-node-table">
          <thead>
            <tr>
              <th>Node</th>
              <th>Role</th>
              <th>Availability</th>
              <th>State</th>
              <th>Engine</th>
              <th>Platform</th>
              <th>Labels</th>
              <th class="right">Tasks</th>
              <th>Fleet node</th>
              {isAdmin.value ? <th class="actions-cell" /> : null}
            </tr>
          </thead>
          <tbody>
            {sorted.map((n) => <NodeRow key={n.id} n={n} onLabels={() => (labels.value = n)} />)}
          </tbody>
        </table>
      </div>
      {labels.value
        ? <LabelsDialog n={labels.value} onClose={() => (labels.value = null)} />
        : null}
    </div>
  );
}
