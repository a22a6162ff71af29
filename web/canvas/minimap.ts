/**
 * The minimap's math and interaction: `XYMinimap` from @xyflow/system pans and zooms the main
 * viewport when the operator drags or scrolls on the minimap; this adapter computes the minimap's
 * view box (everything drawn plus the current view) and the mask around the visible part.
 *
 * @module
 */
import { type PanZoomInstance, XYMinimap } from "@xyflow/system";
import { contentBounds, viewport } from "./flow_model.ts";
import { boundsOf, type Rect } from "./geometry.ts";

/** Minimap size on screen. */
export const MINIMAP = { w: 220, h: 150 } as const;

/** The visible part of the flow. */
export function viewRect(): Rect {
  const [tx, ty, z] = viewport.transform;
  return { x: -tx / z, y: -ty / z, width: viewport.width / z, height: viewport.height / z };
}

/** View box and mask path of the minimap right now. */
export function minimapGeometry(): { box: Rect; mask: string; scale: number } {
  const view = viewRect();
  const b = boundsOf([contentBounds(), view])!;
  const scale = Math.max(b.width / MINIMAP.w, b.height / MINIMAP.h);
  const w = MINIMAP.w * scale, h = MINIMAP.h * scale;
  const off = 5 * scale;
  const box = {
    x: b.x + (b.width - w) / 2 - off,
    y: b.y + (b.height - h) / 2 - off,
    width: w + 2 * off,
    height: h + 2 * off,
  };
  const mask = `M${box.x - off},${box.y - off}h${box.width + 2 * off}v${box.height + 2 * off}h${
    -box.width - 2 * off
  }z
M${view.x},${view.y}h${view.width}v${view.height}h${-view.width}z`;
  return { box, mask, scale };
}

/**
 * Lets `svg` pan and zoom the canvas; returns the cleanup.
 *
 * @example
 * ```ts
 * useEffect(() => attachMinimap(svgRef.current!, panZoom), [panZoom]);
 * ```
 */
export function attachMinimap(svg: SVGSVGElement, panZoom: PanZoomInstance): () => void {
  const mm = XYMinimap({
    domNode: svg,
    panZoom,
    getTransform: () => viewport.transform,
    getViewScale: () => minimapGeometry().scale,
  });
  mm.update({
    translateExtent: [[-Infinity, -Infinity], [Infinity, Infinity]],
    width: MINIMAP.w,
    height: MINIMAP.h,
    pannable: true,
    zoomable: true,
    zoomStep: 10,
  });
  return () => mm.destroy();
}
