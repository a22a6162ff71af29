/**
 * Where a batch command goes: the canvas selection (chips, removable; more nodes from a searchable
 * list) or a cluster of fleet.yml (its nodes and lent roamers, as the hub resolves it). Nodes
 * whose agent is not connected are marked: the hub reports them `offline` at once.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { NodeSummary } from "../../../shared/protocol/mod.ts";
import { allNodes, nodeIds, nodeSignal } from "../../state/fleet.ts";
import { clusters } from "../../state/queue.ts";
import { execTarget } from "../../state/exec.ts";
import { go, selection } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";

/** The status dot of a node as a target: red when its agent is not connected. */
export function dotClass(n: NodeSummary | undefined): string {
  if (!n) return "pending";
  return n.control === false ? "offline" : n.status;
}

/** True when the hub can reach the node's agent right now. */
export function reachable(n: NodeSummary | undefined): boolean {
  return !!n && n.control !== false && n.status !== "offline";
}

function setSelection(next: Set<string>): void {
  selection.value = next;
}

function NodeChip({ id }: { id: string }) {
  const n = nodeSignal(id)?.value;
  const ok = reachable(n);
  return (
    <span
      class={ok ? "chip target-chip" : "chip target-chip unreachable"}
      data-testid="exec-target-chip"
      data-node={id}
      title={ok ? `${n?.name ?? id} · ${n?.status}` : `${n?.name ?? id}: agent not connected`}
    >
      <span class={`dot ${dotClass(n)}`} />
      {n?.name ?? id}
      <button
        type="button"
        class="chip-x"
        aria-label={`remove ${n?.name ?? id}`}
        onClick={() => {
          const s = new Set(selection.value);
          s.delete(id);
          setSelection(s);
        }}
      >
        <Icon name="close" size={11} />
      </button>
    </span>
  );
}

/** The searchable node list that adds to (or removes from) the selection. */
function NodePicker({ onClose }: { onClose: () => void }) {
  const q = useSignal("");
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const away = (e: PointerEvent) => {
      if (!box.current?.contains(e.target as Node)) onClose();
    };
    const key = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        onClose();
      }
    };
    addEventListener("pointerdown", away, true);
    addEventListener("keydown", key, true);
    return () => {
      removeEventListener("pointerdown", away, true);
      removeEventListener("keydown", key, true);
    };
  }, [onClose]);
  nodeIds.value; // re-render when nodes come and go
  const needle = q.value.trim().toLowerCase();
  const list = allNodes()
    .filter((n) =>
      !needle || n.name.toLowerCase().includes(needle) || n.id.toLowerCase().includes(needle) ||
      (n.cluster ?? "").toLowerCase().includes(needle)
    )
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  const sel = selection.value;
  const toggle = (id: string) => {
    const s = new Set(sel);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelection(s);
  };
  const shown = list.slice(0, 200);
  return (
    <div class="node-picker" ref={box} data-testid="exec-node-picker">
      <div class="np-search">
        <Icon name="search" size={14} />
        <input
          type="search"
          placeholder="Filter by name, id or cluster"
          value={q.value}
          autoFocus
          onInput={(e) => (q.value = (e.target as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && shown[0]) {
              e.preventDefault();
              toggle(shown[0].id);
            }
          }}
          data-testid="exec-node-search"
        />
      </div>
      <div class="np-tools">
        <span class="mute">
          <span class="num">{list.length}</span> {list.length === 1 ? "node" : "nodes"}
        </span>
        <button
          type="button"
          class="ghost"
          disabled={!list.length}
          onClick={() => setSelection(new Set([...sel, ...list.map((n) => n.id)]))}
        >
          Add all {needle ? "matching" : ""}
        </button>
        <button
          type="button"
          class="ghost"
          disabled={!list.some((n) => sel.has(n.id))}
          onClick={() => {
            const s = new Set(sel);
            for (const n of list) s.delete(n.id);
            setSelection(s);
          }}
        >
          Remove {needle ? "matching" : "all"}
        </button>
      </div>
      <div class="np-list" role="listbox" aria-multiselectable="true">
        {shown.length === 0 ? <div class="np-empty">No node matches “{q.value}”</div> : null}
        {shown.map((n) => (
          <button
            type="button"
            role="option"
            aria-selected={sel.has(n.id)}
            class={sel.has(n.id) ? "np-item on" : "np-item"}
            onClick={() => toggle(n.id)}
            data-testid="exec-node-option"
            data-node={n.id}
            key={n.id}
          >
            <span class="np-check">{sel.has(n.id) ? <Icon name="check" size={12} /> : null}</span>
            <span class={`dot ${dotClass(n)}`} />
            <span class="np-name">{n.name}</span>
            {n.name !== n.id ? <span class="np-id mute">{n.id}</span> : null}
            <span class="np-meta mute">
              {!reachable(n) ? "not connected" : n.cluster ?? n.role ?? ""}
            </span>
          </button>
        ))}
        {list.length > shown.length
          ? <div class="np-empty">+{list.length - shown.length} more: filter to narrow</div>
          : null}
      </div>
    </div>
  );
}

/** Chips shown before "+N more" folds the rest. */
const FOLD_AT = 16;

function NodesTarget() {
  const picking = useSignal(false);
  const unfolded = useSignal(false);
  const ids = [...selection.value];
  const shown = ids.length > FOLD_AT && !unfolded.value ? ids.slice(0, FOLD_AT - 4) : ids;
  const unreachable = ids.filter((id) => !reachable(nodeSignal(id)?.value)).length;
  return (
    <div class="target-body">
      <div class="target-chips" data-testid="exec-target-chips">
        {ids.length === 0
          ? (
            <span class="target-empty">
              No nodes selected. Shift-click cards on the{" "}
              <button type="button" class="link" onClick={() => go("canvas")}>canvas</button>, or
              add them here.
            </span>
          )
          : shown.map((id) => <NodeChip key={id} id={id} />)}
        {ids.length > FOLD_AT
          ? (
            <button
              type="button"
              class="ghost more-chips"
              onClick={() => (unfolded.value = !unfolded.value)}
              data-testid="exec-more-chips"
            >
              {unfolded.value ? "Show fewer" : `+${ids.length - shown.length} more`}
            </button>
          )
          : null}
        <span class="picker-anchor">
          <button
            type="button"
            class="ghost add-nodes"
            onClick={() => (picking.value = !picking.value)}
            aria-expanded={picking.value}
            data-testid="exec-add-nodes"
          >
            <Icon name="plus" size={13} /> Add nodes
          </button>
          {picking.value ? <NodePicker onClose={() => (picking.value = false)} /> : null}
        </span>
        {ids.length
          ? (
            <button
              type="button"
              class="ghost"
              onClick={() => setSelection(new Set())}
              data-testid="exec-clear-targets"
            >
              Clear
            </button>
          )
          : null}
      </div>
      {unreachable
        ? (
          <p class="target-note warn-text" data-testid="exec-unreachable">
            <Icon name="alert" size={13} />
            {unreachable === ids.length
              ? `${ids.length === 1 ? "This node is" : "None of these nodes is"} connected`
              : `${unreachable} of ${ids.length} nodes ${
                unreachable === 1 ? "is" : "are"
              } not connected`}
            : the hub reports {unreachable === 1 ? "it" : "them"} offline without waiting.
          </p>
        )
        : null}
    </div>
  );
}

function ClusterTarget({ cluster }: { cluster: string }) {
  const list = clusters.value;
  const c = list.find((x) => x.id === cluster);
  const workers = c ? [...c.nodes, ...c.roamers] : [];
  const online = workers.filter((id) => reachable(nodeSignal(id)?.value)).length;
  return (
    <div class="target-body">
      <div class="target-chips">
        <select
          value={cluster}
          onChange={(e) =>
            execTarget.value = { mode: "cluster", cluster: (e.target as HTMLSelectElement).value }}
          data-testid="exec-cluster"
          aria-label="Cluster"
        >
          {cluster ? null : <option value="">Pick a cluster…</option>}
          {list.map((x) => <option key={x.id} value={x.id}>{x.id}</option>)}
        </select>
        {c
          ? (
            <span class="cluster-members">
              {workers.slice(0, 24).map((id) => {
                const n = nodeSignal(id)?.value;
                return (
                  <span key={id} class="member-dot" title={`${n?.name ?? id} · ${n?.status}`}>
                    <span class={`dot ${dotClass(n)}`} />
                    {n?.name ?? id}
                  </span>
                );
              })}
              {workers.length > 24 ? <span class="mute">+{workers.length - 24}</span> : null}
            </span>
          )
          : null}
      </div>
      {c
        ? (
          <p class="target-note mute">
            <span class="num">{workers.length}</span> {workers.length === 1 ? "node" : "nodes"}{" "}
            ({c.nodes.length} dedicated, {c.roamers.length} lent roamers) ·{" "}
            <span class="num">{online}</span> reachable
          </p>
        )
        : list.length === 0
        ? <p class="target-note mute">No clusters in fleet.yml.</p>
        : null}
    </div>
  );
}

/** The picker; `count` is how many nodes the command will reach (for the Run button). */
export function TargetPicker() {
  const t = execTarget.value;
  const setMode = (mode: "nodes" | "cluster") => {
    if (mode === "nodes") execTarget.value = { mode };
    else {
      execTarget.value = {
        mode,
        cluster: t.mode === "cluster" ? t.cluster : clusters.peek()[0]?.id ?? "",
      };
    }
  };
  return (
    <div class="exec-target" data-testid="exec-target">
      <div class="field-label">Target</div>
      <div class="segmented target-mode">
        <button
          type="button"
          class={t.mode === "nodes" ? "on" : ""}
          onClick={() => setMode("nodes")}
          data-testid="exec-target-nodes"
        >
          Nodes <span class="num">{selection.value.size}</span>
        </button>
        <button
          type="button"
          class={t.mode === "cluster" ? "on" : ""}
          onClick={() => setMode("cluster")}
          data-testid="exec-target-cluster"
        >
          Cluster
        </button>
      </div>
      {t.mode === "nodes" ? <NodesTarget /> : <ClusterTarget cluster={t.cluster} />}
    </div>
  );
}

/** How many nodes the current target holds. */
export function targetSize(): number {
  const t = execTarget.value;
  if (t.mode === "nodes") return selection.value.size;
  const c = clusters.value.find((x) => x.id === t.cluster);
  return c ? c.nodes.length + c.roamers.length : 0;
}
