/**
 * The minimap in the corner: every node as a dot coloured by status, frames as outlines, and the
 * visible part of the canvas; drag or scroll on it to move around.
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import type { PanZoomInstance } from "@xyflow/system";
import { frames, layoutVersion, nodeLookup } from "../../canvas/flow_model.ts";
import { attachMinimap, MINIMAP, minimapGeometry } from "../../canvas/minimap.ts";
import { CARD, HUB_ID } from "../../canvas/geometry.ts";
import { nodeSignal, statusCounts } from "../../state/fleet.ts";

/** The minimap; `tick` is called by the canvas on every viewport change. */
export function Minimap(
  { panZoom, register }: { panZoom: PanZoomInstance; register: (fn: () => void) => void },
) {
  const svg = useRef<SVGSVGElement>(null);
  const mask = useRef<SVGPathElement>(null);
  useEffect(() => attachMinimap(svg.current!, panZoom), [panZoom]);
  useEffect(() => {
    let queued = false;
    register(() => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        const g = minimapGeometry();
        svg.current?.setAttribute(
          "viewBox",
          `${g.box.x} ${g.box.y} ${g.box.width} ${g.box.height}`,
        );
        mask.current?.setAttribute("d", g.mask);
        mask.current?.setAttribute("stroke-width", String(1.5 * g.scale));
      });
    });
  }, []);
  layoutVersion.value;
  statusCounts.value;
  const g = minimapGeometry();
  return (
    <svg
      ref={svg}
      class="minimap nopan nowheel"
      width={MINIMAP.w}
      height={MINIMAP.h}
      viewBox={`${g.box.x} ${g.box.y} ${g.box.width} ${g.box.height}`}
      data-testid="minimap"
    >
      {frames.value.map((f) => (
        <rect
          key={f.group.id}
          class={`mm-frame ${f.group.kind}`}
          x={f.x}
          y={f.y}
          width={f.width}
          height={f.height}
          rx={12}
        />
      ))}
      {[...nodeLookup.values()].map((n) =>
        n.id === HUB_ID ? null : (
          <rect
            key={n.id}
            class={`mm-node ${nodeSignal(n.id)?.peek().status ?? "pending"}`}
            x={n.internals.positionAbsolute.x}
            y={n.internals.positionAbsolute.y}
            width={CARD.w}
            height={CARD.h}
            rx={14}
          />
        )
      )}
      <path
        ref={mask}
        class="mm-mask"
        d={g.mask}
        fill-rule="evenodd"
        stroke-width={1.5 * g.scale}
      />
    </svg>
  );
}
