/**
 * Sizes and shapes of the canvas, in flow coordinates. Cards have a fixed size so the layout,
 * the edges and the minimap never need to measure the DOM.
 *
 * @module
 */

/** A node card. */
export const CARD = { w: 216, h: 128 } as const;
/** The hub node. */
export const HUB = { w: 240, h: 84 } as const;
/** Gap between cards inside a frame. */
export const GAP = 22;
/** Padding of a frame around its cards, and the height of its title strip. */
export const FRAME_PAD = 22;
export const FRAME_HEAD = 46;
/** Id of the hub in the node lookup. */
export const HUB_ID = "__hub__";

/** A point in flow coordinates. */
export interface Point {
  x: number;
  y: number;
}

/** A rectangle in flow coordinates. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The smallest rectangle around `rects` (or undefined for none). */
export function boundsOf(rects: Iterable<Rect>): Rect | undefined {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const r of rects) {
    x1 = Math.min(x1, r.x);
    y1 = Math.min(y1, r.y);
    x2 = Math.max(x2, r.x + r.width);
    y2 = Math.max(y2, r.y + r.height);
  }
  return x1 === Infinity ? undefined : { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
}
