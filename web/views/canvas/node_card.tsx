/**
 * One node on the canvas: name and status dot, CPU / GPU / RAM bars, temperature, power, job
 * badge, roamer state and the age of its last sample. Zoomed far out, a compact card keeps 1,000
 * nodes light: one heat bar, and "live" instead of the age while the node reports. Reads its own
 * node signal, so a sample re-renders this card only.
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import { useComputed } from "@preact/signals";
import { latestSeries, nodeSignal } from "../../state/fleet.ts";
import { nodeJobs, roamers } from "../../state/queue.ts";
import { swarmRoles } from "../../state/swarm.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatSkew, formatTemp, formatWatts, skewTitle } from "../../state/format.ts";
import { searchQuery, selectedNode, selection } from "../../state/ui.ts";
import { movePositions } from "../../state/layout.ts";
import { positionOf } from "../../canvas/flow_model.ts";
import { attachDrag } from "../../canvas/drag.ts";
import { lod } from "../../canvas/level_of_detail.ts";
import { firingByNode } from "../../state/alerts.ts";
import { BackupAge } from "../backups/backup_age.tsx";

function level(v: number | undefined): string {
  if (v === undefined) return "";
  return v >= 90 ? "crit" : v >= 75 ? "warn" : "";
}

function Bar({ label, value }: { label: string; value: number | undefined }) {
  return (
    <div class="nc-bar">
      <span class="nc-bar-label">{label}</span>
      <div class={`bar ${level(value)}`}>
        <i style={{ width: `${Math.max(0, Math.min(100, value ?? 0))}%` }} />
      </div>
      <span class="nc-bar-value">{value === undefined ? "—" : `${Math.round(value)}%`}</span>
    </div>
  );
}

/** A node card, positioned in flow coordinates inside the viewport layer. */
export function NodeCard(
  { id, pane, onMenu }: {
    id: string;
    pane: HTMLElement;
    onMenu: (id: string, e: MouseEvent) => void;
  },
) {
  const ref = useRef<HTMLDivElement>(null);
  const node = nodeSignal(id)!;
  const pos = positionOf(id);
  const jobCount = useComputed(() => nodeJobs.value[id]?.length ?? 0);
  const roamer = useComputed(() => roamers.value[id]);
  // The roamer the autoscaler lent in this (offline) member's place, if any.
  const coveredBy = useComputed(() =>
    Object.values(roamers.value).find((r) => r.assignment?.covering === id)?.node_id
  );
  const swarm = useComputed(() => swarmRoles.value[id]);
  const age = useComputed(() => formatAge(node.value.last_seen, now.value));
  // Zoomed far out a live node says "live" rather than a ticking age: a thousand labels changing
  // every second cost ~7 fps at 1,000 nodes, and the ages that matter (quiet, dead) still tick.
  const compactAge = useComputed(() =>
    node.value.status === "online" ? "live" : formatAge(node.value.last_seen, now.value)
  );
  const match = useComputed(() => {
    const q = searchQuery.value.trim().toLowerCase();
    if (!q) return "";
    const n = node.value;
    return n.name.toLowerCase().includes(q) || n.id.toLowerCase().includes(q) ? "match" : "nomatch";
  });
  const isSelected = useComputed(() => selection.value.has(id));
  const isOpen = useComputed(() => selectedNode.value === id);
  const alerts = useComputed(() => firingByNode.value.get(id) ?? []);
  useEffect(() => attachDrag(ref.current!, id, pane, movePositions), [id, pane]);

  const n = node.value;
  const p = pos.value;
  const v = latestSeries(n);
  const r = roamer.value;
  const firing = alerts.value;
  const unacked = firing.filter((a) => a.acked_at === null);
  const worst = (unacked.length ? unacked : firing).reduce<string | null>(
    (w, a) => (w === "critical" || a.severity === "critical" ? "critical" : w ?? a.severity),
    null,
  );
  const sw = swarm.value;
  // A drained swarm node takes no tasks: the card says so at any zoom.
  const drained = sw && sw.availability !== "active" ? `swarm-${sw.availability}` : "";
  const classes = [
    "node-card",
    n.status,
    drained,
    match.value,
    isSelected.value ? "selected" : "",
    isOpen.value ? "open" : "",
    lod.value,
    unacked.length ? `alerting ${worst}` : "",
  ].join(" ");
  const onClick = (e: MouseEvent) => {
    if (e.shiftKey || e.metaKey || e.ctrlKey) {
      const next = new Set(selection.peek());
      if (next.has(id)) next.delete(id);
      else next.add(id);
      selection.value = next;
      return;
    }
    selectedNode.value = id;
  };
  const onContextMenu = (e: MouseEvent) => {
    e.preventDefault();
    e.stopPropagation();
    onMenu(id, e);
  };
  // The tooltip is written when the pointer arrives, so the card does not re-render every second.
  const onPointerEnter = (e: PointerEvent) => {
    const cur = node.peek();
    const rtt = cur.rtt_ms === null || cur.rtt_ms === undefined
      ? ""
      : ` · rtt ${Math.round(cur.rtt_ms)} ms`;
    (e.currentTarget as HTMLElement).title = `${cur.name} · ${cur.status} · last seen ${
      formatAge(cur.last_seen, now.peek())
    } ago${rtt}`;
  };
  return (
    <div
      ref={ref}
      class={classes}
      style={{ transform: `translate(${p.x}px, ${p.y}px)` }}
      onClick={onClick}
      onContextMenu={onContextMenu}
      data-testid="node-card"
      data-node-id={id}
      data-status={n.status}
      onPointerEnter={onPointerEnter}
    >
      <div class="nc-head">
        <span class={`dot ${n.status}`} />
        <span class="nc-name">{n.name}</span>
        {n.clock_skew_s != null
          ? (
            <span class="chip nc-clock" title={skewTitle(n.clock_skew_s)} data-testid="clock-chip">
              clock {formatSkew(n.clock_skew_s)}
            </span>
          )
          : null}
        {firing.length
          ? (
            <span
              class={`chip nc-alert ${worst}${unacked.length ? "" : " acked"}`}
              title={firing.map((a) => a.message).join("\n")}
              data-testid="alert-badge"
              data-acked={unacked.length ? "no" : "yes"}
            >
              ⚠ {firing.length}
            </span>
          )
          : null}
        {jobCount.value > 0
          ? (
            <span
              class="chip nc-job"
              title={`${jobCount.value} job(s) running`}
              data-testid="job-badge"
            >
              ▶ {jobCount.value}
            </span>
          )
          : null}
        {r && lod.value === "compact"
          ? <span class={`chip nc-roamer ${r.state.toLowerCase()}`}>{r.state}</span>
          : null}
        {drained
          ? (
            <span
              class="chip nc-drained"
              title={`swarm: ${
                sw!.availability === "drain"
                  ? "drained, takes no tasks"
                  : "paused, takes no new tasks"
              }`}
              data-testid="swarm-drained"
            >
              {sw!.availability === "drain" ? "drained" : "paused"}
            </span>
          )
          : null}
      </div>
      {r?.assignment?.covering || coveredBy.value
        ? (
          <div
            class="nc-cover"
            data-testid="cover-marker"
            title={r?.assignment?.covering
              ? `Lent by the autoscaler: ${r.assignment.covering} is offline while its cluster has work`
              : `${n.name} is offline while its cluster has work: ${coveredBy.value} stands in`}
          >
            {r?.assignment?.covering
              ? `covering for ${r.assignment.covering}`
              : `covered by ${coveredBy.value}`}
          </div>
        )
        : null}
      {lod.value === "compact"
        ? (
          // Far out, one thick bar of the busier of CPU and GPU: a wall of cards reads as a heat map;
          // a quiet or dead node shows its last-seen age, large, among the ones that say "live".
          <>
            <span class={`nc-age compact ${n.status}`} data-testid="last-seen">
              {compactAge}
            </span>
            <div class={`nc-heat bar ${level(Math.max(v?.cpu_pct ?? 0, v?.gpu_pct ?? 0))}`}>
              <i
                style={{
                  width: `${Math.min(100, Math.max(v?.cpu_pct ?? 0, v?.gpu_pct ?? 0))}%`,
                }}
              />
            </div>
          </>
        )
        : (
          <>
            <div class="nc-sub">
              <span>
                {[
                  n.type ?? n.arch,
                  r?.assignment?.cluster ? `→ ${r.assignment.cluster}` : n.cluster ?? n.role,
                ]
                  .filter(Boolean).join(" · ") || n.id}
              </span>
              {sw
                ? (
                  <span
                    class={`chip nc-swarm ${sw.role}`}
                    title={`swarm ${sw.leader ? "manager (leader)" : sw.role} · ${sw.state}`}
                    data-testid="swarm-role"
                  >
                    {sw.leader ? "leader" : sw.role === "manager" ? "manager" : "worker"}
                  </span>
                )
                : null}
              {r
                ? (
                  <span class={`chip nc-roamer ${r.state.toLowerCase()}`} data-testid="roamer-chip">
                    {r.state}
                  </span>
                )
                : null}
            </div>
            <Bar label="CPU" value={v?.cpu_pct} />
            <Bar label="GPU" value={v?.gpu_pct} />
            <Bar label="RAM" value={v?.mem_pct} />
            <div class="nc-foot">
              <span class={(v?.temp_c ?? 0) >= 80 ? "hot" : ""}>{formatTemp(v?.temp_c)}</span>
              <span>{formatWatts(v?.power_mw)}</span>
              <BackupAge id={id} />
              <span class={`nc-age ${n.status}`} data-testid="last-seen">{age}</span>
            </div>
          </>
        )}
    </div>
  );
}
