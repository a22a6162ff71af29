/**
 * Edge geometry: each hub → node edge is the bezier that @xyflow/system's `getBezierPath` gives
 * for a bottom handle on the hub and a top handle on the card. The control points are parsed
 * once per layout change so the frame loop can place particles along the curve without
 * allocating.
 *
 * @module
 */
import { getBezierPath, Position } from "@xyflow/system";
import { CARD, HUB, HUB_ID } from "./geometry.ts";
import { hubPosition, layoutVersion, nodeLookup } from "./flow_model.ts";

/** One edge: the cubic's points (source, two controls, target), its bounds and length. */
export interface EdgeGeom {
  id: string;
  /** sx, sy, c1x, c1y, c2x, c2y, tx, ty */
  p: Float64Array;
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  length: number;
}

let cache: EdgeGeom[] = [];
let cachedVersion = -1;

function parseCubic(path: string): Float64Array {
  const nums = path.match(/-?\d+(?:\.\d+)?(?:e-?\d+)?/g)!.map(Number);
  return Float64Array.from(nums.slice(0, 8));
}

/** The point at `t` of the cubic `p`, written into `out`. */
export function pointAt(p: Float64Array, t: number, out: { x: number; y: number }): void {
  const u = 1 - t;
  const a = u * u * u, b = 3 * u * u * t, c = 3 * u * t * t, d = t * t * t;
  out.x = a * p[0] + b * p[2] + c * p[4] + d * p[6];
  out.y = a * p[1] + b * p[3] + c * p[5] + d * p[7];
}

function lengthOf(p: Float64Array): number {
  const q = { x: 0, y: 0 };
  let len = 0, px = p[0], py = p[1];
  for (let i = 1; i <= 12; i++) {
    pointAt(p, i / 12, q);
    len += Math.hypot(q.x - px, q.y - py);
    px = q.x;
    py = q.y;
  }
  return len;
}

/** Every edge, recomputed only when the layout changed. */
export function edges(): EdgeGeom[] {
  const version = layoutVersion.peek();
  if (version === cachedVersion) return cache;
  cachedVersion = version;
  const h = hubPosition.peek();
  const sx = h.x + HUB.w / 2, sy = h.y + HUB.h;
  const out: EdgeGeom[] = [];
  for (const [id, n] of nodeLookup) {
    if (id === HUB_ID) continue;
    const pos = n.internals.positionAbsolute;
    const [path] = getBezierPath({
      sourceX: sx,
      sourceY: sy,
      sourcePosition: Position.Bottom,
      targetX: pos.x + CARD.w / 2,
      targetY: pos.y,
      targetPosition: Position.Top,
      curvature: 0.3,
    });
    const p = parseCubic(path);
    out.push({
      id,
      p,
      minX: Math.min(p[0], p[2], p[4], p[6]),
      minY: Math.min(p[1], p[3], p[5], p[7]),
      maxX: Math.max(p[0], p[2], p[4], p[6]),
      maxY: Math.max(p[1], p[3], p[5], p[7]),
      length: lengthOf(p),
    });
  }
  cache = out;
  return out;
}
