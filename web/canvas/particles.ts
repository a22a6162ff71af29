/**
 * The edge layer: one `<canvas>` under the cards on which every frame draws the hub → node edges
 * (batched by status: one path per colour) and the particles moving along them. Particle count and
 * speed follow the node's network rate; colour says what the traffic is: metrics (cyan, node →
 * hub), jobs (green, both ways) and control (violet, hub → node). Offline edges are grey and
 * still; degraded ones amber. Edges outside the view are skipped, so 1,000 nodes stay smooth.
 *
 * @module
 */
import type { NodeStatus, NodeSummary } from "../../shared/protocol.ts";
import { nodeSignal } from "../state/fleet.ts";
import { nodeJobs } from "../state/queue.ts";
import { viewport } from "./flow_model.ts";
import { edges, pointAt } from "./edges.ts";

/** Traffic kinds and their colours. */
export const TRAFFIC = {
  metrics: "#22d3ee",
  jobs: "#34d399",
  control: "#a78bfa",
} as const;
type Kind = keyof typeof TRAFFIC;

const EDGE_COLOUR: Record<NodeStatus, string> = {
  online: "rgba(34, 211, 238, 0.28)",
  degraded: "rgba(251, 191, 36, 0.55)",
  offline: "rgba(111, 125, 168, 0.18)",
  pending: "rgba(111, 125, 168, 0.25)",
};

const rateCache = new WeakMap<object, number>();

/** Bytes per second through the node's interfaces (loopback excluded). */
function rateOf(n: NodeSummary): number {
  const s = n.last_sample;
  if (!s?.net) return 0;
  let r = rateCache.get(s);
  if (r === undefined) {
    r = 0;
    for (const i of s.net) if (i.iface !== "lo") r += i.rx_bps + i.tx_bps;
    rateCache.set(s, r);
  }
  return r;
}

function sprite(colour: string, px: number): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = c.height = px;
  const g = c.getContext("2d")!;
  const grad = g.createRadialGradient(px / 2, px / 2, 0, px / 2, px / 2, px / 2);
  grad.addColorStop(0, "#ffffff");
  grad.addColorStop(0.18, colour);
  grad.addColorStop(0.45, colour + "88");
  grad.addColorStop(1, colour + "00");
  g.fillStyle = grad;
  g.fillRect(0, 0, px, px);
  return c;
}

/**
 * Runs the edge layer on `canvas` until the returned stop function is called.
 *
 * @example
 * ```ts
 * useEffect(() => startEdgeLayer(canvasRef.current!), []);
 * ```
 */
export function startEdgeLayer(canvas: HTMLCanvasElement): () => void {
  const ctx = canvas.getContext("2d", { alpha: true })!;
  const sprites = Object.fromEntries(
    Object.entries(TRAFFIC).map(([k, c]) => [k, sprite(c, 32)]),
  ) as Record<Kind, HTMLCanvasElement>;
  const point = { x: 0, y: 0 };
  const byStatus: Record<NodeStatus, Path2D> = {} as Record<NodeStatus, Path2D>;
  let raf = 0;
  let last = performance.now();
  let clock = 0;

  const frame = (t: number) => {
    raf = requestAnimationFrame(frame);
    const dt = Math.min(0.1, (t - last) / 1000);
    last = t;
    clock += dt;
    const dpr = globalThis.devicePixelRatio || 1;
    const w = viewport.width, h = viewport.height;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const [tx, ty, z] = viewport.transform;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(dpr * z, 0, 0, dpr * z, dpr * tx, dpr * ty);
    // The visible part of the flow, with a margin.
    const m = 40 / z;
    const x0 = -tx / z - m, y0 = -ty / z - m, x1 = (w - tx) / z + m, y1 = (h - ty) / z + m;

    for (const k of ["online", "degraded", "offline", "pending"] as NodeStatus[]) {
      byStatus[k] = new Path2D();
    }
    const visible: { e: ReturnType<typeof edges>[number]; n: NodeSummary }[] = [];
    const jobs = nodeJobs.peek();
    for (const e of edges()) {
      if (e.maxX < x0 || e.minX > x1 || e.maxY < y0 || e.minY > y1) continue;
      const n = nodeSignal(e.id)?.peek();
      if (!n) continue;
      const path = byStatus[n.status];
      path.moveTo(e.p[0], e.p[1]);
      path.bezierCurveTo(e.p[2], e.p[3], e.p[4], e.p[5], e.p[6], e.p[7]);
      if (n.status === "online" || n.status === "degraded") visible.push({ e, n });
    }
    ctx.lineWidth = Math.max(1.2 / z, 0.8);
    for (const k of ["offline", "pending", "online", "degraded"] as NodeStatus[]) {
      ctx.strokeStyle = EDGE_COLOUR[k];
      ctx.stroke(byStatus[k]);
    }

    // Particles: a size fixed on screen, so they stay visible when zoomed out.
    const size = Math.min(14, Math.max(7, 9 * Math.sqrt(z))) / z;
    const half = size / 2;
    for (const { e, n } of visible) {
      const rate = rateOf(n);
      const level = Math.log10(1 + rate / 2_000); // 0 idle … ~5 at 200 MB/s
      const speed = (70 + 45 * level) / Math.max(e.length, 1); // path fractions per second
      const count = 1 + Math.min(4, Math.floor(level));
      const seed = (hash(e.id) % 1000) / 1000;
      drawRun(e.p, count, clock * speed + seed, false, sprites.metrics);
      if (jobs[n.id]?.length) drawRun(e.p, 2, clock * speed * 0.8 + seed + 0.5, true, sprites.jobs);
      // The control channel (exec, terminal, pings) is up: one violet particle towards the node.
      if (n.control) drawRun(e.p, 1, clock * speed * 1.3 + seed, true, sprites.control);
    }

    function drawRun(
      p: Float64Array,
      count: number,
      phase: number,
      toNode: boolean,
      img: HTMLCanvasElement,
    ) {
      for (let i = 0; i < count; i++) {
        let f = (phase + i / count) % 1;
        // Metrics flow node → hub: walk the curve backwards.
        if (!toNode) f = 1 - f;
        pointAt(p, f, point);
        ctx.drawImage(img, point.x - half, point.y - half, size, size);
      }
    }
  };
  raf = requestAnimationFrame(frame);
  return () => cancelAnimationFrame(raf);
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
