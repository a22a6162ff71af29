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
import { fleetStatusVersion, nodeSignal } from "../state/fleet.ts";
import { nodeJobs } from "../state/queue.ts";
import { layoutVersion, viewport } from "./flow_model.ts";
import { type EdgeGeom, edges, pointAt } from "./edges.ts";

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
 * Runs the edge layer until the returned stop function is called: `edgeCanvas` holds the edges
 * and is redrawn only when the layout, the view or a node's status changed; `particleCanvas` is
 * redrawn every frame with the particles alone (a few hundred small sprites), which is what keeps
 * 1,000 nodes smooth on a software-rendered browser.
 *
 * @example
 * ```ts
 * useEffect(() => startEdgeLayer(edgesRef.current!, particlesRef.current!), []);
 * ```
 */
export function startEdgeLayer(
  edgeCanvas: HTMLCanvasElement,
  particleCanvas: HTMLCanvasElement,
): () => void {
  const ectx = edgeCanvas.getContext("2d")!;
  const ctx = particleCanvas.getContext("2d")!;
  const sprites = Object.fromEntries(
    Object.entries(TRAFFIC).map(([k, c]) => [k, sprite(c, 32)]),
  ) as Record<Kind, HTMLCanvasElement>;
  const point = { x: 0, y: 0 };
  let raf = 0;
  let last = performance.now();
  let clock = 0;
  let drawnKey = "";
  let visible: { e: EdgeGeom; n: NodeSummary }[] = [];

  const fit = (c: HTMLCanvasElement, w: number, h: number, dpr: number) => {
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
  };

  const drawEdges = (dpr: number) => {
    const [tx, ty, z] = viewport.transform;
    const w = viewport.width, h = viewport.height;
    ectx.setTransform(1, 0, 0, 1, 0, 0);
    ectx.clearRect(0, 0, edgeCanvas.width, edgeCanvas.height);
    ectx.setTransform(dpr * z, 0, 0, dpr * z, dpr * tx, dpr * ty);
    // The visible part of the flow, with a margin.
    const m = 40 / z;
    const x0 = -tx / z - m, y0 = -ty / z - m, x1 = (w - tx) / z + m, y1 = (h - ty) / z + m;
    const byStatus: Record<NodeStatus, Path2D> = {
      online: new Path2D(),
      degraded: new Path2D(),
      offline: new Path2D(),
      pending: new Path2D(),
    };
    visible = [];
    for (const e of edges()) {
      if (e.maxX < x0 || e.minX > x1 || e.maxY < y0 || e.minY > y1) continue;
      const n = nodeSignal(e.id)?.peek();
      if (!n) continue;
      const path = byStatus[n.status];
      path.moveTo(e.p[0], e.p[1]);
      path.bezierCurveTo(e.p[2], e.p[3], e.p[4], e.p[5], e.p[6], e.p[7]);
      if (n.status === "online" || n.status === "degraded") visible.push({ e, n });
    }
    ectx.lineWidth = Math.max(1.2 / z, 0.8);
    for (const k of ["offline", "pending", "online", "degraded"] as NodeStatus[]) {
      ectx.strokeStyle = EDGE_COLOUR[k];
      ectx.stroke(byStatus[k]);
    }
  };

  const frame = (t: number) => {
    raf = requestAnimationFrame(frame);
    const dt = Math.min(0.1, (t - last) / 1000);
    last = t;
    clock += dt;
    const dpr = globalThis.devicePixelRatio || 1;
    const w = viewport.width, h = viewport.height;
    fit(edgeCanvas, w, h, dpr);
    fit(particleCanvas, w, h, dpr);
    const key =
      `${layoutVersion.peek()}:${viewport.version}:${fleetStatusVersion()}:${w}:${h}:${dpr}`;
    if (key !== drawnKey) {
      drawnKey = key;
      drawEdges(dpr);
    }
    const [tx, ty, z] = viewport.transform;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, particleCanvas.width, particleCanvas.height);
    ctx.setTransform(dpr * z, 0, 0, dpr * z, dpr * tx, dpr * ty);

    // Particles: a size fixed on screen, so they stay visible when zoomed out.
    const size = Math.min(14, Math.max(7, 9 * Math.sqrt(z))) / z;
    const half = size / 2;
    const jobs = nodeJobs.peek();
    for (const v of visible) {
      // The node signal holds the newest sample; the edge list only knows which nodes are visible.
      const n = nodeSignal(v.e.id)?.peek() ?? v.n;
      const e = v.e;
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
