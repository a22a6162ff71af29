/**
 * Where nodes go when the operator has not placed them: one grid per group (each cluster, the
 * roamer pool, unassigned nodes), the groups packed into rows under the hub so the hub's edges
 * fan out downwards like a tree. Pure function: same groups, same layout.
 *
 * @module
 */
import { CARD, FRAME_HEAD, FRAME_PAD, GAP, HUB, type Point } from "./geometry.ts";

/** A group of nodes drawn in one frame. */
export interface Group {
  id: string;
  kind: "cluster" | "roamers" | "unassigned";
  label: string;
  members: string[];
}

/** Gap between frames, and between the hub and the first row. */
const FRAME_GAP = 70;
const HUB_GAP = 150;

function columnsFor(n: number): number {
  // Aim for a group about 16:9 on screen, never narrower than four cards.
  const aspect = (16 / 9) * (CARD.h + GAP) / (CARD.w + GAP);
  return Math.max(Math.min(n, 4), Math.ceil(Math.sqrt(n * aspect)));
}

/**
 * Positions (top-left of each card, and of the hub) for every member of `groups`.
 *
 * @example
 * ```ts
 * const { nodes, hub } = autoLayout([{ id: "vision", kind: "cluster", label: "vision", members: ["a", "b"] }]);
 * ```
 */
export function autoLayout(groups: readonly Group[]): { nodes: Map<string, Point>; hub: Point } {
  const boxes = groups.filter((g) => g.members.length).map((g) => {
    const cols = columnsFor(g.members.length);
    const rows = Math.ceil(g.members.length / cols);
    return {
      g,
      cols,
      w: cols * CARD.w + (cols - 1) * GAP + 2 * FRAME_PAD,
      h: rows * CARD.h + (rows - 1) * GAP + 2 * FRAME_PAD + FRAME_HEAD,
    };
  });
  const area = boxes.reduce((a, b) => a + (b.w + FRAME_GAP) * (b.h + FRAME_GAP), 0);
  // Prefer one wide row (edges then never cross a frame); wrap only for big fleets.
  const maxRow = Math.max(2600, Math.sqrt(area) * 2, ...boxes.map((b) => b.w));
  // Shelf packing: fill a row up to maxRow, then start the next below it.
  const rows: { items: typeof boxes; w: number; h: number }[] = [];
  for (const b of boxes) {
    const row = rows.at(-1);
    if (row && row.w + FRAME_GAP + b.w <= maxRow) {
      row.items.push(b);
      row.w += FRAME_GAP + b.w;
      row.h = Math.max(row.h, b.h);
    } else {
      rows.push({ items: [b], w: b.w, h: b.h });
    }
  }
  const nodes = new Map<string, Point>();
  let y = HUB.h + HUB_GAP;
  for (const row of rows) {
    let x = -row.w / 2;
    for (const { g, cols, w } of row.items) {
      g.members.forEach((id, i) => {
        nodes.set(id, {
          x: x + FRAME_PAD + (i % cols) * (CARD.w + GAP),
          y: y + FRAME_HEAD + FRAME_PAD + Math.floor(i / cols) * (CARD.h + GAP),
        });
      });
      x += w + FRAME_GAP;
    }
    y += row.h + FRAME_GAP;
  }
  return { nodes, hub: { x: -HUB.w / 2, y: 0 } };
}
