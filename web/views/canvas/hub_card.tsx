/**
 * The hub in the middle of the canvas, where every edge starts.
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import { hubPosition } from "../../canvas/flow_model.ts";
import { attachDrag } from "../../canvas/drag.ts";
import { HUB_ID } from "../../canvas/geometry.ts";
import { hubInfo, nodeIds, statusCounts } from "../../state/fleet.ts";
import { streamState } from "../../state/stream.ts";
import { movePositions } from "../../state/layout.ts";
import { Icon } from "../../ui/icon.tsx";

/** The hub card. */
export function HubCard({ pane }: { pane: HTMLElement }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => attachDrag(ref.current!, HUB_ID, pane, movePositions), [pane]);
  const p = hubPosition.value;
  const c = statusCounts.value;
  const live = streamState.value === "live";
  return (
    <div
      ref={ref}
      class={`hub-card ${live ? "live" : "stale"}`}
      style={{ transform: `translate(${p.x}px, ${p.y}px)` }}
      data-testid="hub-card"
    >
      <Icon name="logo" size={40} />
      <div>
        <div class="hub-name">fleet-hub</div>
        <div class="hub-sub">
          {hubInfo.value?.version ?? ""} · {live ? "live" : streamState.value}
        </div>
        <div class="hub-sub">
          <b>{c.online}</b> / {nodeIds.value.length} nodes online
        </div>
      </div>
    </div>
  );
}
