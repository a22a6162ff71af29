/**
 * The canvas: pan/zoom pane, the particle layer, frames, the hub and every node card, with the
 * minimap, zoom controls, search, legend and the right-click menu. Canvas math lives in
 * `web/canvas/`; this view only wires it to the DOM.
 *
 * @module
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { fleetLoaded, fleetStatusVersion, nodeIds, nodeSignal } from "../state/fleet.ts";
import {
  layoutError,
  layoutLoaded,
  resetLayout,
  savedHub,
  savedPositions,
} from "../state/layout.ts";
import { nodeJobs } from "../state/queue.ts";
import { selectedNode, selection, toast } from "../state/ui.ts";
import { attachViewport, type ViewportController } from "../canvas/viewport.ts";
import { type EdgeTraffic, startEdgeLayer, TRAFFIC } from "../canvas/particles.ts";
import {
  connectFlowModel,
  inView,
  measureInViewSoon,
  nodeLookup,
  viewport,
} from "../canvas/flow_model.ts";
import { CARD } from "../canvas/geometry.ts";
import { followZoom } from "../canvas/level_of_detail.ts";
import { NodeCard } from "./canvas/node_card.tsx";
import { Frames } from "./canvas/frames.tsx";
import { HubCard } from "./canvas/hub_card.tsx";
import { Minimap } from "./canvas/minimap.tsx";
import { ContextMenu } from "./canvas/context_menu.tsx";
import { SearchBox } from "./canvas/search_box.tsx";
import { canvasGroups } from "./canvas/groups.ts";
import { Icon } from "../ui/icon.tsx";
import { isAdmin } from "../state/session.ts";
import { runCommandOn } from "../state/exec.ts";
import { linkOf } from "../state/network.ts";
import { uploadingNodes } from "../state/backups.ts";

// The canvas adapter lays out what the app hands it from the start, so positions are ready when
// the canvas first opens.
connectFlowModel({
  groups: canvasGroups,
  saved: savedPositions,
  savedHub,
  selection,
});

/** What the edge layer reads of the fleet every frame. */
const traffic: EdgeTraffic = {
  node: (id) => nodeSignal(id)?.peek(),
  jobsByNode: () => nodeJobs.peek(),
  statusVersion: fleetStatusVersion,
  link: linkOf,
  uploading: () => uploadingNodes.peek(),
};

let fittedOnce = false;

/** The canvas view. */
export function CanvasView() {
  const pane = useRef<HTMLDivElement>(null);
  const layer = useRef<HTMLDivElement>(null);
  const edgeCanvas = useRef<HTMLCanvasElement>(null);
  const [vp, setVp] = useState<ViewportController | null>(null);
  const menu = useSignal<{ id: string; x: number; y: number } | null>(null);
  const minimapTick = useRef<(() => void) | null>(null);
  const focusSearch = useRef<(() => void) | null>(null);

  useEffect(() => {
    const lod = followZoom();
    const controller = attachViewport(pane.current!, layer.current!, () => {
      lod.moved();
      minimapTick.current?.();
      measureInViewSoon();
    }, () => (menu.value = null));
    setVp(controller);
    const stop = startEdgeLayer(edgeCanvas.current!, traffic);
    return () => {
      lod.stop();
      stop();
      controller.destroy();
    };
  }, []);

  // Fit the view once, when the first nodes and the saved layout are in.
  useEffect(() => {
    if (!vp || !fleetLoaded.value || !layoutLoaded.value || nodeIds.value.length === 0) return;
    if (!fittedOnce) {
      fittedOnce = true;
      vp.fitView();
    } else {
      // Coming back from another view: keep the previous transform.
      void vp.panZoom.setViewport({
        x: viewport.transform[0],
        y: viewport.transform[1],
        zoom: viewport.transform[2],
      });
    }
  }, [vp, fleetLoaded.value, layoutLoaded.value, nodeIds.value.length > 0]);

  const centerOn = (id: string) => {
    const n = nodeLookup.get(id);
    if (!n || !vp) return;
    const p = n.internals.positionAbsolute;
    vp.centerOn({ x: p.x, y: p.y, width: CARD.w, height: CARD.h }, 1.1);
  };

  // Keyboard: f fits, / searches, Escape clears.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.closest("input, textarea, select, [contenteditable]")) return;
      if (e.key === "f" && !e.ctrlKey && !e.metaKey) vp?.fitView({ duration: 350 });
      else if (e.key === "/") {
        e.preventDefault();
        focusSearch.current?.();
      } else if (e.key === "Escape") {
        menu.value = null;
        if (selection.peek().size) selection.value = new Set();
        else selectedNode.value = null;
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [vp]);

  const ids = nodeIds.value;
  const empty = fleetLoaded.value && ids.length === 0;
  return (
    <div class="canvas-view" data-testid="canvas">
      <div
        ref={pane}
        class="flow"
        onClick={(e) => {
          if (e.target === pane.current || e.target === layer.current) {
            if (selection.peek().size) selection.value = new Set();
          }
        }}
      >
        <canvas ref={edgeCanvas} class="edge-layer" data-testid="edge-layer" />
        <div ref={layer} class="flow-layer">
          {pane.current && layoutLoaded.value
            ? (
              <>
                <Frames />
                <HubCard pane={pane.current} />
                {(inView.value ? ids.filter((id) => inView.value!.has(id)) : ids).map((id) => (
                  <NodeCard
                    key={id}
                    id={id}
                    pane={pane.current!}
                    onMenu={(nid, e) => (menu.value = { id: nid, x: e.clientX, y: e.clientY })}
                  />
                ))}
              </>
            )
            : null}
        </div>
      </div>
      {!fleetLoaded.value
        ? (
          <div class="canvas-overlay">
            <span class="spinner" /> Loading the fleet…
          </div>
        )
        : null}
      {empty
        ? (
          <div class="canvas-overlay empty-state" data-testid="canvas-empty">
            <h2>No nodes yet</h2>
            <p>
              Add one with{" "}
              <code>curl -fsSL http://&lt;hub&gt;:8765/install.sh | sudo sh -s -- --token …</code>
              {" "}
              or list them in fleet.yml. They appear here the moment their agent reports.
            </p>
          </div>
        )
        : null}
      <SearchBox onJump={centerOn} focusRef={focusSearch} />
      <div class="canvas-controls nopan">
        <button type="button" class="icon" title="Zoom in" onClick={() => vp?.zoomBy(1.3)}>
          <Icon name="plus" />
        </button>
        <button type="button" class="icon" title="Zoom out" onClick={() => vp?.zoomBy(1 / 1.3)}>
          <Icon name="minus" />
        </button>
        <button
          type="button"
          class="icon"
          title="Fit view (f)"
          onClick={() => vp?.fitView({ duration: 350 })}
          data-testid="fit-view"
        >
          <Icon name="fit" />
        </button>
        <button
          type="button"
          class="icon"
          title="Reset layout (forget dragged positions)"
          onClick={() => void resetLayout().then(() => toast("Layout reset", "ok"))}
        >
          <Icon name="layout" />
        </button>
      </div>
      <div class="legend nopan">
        <span>
          <i class="lg metrics" />metrics
        </span>
        <span>
          <i class="lg jobs" />jobs
        </span>
        <span>
          <i class="lg control" />control
        </span>
        <span title="share of pings not answered within the ping timeout">
          <i class="lg lost" />lost pings
        </span>
        <span>
          <i class="lg backup" />backup
        </span>
        <span>
          <i class="lg degraded" />degraded
        </span>
        <span>
          <i class="lg offline" />offline
        </span>
        {selection.value.size
          ? (
            <span class="sel-actions" data-testid="selection-actions">
              <span class="sel">{selection.value.size} selected</span>
              {isAdmin.value
                ? (
                  <button
                    type="button"
                    class="sel-run"
                    onClick={() => runCommandOn(selection.value)}
                    data-testid="run-on-selection"
                  >
                    <Icon name="exec" size={13} /> Run command on {selection.value.size}{" "}
                    {selection.value.size === 1 ? "node" : "nodes"}
                  </button>
                )
                : null}
              <button
                type="button"
                class="ghost sel-clear"
                onClick={() => (selection.value = new Set())}
                data-testid="clear-selection"
              >
                Clear
              </button>
            </span>
          )
          : null}
        {layoutError.value ? <span class="err">layout not saved: {layoutError.value}</span> : null}
      </div>
      {vp ? <Minimap panZoom={vp.panZoom} register={(fn) => (minimapTick.current = fn)} /> : null}
      {menu.value
        ? (
          <ContextMenu
            {...menu.value}
            onClose={() => (menu.value = null)}
            onCenter={centerOn}
          />
        )
        : null}
    </div>
  );
}

/** The traffic colours, for the legend's CSS and tests. */
export const TRAFFIC_COLOURS = TRAFFIC;
