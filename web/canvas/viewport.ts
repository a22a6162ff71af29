/**
 * Pan and zoom: a thin adapter over `XYPanZoom` from @xyflow/system (d3-zoom underneath). It
 * keeps the transform in the flow model, writes it straight onto the viewport element's CSS
 * transform (no component re-render while panning), and offers fit view / zoom / center.
 *
 * @module
 */
import {
  getViewportForBounds,
  PanOnScrollMode,
  type PanZoomInstance,
  type Transform,
  XYPanZoom,
} from "@xyflow/system";
import { contentBounds, viewport } from "./flow_model.ts";
import type { Rect } from "./geometry.ts";

/** Zoom limits: far enough out for 1,000 nodes, close enough to read a card on a wall screen. */
export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 2.5;

/** The pan/zoom controller of one canvas. */
export interface ViewportController {
  panZoom: PanZoomInstance;
  fitView(options?: { duration?: number; bounds?: Rect }): void;
  zoomBy(factor: number): void;
  centerOn(rect: Rect, zoom?: number): void;
  destroy(): void;
}

/**
 * Attaches pan/zoom to `pane`, mirroring the transform onto `layer`.
 *
 * @example
 * ```ts
 * const vp = attachViewport(paneEl, layerEl, () => drawMinimap());
 * vp.fitView();
 * ```
 */
export function attachViewport(
  pane: HTMLElement,
  layer: HTMLElement,
  onChange: () => void,
  onPaneContextMenu?: (e: MouseEvent) => void,
): ViewportController {
  // While the view moves, the card layer is promoted (will-change) so pans and zooms scale its
  // existing raster instead of re-rastering hundreds of cards per frame; once it settles, the
  // promotion is dropped so Chrome rasters it again at the new scale — a will-change layer keeps
  // the scale it was promoted at, and compositing a full-scale raster of 500 cards zoomed out
  // cost two thirds of every frame (26 → 59 fps measured at 500 nodes).
  let settle: ReturnType<typeof setTimeout> | undefined;
  const moving = () => {
    if (layer.style.willChange !== "transform") layer.style.willChange = "transform";
    clearTimeout(settle);
    settle = setTimeout(() => (layer.style.willChange = "auto"), 200);
  };
  const apply = (t: Transform) => {
    moving();
    viewport.transform = t;
    viewport.version++;
    layer.style.transform = `translate(${t[0]}px, ${t[1]}px) scale(${t[2]})`;
    onChange();
  };
  const panZoom = XYPanZoom({
    domNode: pane,
    minZoom: MIN_ZOOM,
    maxZoom: MAX_ZOOM,
    translateExtent: [[-Infinity, -Infinity], [Infinity, Infinity]],
    viewport: { x: 0, y: 0, zoom: 1 },
    onDraggingChange: (dragging) => pane.classList.toggle("panning", dragging),
  });
  panZoom.update(
    {
      noWheelClassName: "nowheel",
      noPanClassName: "nopan",
      onPaneContextMenu,
      preventScrolling: true,
      panOnScroll: false,
      panOnDrag: true,
      panOnScrollMode: PanOnScrollMode.Free,
      panOnScrollSpeed: 0.5,
      userSelectionActive: false,
      zoomOnPinch: true,
      zoomOnScroll: true,
      zoomOnDoubleClick: false,
      lib: "fleet",
      onTransformChange: apply,
      connectionInProgress: false,
      paneClickDistance: 2,
      selectionOnDrag: false,
    } as Parameters<PanZoomInstance["update"]>[0],
  );

  const size = new ResizeObserver(() => {
    viewport.width = pane.clientWidth;
    viewport.height = pane.clientHeight;
    onChange();
  });
  size.observe(pane);
  viewport.width = pane.clientWidth;
  viewport.height = pane.clientHeight;

  const setRect = (rect: Rect, padding: number, maxZoom: number, duration: number) => {
    const v = getViewportForBounds(
      rect,
      pane.clientWidth || 1,
      pane.clientHeight || 1,
      MIN_ZOOM,
      maxZoom,
      padding,
    );
    void panZoom.setViewport(v, { duration });
  };
  return {
    panZoom,
    fitView: (o = {}) => setRect(o.bounds ?? contentBounds(), 0.06, 1.2, o.duration ?? 0),
    zoomBy: (f) => void panZoom.scaleBy(f, { duration: 180 }),
    centerOn: (rect, zoom = 1) => setRect(rect, 0.3, zoom, 450),
    destroy: () => {
      clearTimeout(settle);
      size.disconnect();
      panZoom.destroy();
    },
  };
}
