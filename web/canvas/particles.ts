/**
 * The edge layer: one `<canvas>` under the cards on which every frame draws the hub → node edges
 * (batched by status: one path per colour) and the particles moving along them. Particle count and
 * speed follow the node's network rate; colour says what the traffic is: metrics (cyan, node →
 * hub), jobs (green, both ways), control (violet, hub → node) and backup (pink, node → hub, while
 * the node uploads a backup). Offline edges are grey and
 * still; degraded ones amber. Edges outside the view are skipped, so 1,000 nodes stay smooth.
 * With link quality: bandwidth sets the count, a long round trip slows the particles down, lost
 * pings show as red particles, and hovering an edge labels it (round trip, loss, rx/tx).
 *
 * @module
 */
import type { NodeStatus, NodeSummary } from "../../shared/protocol/mod.ts";
import { layoutVersion, viewport } from "./flow_model.ts";
import { type EdgeGeom, edges, pointAt } from "./edges.ts";
import { COMPACT_BELOW } from "./level_of_detail.ts";

/** What the edge layer reads of the fleet; called every frame, so each call must be cheap. */
export interface EdgeTraffic {
  /** A node's current summary: its status, network rates and control channel. */
  node(id: string): NodeSummary | undefined;
  /** Ids of the jobs claimed or running, by node id. */
  jobsByNode(): Readonly<Record<string, readonly string[]>>;
  /** Changes whenever a node's status changes or a node comes or goes: the edges are redrawn. */
  statusVersion(): number;
  /** Nodes uploading a backup now. */
  uploading?(): ReadonlySet<string>;
  /** A node's measured link to the hub, if known (also cheap: called every frame). */
  link?(id: string): EdgeLink | undefined;
}

/** What the edge layer shows of a node's link. */
export interface EdgeLink {
  connected: boolean;
  rtt_ms: number | null;
  rtt_avg_ms: number | null;
  loss_pct: number | null;
  rx_bps: number | null;
  tx_bps: number | null;
}

/** Traffic kinds and their colours. */
export const TRAFFIC = {
  metrics: "#22d3ee",
  jobs: "#34d399",
  control: "#a78bfa",
  lost: "#f87171",
  backup: "#f472b6",
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

/** The hover label of an edge: round trip, loss and rates. */
export function edgeLabel(l: EdgeLink | undefined, fallbackRate: number): string {
  const bits = (bps: number) => {
    let v = bps * 8, i = 0;
    const u = ["b/s", "kb/s", "Mb/s", "Gb/s"];
    while (v >= 1000 && i < u.length - 1) {
      v /= 1000;
      i++;
    }
    return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${u[i]}`;
  };
  if (!l) return `${bits(fallbackRate)} · no link data yet`;
  if (!l.connected) return "control channel down";
  const rtt = l.rtt_avg_ms ?? l.rtt_ms;
  const parts = [
    rtt === null ? "RTT —" : `RTT ${rtt >= 100 ? Math.round(rtt) : rtt.toFixed(1)} ms`,
    `loss ${l.loss_pct === null ? "—" : `${Math.round(l.loss_pct)} %`}`,
  ];
  if (l.rx_bps !== null && l.tx_bps !== null) {
    parts.push(`↓ ${bits(l.rx_bps)}  ↑ ${bits(l.tx_bps)}`);
  }
  return parts.join(" · ");
}

/** A glowing dot of `px` device pixels, pre-rendered once per colour and size. */
function renderSprite(colour: string, px: number): OffscreenCanvas {
  const c = new OffscreenCanvas(px, px);
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

/** Sprites as ImageBitmaps at the exact size they are drawn, so drawImage neither scales nor snapshots. */
class SpriteCache {
  #bitmaps = new Map<string, ImageBitmap>();
  #pending = new Set<string>();

  /** The sprite, or undefined while it is being made (the first frame at a new size skips it). */
  get(kind: Kind, px: number): ImageBitmap | undefined {
    const key = `${kind}:${px}`;
    const b = this.#bitmaps.get(key);
    if (b || this.#pending.has(key)) return b;
    this.#pending.add(key);
    void createImageBitmap(renderSprite(TRAFFIC[kind], px)).then((bitmap) => {
      this.#bitmaps.set(key, bitmap);
      this.#pending.delete(key);
    });
    return undefined;
  }
}

/**
 * Runs the edge layer on `canvas` until the returned stop function is called. The edges are drawn
 * into an off-screen canvas only when the layout, a node's status or (once it rests) the view
 * changed; every frame then blits that image — moved and scaled by the change of view since it
 * was drawn, so pans and zooms cost nothing extra — and draws the particles on top: pre-scaled
 * sprites at whole device pixels, fewer per edge when zoomed far out. One canvas, one flush per
 * frame: that is what keeps 1,000 nodes smooth on a software-rendered browser.
 *
 * @example
 * ```ts
 * useEffect(() => startEdgeLayer(canvasRef.current!, traffic), []);
 * ```
 */
export function startEdgeLayer(canvas: HTMLCanvasElement, traffic: EdgeTraffic): () => void {
  let edgeImage = new OffscreenCanvas(1, 1);
  const ctx = canvas.getContext("2d")!;
  const sprites = new SpriteCache();
  const point = { x: 0, y: 0 };
  let raf = 0;
  let last = performance.now();
  let clock = 0;
  let drawnKey = "";
  let drawnVersion = -1;
  let drawnAt: [number, number, number] = [0, 0, 1];
  let seenVersion = -1;
  let movedAt = 0;
  let visible: { e: EdgeGeom; n: NodeSummary }[] = [];
  // The edge under the pointer (flow coordinates are compared with sampled points of each curve).
  let hovered: EdgeGeom | null = null;
  const pane = canvas.parentElement;
  const onMove = (ev: PointerEvent) => {
    const target = ev.target as HTMLElement;
    if (
      !pane || (target !== pane && target !== canvas && !target.classList?.contains("flow-layer") &&
        !target.classList?.contains("frame"))
    ) {
      hovered = null;
      return;
    }
    const r = pane.getBoundingClientRect();
    const [tx, ty, z] = viewport.transform;
    const fx = (ev.clientX - r.left - tx) / z, fy = (ev.clientY - r.top - ty) / z;
    const reach = 8 / z;
    let best: EdgeGeom | null = null, bestD = reach;
    for (const v of visible) {
      const e = v.e;
      if (
        fx < e.minX - reach || fx > e.maxX + reach || fy < e.minY - reach || fy > e.maxY + reach
      ) {
        continue;
      }
      for (let i = 0; i <= 24; i++) {
        pointAt(e.p, i / 24, point);
        const d = Math.hypot(point.x - fx, point.y - fy);
        if (d < bestD) {
          bestD = d;
          best = e;
        }
      }
    }
    hovered = best;
    // Which edge is labelled, for tests and assistive tools (the label itself is drawn).
    canvas.dataset.hover = best?.id ?? "";
  };
  const onLeave = () => {
    hovered = null;
    canvas.dataset.hover = "";
  };
  pane?.addEventListener("pointermove", onMove);
  pane?.addEventListener("pointerleave", onLeave);

  const drawEdges = (dpr: number, pw: number, ph: number) => {
    const [tx, ty, z] = viewport.transform;
    if (edgeImage.width !== pw || edgeImage.height !== ph) edgeImage = new OffscreenCanvas(pw, ph);
    const ectx = edgeImage.getContext("2d")!;
    ectx.setTransform(1, 0, 0, 1, 0, 0);
    ectx.clearRect(0, 0, pw, ph);
    ectx.setTransform(dpr * z, 0, 0, dpr * z, dpr * tx, dpr * ty);
    // The visible part of the flow, with a margin (the image is reused while the view moves).
    const w = pw / dpr / z, h = ph / dpr / z;
    const x0 = -tx / z - w / 2, y0 = -ty / z - h / 2, x1 = x0 + 2 * w, y1 = y0 + 2 * h;
    const byStatus: Record<NodeStatus, Path2D> = {
      online: new Path2D(),
      degraded: new Path2D(),
      offline: new Path2D(),
      pending: new Path2D(),
    };
    visible = [];
    for (const e of edges()) {
      if (e.maxX < x0 || e.minX > x1 || e.maxY < y0 || e.minY > y1) continue;
      const n = traffic.node(e.id);
      if (!n) continue;
      const path = byStatus[n.status];
      path.moveTo(e.p[0], e.p[1]);
      path.bezierCurveTo(e.p[2], e.p[3], e.p[4], e.p[5], e.p[6], e.p[7]);
      if (n.status === "online" || n.status === "degraded") visible.push({ e, n });
    }
    // One screen pixel wide (zoomed out): Skia draws such strokes as hairlines, which in software
    // took a redraw of 1,000 edges from 174 ms to 8 ms against 1.2 px.
    ectx.lineWidth = Math.max(1 / z, 0.8);
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
    const pw = Math.max(1, Math.round(viewport.width * dpr));
    const ph = Math.max(1, Math.round(viewport.height * dpr));
    if (canvas.width !== pw || canvas.height !== ph) {
      canvas.width = pw;
      canvas.height = ph;
    }
    if (viewport.version !== seenVersion) {
      seenVersion = viewport.version;
      movedAt = t;
    }
    const [tx, ty, z] = viewport.transform;
    const key = `${layoutVersion.peek()}:${traffic.statusVersion()}:${pw}:${ph}:${dpr}`;
    const resting = t - movedAt >= 150;
    if (key !== drawnKey || (resting && drawnVersion !== seenVersion)) {
      drawnKey = key;
      drawnVersion = seenVersion;
      drawnAt = [tx, ty, z];
      drawEdges(dpr, pw, ph);
    }
    // The edge image, moved and scaled from the view it was drawn for to the current one.
    const k = z / drawnAt[2];
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, pw, ph);
    ctx.setTransform(k, 0, 0, k, (tx - drawnAt[0] * k) * dpr, (ty - drawnAt[1] * k) * dpr);
    // Mid-zoom the image is scaled: nearest-neighbour for those few frames is several times cheaper
    // than smoothing a full-screen image in software, and the crisp redraw follows when it rests.
    ctx.imageSmoothingEnabled = k === 1;
    ctx.drawImage(edgeImage, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);

    // Particles: a size fixed on screen (in device pixels), so they stay visible when zoomed out.
    const px = Math.round(Math.min(14, Math.max(7, 9 * Math.sqrt(z))) * dpr);
    const half = px / 2;
    // Zoomed far out, one particle per stream tells the story; thousands would only cost frames.
    const most = z < COMPACT_BELOW ? 1 : 5;
    const jobs = traffic.jobsByNode();
    const metrics = sprites.get("metrics", px);
    const jobSprite = sprites.get("jobs", px);
    const control = sprites.get("control", px);
    const lostSprite = sprites.get("lost", px);
    const backupSprite = sprites.get("backup", px);
    const uploading = traffic.uploading?.();
    for (const v of visible) {
      // The node signal holds the newest sample; the edge list only knows which nodes are visible.
      const n = traffic.node(v.e.id) ?? v.n;
      const e = v.e;
      const link = traffic.link?.(n.id);
      const rate = link && link.rx_bps !== null && link.tx_bps !== null
        ? link.rx_bps + link.tx_bps
        : rateOf(n);
      const level = Math.log10(1 + rate / 2_000); // 0 idle … ~5 at 200 MB/s
      // A long round trip slows the flow: 100 ms halves the speed the bandwidth alone gives.
      const rtt = link?.rtt_avg_ms ?? link?.rtt_ms ?? 0;
      const speed = (70 + 45 * level) / (1 + rtt / 100) / Math.max(e.length, 1);
      const count = Math.min(most, 1 + Math.floor(level));
      const seed = (hash(e.id) % 1000) / 1000;
      // Lost pings: that share of the stream's particles turns red (at least one when any).
      const loss = link?.loss_pct ?? 0;
      const lost = loss > 0 ? Math.max(1, Math.round(count * loss / 100)) : 0;
      if (metrics && count > lost) {
        drawRun(e.p, count - lost, clock * speed + seed, false, metrics);
      }
      if (lostSprite && lost) {
        drawRun(e.p, lost, clock * speed + seed + 0.5 / count, false, lostSprite);
      }
      if (jobSprite && jobs[n.id]?.length) {
        drawRun(e.p, Math.min(most, 2), clock * speed * 0.8 + seed + 0.5, true, jobSprite);
      }
      // The control channel (exec, terminal, pings) is up: one violet particle towards the node.
      if (control && n.control) drawRun(e.p, 1, clock * speed * 1.3 + seed, true, control);
      // A backup uploading: a dense pink stream towards the hub (the bucket lives beside it).
      if (backupSprite && uploading?.has(n.id)) {
        drawRun(e.p, Math.min(most, 4), clock * speed * 1.6 + seed + 0.25, false, backupSprite);
      }
    }

    if (hovered) drawLabel(hovered);

    function drawLabel(e: EdgeGeom) {
      const n = traffic.node(e.id);
      if (!n) return;
      const text = `${n.name} · ${edgeLabel(traffic.link?.(e.id), rateOf(n))}`;
      // The hovered edge itself, brighter, so it is clear which one the label is about.
      ctx.setTransform(dpr * z, 0, 0, dpr * z, dpr * tx, dpr * ty);
      ctx.beginPath();
      ctx.moveTo(e.p[0], e.p[1]);
      ctx.bezierCurveTo(e.p[2], e.p[3], e.p[4], e.p[5], e.p[6], e.p[7]);
      ctx.strokeStyle = "rgba(34, 211, 238, 0.85)";
      ctx.lineWidth = 2 / z;
      ctx.stroke();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      pointAt(e.p, 0.5, point);
      const sx = (point.x * z + tx) * dpr, sy = (point.y * z + ty) * dpr;
      ctx.font = `${Math.round(12 * dpr)}px Inter, "Segoe UI", system-ui, sans-serif`;
      const w = ctx.measureText(text).width + 16 * dpr, h = 24 * dpr;
      const x = Math.min(Math.max(sx - w / 2, 4), pw - w - 4), y = sy - h - 6 * dpr;
      ctx.fillStyle = "rgba(11, 18, 38, 0.92)";
      ctx.strokeStyle = "rgba(34, 211, 238, 0.55)";
      ctx.lineWidth = dpr;
      ctx.beginPath();
      ctx.roundRect(x, y, w, h, 6 * dpr);
      ctx.fill();
      ctx.stroke();
      ctx.fillStyle = "#e2e9ff";
      ctx.textBaseline = "middle";
      ctx.fillText(text, x + 8 * dpr, y + h / 2);
    }

    function drawRun(
      p: Float64Array,
      count: number,
      phase: number,
      toNode: boolean,
      img: ImageBitmap,
    ) {
      for (let i = 0; i < count; i++) {
        let f = (phase + i / count) % 1;
        // Metrics flow node → hub: walk the curve backwards.
        if (!toNode) f = 1 - f;
        pointAt(p, f, point);
        // Flow → device pixels, rounded: an unscaled blit at whole pixels is the cheapest draw.
        const sx = (point.x * z + tx) * dpr, sy = (point.y * z + ty) * dpr;
        if (sx < -px || sy < -px || sx > pw + px || sy > ph + px) continue;
        ctx.drawImage(img, Math.round(sx - half), Math.round(sy - half));
      }
    }
  };
  raf = requestAnimationFrame(frame);
  return () => {
    cancelAnimationFrame(raf);
    pane?.removeEventListener("pointermove", onMove);
    pane?.removeEventListener("pointerleave", onLeave);
  };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
