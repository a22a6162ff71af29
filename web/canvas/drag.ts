/**
 * Dragging cards: one `XYDrag` (from @xyflow/system) per card, all working on the flow model's
 * node lookup. Selected nodes move together; where they were dropped is handed to the caller.
 *
 * @module
 */
import { type NodeBase, XYDrag, type XYDragInstance } from "@xyflow/system";
import { moveNodes, nodeLookup, viewport } from "./flow_model.ts";
import { HUB_ID, type Point } from "./geometry.ts";

/** Where a drag left the nodes it moved (flow coordinates), and the hub if it moved. */
export type DropHandler = (moved: Record<string, Point>, hub?: Point) => void;

/**
 * Makes `el` drag the node `id`; `onDrop` hears where the drag left the nodes. Returns the
 * cleanup.
 *
 * @example
 * ```ts
 * useEffect(() => attachDrag(ref.current!, id, paneEl, savePositions), [id]);
 * ```
 */
export function attachDrag(
  el: HTMLElement,
  id: string,
  pane: HTMLElement,
  onDrop: DropHandler,
): () => void {
  const drag: XYDragInstance = XYDrag<NodeBase>({
    getStoreItems: () => ({
      nodes: [],
      nodeLookup,
      edges: [],
      nodeExtent: [[-Infinity, -Infinity], [Infinity, Infinity]],
      snapGrid: [10, 10],
      snapToGrid: false,
      nodeOrigin: [0, 0],
      multiSelectionActive: false,
      domNode: pane,
      transform: viewport.transform,
      autoPanOnNodeDrag: false,
      nodesDraggable: true,
      selectNodesOnDrag: false,
      nodeDragThreshold: 1,
      panBy: () => Promise.resolve(false),
      unselectNodesAndEdges: () => {},
      updateNodePositions: (items) => {
        moveNodes([...items].map(([nid, item]) => [nid, item.internals.positionAbsolute]));
      },
    }),
    onDragStart: () => el.classList.add("dragging"),
    onDragStop: (_e, items) => {
      el.classList.remove("dragging");
      const moved: Record<string, Point> = {};
      let hub: Point | undefined;
      for (const [nid, item] of items) {
        if (nid === HUB_ID) hub = item.internals.positionAbsolute;
        else moved[nid] = item.internals.positionAbsolute;
      }
      onDrop(moved, hub);
    },
  });
  drag.update({
    domNode: el,
    nodeId: id,
    isSelectable: true,
    noDragClassName: "nodrag",
    nodeClickDistance: 4,
  });
  return () => drag.destroy();
}
