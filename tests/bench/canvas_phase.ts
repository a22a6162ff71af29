/**
 * Bench phase `canvas` (target: the canvas with animated particles at ≥ 55 fps with 500 nodes
 * and ≥ 50 fps with 1,000, in headless Chromium): the real UI in headless Debian Chromium
 * (playwright-core, tests/helpers/browser.ts, software rendering as in CI), next to a bare
 * canvas-2D page drawing the same scene, in the same run.
 *
 * Per size (100, 500, 1,000 nodes):
 * 1. A fresh hub with a fleet.yml inventory (clusters of ~115 nodes and a roamer pool of 8 %),
 *    one node token per node (admin API) and `load_client.ts` pushing realistic simulated
 *    samples for every node every 5 s, paced as real agents push (200 samples/s at 1,000): every
 *    node is online, its card live and its edge carries particles. (Chosen over `--demo N`,
 *    which runs N simulated agents, each with its job worker and control WebSocket, inside the
 *    hub process; the pusher is one light process and behaves the same at 1,000.)
 * 2. One browser page at 1920×1080: log in through the form, time login → all N cards in the
 *    DOM, reload (session cookie), time navigation start → all N cards. Then rounds (3; 1 with
 *    `--quick`) of: the UI settled 2 s, `requestAnimationFrame` callbacks counted over a fixed
 *    window (5 s; 3 s with `--quick`), then the same page navigated to the baseline and counted
 *    the same way, then back to the UI. The two alternate so a busy neighbour on the machine
 *    weighs on both alike; medians are reported. CDP `Performance.getMetrics` gives the main
 *    thread's busy time over each window (script, style, layout, the rest).
 * 3. The baseline (`canvas_baseline.html`, served by this module on 127.0.0.1) draws, every
 *    frame, the hub box, one bezier edge per node, as many particle sprites per node as the UI
 *    does (from the nodes' network rates, the UI's formula) and every card as a box with a name
 *    and three bars, at the UI's own card rectangles — with no DOM per node and no live data.
 *
 * Also measured once: the reference scene (2,000 boxes + 6,000 particles on the bare
 * page as plain rectangles and 3-px squares, 59–60 fps on the reference machine) as the machine
 * factor, and the bundle's size as the hub
 * serves it (JS and CSS, raw and gzip). Screenshots: `tests/bench/out/canvas-<N>.png` and
 * `canvas-baseline-<N>.png`.
 *
 * Then, on the UI again, the fps while the mouse wheel zooms in and out around the middle of the
 * view (six notches each way, one every 40 ms).
 *
 * When the UI misses a target (or with `--trace`), a 2-s Chromium trace of the UI is taken and
 * summarised per frame: the renderer main thread's self time by event, the display compositor's
 * draw time and quads, raster worker time — the profile that says what costs the time.
 *
 * Run alone: `deno run --allow-all tests/bench/canvas_phase.ts [--quick] [--sizes 100,500]
 * [--trace]`; from the bench: `deno task bench --only canvas`.
 *
 * @module
 */
import { join } from "node:path";
import { request } from "node:http";
import { type Child, waitFor } from "../helpers/process.ts";
import { type HubProcess, startHub } from "../helpers/hub.ts";
import {
  type Browser,
  CHROMIUM_MISSING,
  launchBrowser,
  newPage,
  type Page,
  type PageWindow,
} from "../helpers/browser.ts";
import {
  BENCH_DIR,
  type BenchNode,
  benchScript,
  createNodeTokens,
  type LoadConfig,
  medianBy,
  numberedIds,
  parseCli,
  round,
  type Row,
  type RowFormat,
  sleep,
} from "./common.ts";
import type { NodeSummary } from "../../shared/protocol/mod.ts";

/** Frame-rate targets by node count. */
export const CANVAS_TARGETS: Record<number, number> = { 500: 55, 1000: 50 };

/** The reference scene for the bare page, and its frame rate on the reference machine. */
export const REFERENCE_SCENE = { boxes: 2000, particles: 6000, fps: 59.5 };

/** Frames counted over a window. */
export interface FpsResult {
  fps: number;
  frames: number;
  window_ms: number;
  /** Frame intervals (ms). */
  interval_p50: number;
  interval_p95: number;
  interval_max: number;
  /** Intervals over 25 ms (a skipped vsync at 60 Hz). */
  long_frames: number;
}

/** Main-thread time per second of the window, from CDP `Performance.getMetrics` (ms/s). */
export interface MainThread {
  task_ms_per_s: number;
  script_ms_per_s: number;
  style_ms_per_s: number;
  layout_ms_per_s: number;
  style_recalcs_per_s: number;
  layouts_per_s: number;
}

/** One measured window. */
export type Window = FpsResult & { main: MainThread; loadavg: number };

/** Per-frame costs from a Chromium trace (ms per frame unless named otherwise). */
export interface TraceSummary {
  frames_per_s: number;
  main_busy_ms: number;
  /** Renderer main thread, self time per frame of its costliest events. */
  main_top: { event: string; ms: number; per_frame: number }[];
  compositor_draw_ms: number;
  compositor_quads: number;
  raster_ms: number;
}

/** One size's measurements. */
export interface CanvasSize {
  nodes: number;
  zoom: number;
  lod: string;
  particles: number;
  login_to_cards_ms: number;
  navigation_to_cards_ms: number;
  /** Medians over the rounds. */
  ui: Window;
  baseline: Window;
  rounds: { ui: Window; baseline: Window }[];
  /** Frames while the wheel zooms in and out around the middle of the view. */
  wheel?: FpsResult;
  trace?: TraceSummary;
  screenshot: string;
}

/** Bytes on the wire as the hub serves the UI (raw, and gzip when asked). */
export interface BundleSize {
  /** The scripts the page fetched to show the canvas (entry + static imports). */
  start_js: { raw: number; gzip: number; files: string[] };
  /** Every script of the bundle, chunks loaded on demand included. */
  all_js: { raw: number; gzip: number; files: number };
  css: { raw: number; gzip: number };
}

/** What the phase measured. */
export interface CanvasPhaseResult {
  skipped?: string;
  viewport: { width: number; height: number };
  reference?: Window & { boxes: number; particles: number };
  sizes: CanvasSize[];
  bundle?: BundleSize;
}

/** What the orchestrator lends the phase (all optional when run alone). */
export interface CanvasPhaseOptions {
  quick?: boolean;
  sizes?: number[];
  /** Trace every size, not only those that miss their target. */
  trace?: boolean;
  log?: (msg: string) => void;
  /** Registers a subprocess so the orchestrator can stop it on Ctrl-C. */
  track?: (child: Child) => void;
}

const VIEWPORT = { width: 1920, height: 1080 };
const T = 120_000;

/** fleet.yml for `n` nodes: clusters of ~115, a roamer pool of 8 %. */
function inventory(ids: string[]): string {
  const roamers = ids.slice(ids.length - Math.round(ids.length * 0.08));
  const rest = ids.slice(0, ids.length - roamers.length);
  const clusters = Math.max(2, Math.round(rest.length / 115));
  const per = Math.ceil(rest.length / clusters);
  const lines = ["nodes:"];
  for (const id of ids) {
    lines.push(`  - id: ${id}\n    type: ${id.endsWith("0") ? "orin" : "xavier"}`);
  }
  lines.push("clusters:");
  for (let c = 0; c < clusters; c++) {
    lines.push(
      `  - id: cluster-${c + 1}`,
      `    nodes: [${rest.slice(c * per, (c + 1) * per).join(", ")}]`,
    );
  }
  lines.push(`roamers:\n  nodes: [${roamers.join(", ")}]`);
  return lines.join("\n") + "\n";
}

/** The UI's particle count for a node (web/canvas/particles.ts): from its network rate. */
function particlesOf(n: NodeSummary): number {
  let rate = 0;
  for (const i of n.last_sample?.net ?? []) if (i.iface !== "lo") rate += i.rx_bps + i.tx_bps;
  const level = Math.log10(1 + rate / 2_000);
  return n.status === "online" || n.status === "degraded" ? 1 + Math.min(4, Math.floor(level)) : 0;
}

/** Counts rAF callbacks in the page over `ms`. */
async function measureFps(page: Page, ms: number): Promise<FpsResult> {
  return await page.evaluate(async (windowMs) => {
    const w = globalThis as unknown as PageWindow;
    const intervals: number[] = [];
    let frames = 0;
    const t0: number = await new Promise((r) => w.requestAnimationFrame(r));
    let last = t0;
    const end: number = await new Promise((resolve) => {
      const f = (t: number) => {
        frames++;
        intervals.push(t - last);
        last = t;
        if (t - t0 < windowMs) w.requestAnimationFrame(f);
        else resolve(t);
      };
      w.requestAnimationFrame(f);
    });
    intervals.sort((a, b) => a - b);
    const q = (p: number) =>
      intervals[Math.min(intervals.length - 1, Math.floor(p * intervals.length))];
    const r1 = (v: number) => Math.round(v * 10) / 10;
    return {
      fps: r1((frames * 1000) / (end - t0)),
      frames,
      window_ms: Math.round(end - t0),
      interval_p50: r1(q(0.5)),
      interval_p95: r1(q(0.95)),
      interval_max: r1(intervals.at(-1) ?? 0),
      long_frames: intervals.filter((v) => v > 25).length,
    };
  }, ms);
}

/**
 * fps while the mouse wheel zooms around the middle of the view for `ms`: six notches in, six
 * out, again, one every 40 ms once the page took the last (a hand spinning the wheel).
 */
async function wheelFps(page: Page, ms: number): Promise<FpsResult> {
  await page.mouse.move(VIEWPORT.width / 2, VIEWPORT.height / 2);
  let spinning = true;
  const spin = (async () => {
    // Bounded by the measuring window below; the cap only guards against a hang.
    for (let i = 0; spinning && i < 10_000; i++) {
      await page.mouse.wheel(0, Math.floor(i / 6) % 2 === 0 ? -120 : 120);
      await sleep(40);
    }
  })();
  try {
    return await measureFps(page, ms);
  } finally {
    spinning = false;
    await spin;
  }
}

/** fps over the window with the main thread's busy time (CDP) over the same window. */
export async function measure(page: Page, ms: number): Promise<Window> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const read = async () =>
    Object.fromEntries(
      (await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]),
    ) as Record<string, number>;
  const m0 = await read();
  const fps = await measureFps(page, ms);
  const m1 = await read();
  await cdp.detach();
  const s = (m1.Timestamp - m0.Timestamp) || ms / 1000;
  const per = (k: string, scale = 1000) => round(((m1[k] ?? 0) - (m0[k] ?? 0)) * scale / s, 1);
  return {
    ...fps,
    loadavg: round(Deno.loadavg()[0], 2),
    main: {
      task_ms_per_s: per("TaskDuration"),
      script_ms_per_s: per("ScriptDuration"),
      style_ms_per_s: per("RecalcStyleDuration"),
      layout_ms_per_s: per("LayoutDuration"),
      style_recalcs_per_s: per("RecalcStyleCount", 1),
      layouts_per_s: per("LayoutCount", 1),
    },
  };
}

/** Waits until `n` node cards are in the DOM; returns the page's `performance.now()` then. */
export async function cardsIn(page: Page, n: number): Promise<number> {
  const handle = await page.waitForFunction(
    (count) => {
      const w = globalThis as unknown as PageWindow;
      return w.document.querySelectorAll("[data-testid=node-card]").length >= count
        ? w.performance.now() as number
        : false;
    },
    n,
    { polling: "raf", timeout: T },
  );
  return await handle.jsonValue() as number;
}

/** A GET without transparent decompression: the bytes on the wire. */
function wireSize(url: string, gzip: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: gzip ? { "accept-encoding": "gzip" } : {} }, (res) => {
      let n = 0;
      res.on("data", (c: Uint8Array) => (n += c.length));
      res.on("end", () => resolve(n));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * Sizes of every asset of the UI: the page's script and styles, then the chunks the scripts
 * import (their `"./x.js"` specifiers, followed); `startNames` are the assets the page fetched
 * before the canvas showed.
 */
async function bundleSize(hubUrl: string, startNames: string[]): Promise<BundleSize> {
  const html = await (await fetch(hubUrl + "/")).text();
  const queue = [...html.matchAll(/\/assets\/([\w.-]+\.(?:js|css))/g)].map((m) => m[1]);
  const sizes = new Map<string, { raw: number; gzip: number }>();
  while (queue.length) {
    const name = queue.shift()!;
    if (sizes.has(name)) continue;
    const url = `${hubUrl}/assets/${name}`;
    sizes.set(name, { raw: await wireSize(url, false), gzip: await wireSize(url, true) });
    if (name.endsWith(".js")) {
      const text = await (await fetch(url)).text();
      for (const m of text.matchAll(/["'`]\.\/([\w.-]+\.js)["'`]/g)) queue.push(m[1]);
    }
  }
  const sum = (names: string[]) =>
    names.reduce(
      (a, n) => ({ raw: a.raw + sizes.get(n)!.raw, gzip: a.gzip + sizes.get(n)!.gzip }),
      {
        raw: 0,
        gzip: 0,
      },
    );
  const js = [...sizes.keys()].filter((n) => n.endsWith(".js"));
  const start = startNames.filter((n) => n.endsWith(".js") && sizes.has(n));
  return {
    start_js: { ...sum(start), files: start },
    all_js: { ...sum(js), files: js.length },
    css: sum([...sizes.keys()].filter((n) => n.endsWith(".css"))),
  };
}

/** `drawImage` calls per animation frame in the page over `ms` (the counter is removed after). */
async function drawsPerFrame(page: Page, ms: number): Promise<number> {
  return await page.evaluate(async (windowMs) => {
    const w = globalThis as unknown as PageWindow;
    const proto = w.CanvasRenderingContext2D.prototype;
    const original = proto.drawImage;
    let draws = 0, frames = 0, counting = true;
    proto.drawImage = function (this: unknown, ...args: unknown[]) {
      draws++;
      return original.apply(this, args);
    };
    const tick = () => {
      frames++;
      if (counting) w.requestAnimationFrame(tick);
    };
    w.requestAnimationFrame(tick);
    await new Promise((r) => setTimeout(r, windowMs));
    counting = false;
    proto.drawImage = original;
    return Math.round(draws / Math.max(1, frames));
  }, ms);
}

/** The median window (by fps) of `list`. */
function median(list: Window[]): Window {
  return medianBy(list, (w) => w.fps);
}

/** Summarises a Chromium trace per frame (frames = the renderer's main-frame commits). */
async function summarizeTrace(path: string): Promise<TraceSummary> {
  type Ev = {
    ph: string;
    name: string;
    pid: number;
    tid: number;
    ts: number;
    dur?: number;
    args?: Record<string, unknown> & { name?: string; NumberOfQuads?: number };
    child?: number;
  };
  const raw = JSON.parse(await Deno.readTextFile(path));
  const events: Ev[] = raw.traceEvents ?? raw;
  const threads = new Map<string, string>();
  for (const e of events) {
    if (e.ph === "M" && e.name === "thread_name") threads.set(`${e.pid}:${e.tid}`, e.args!.name!);
  }
  let t0 = Infinity, t1 = -Infinity;
  const byThread = new Map<string, Ev[]>();
  for (const e of events) {
    if (e.ph !== "X" || e.dur === undefined) continue;
    t0 = Math.min(t0, e.ts);
    t1 = Math.max(t1, e.ts + e.dur);
    const k = `${e.pid}:${e.tid}`;
    (byThread.get(k) ?? byThread.set(k, []).get(k)!).push(e);
  }
  const span = (t1 - t0) / 1e6;
  let frames = 0, mainBusy = 0, draw = 0, draws = 0, quads = 0, raster = 0;
  const self = new Map<string, { us: number; n: number }>();
  for (const [k, list] of byThread) {
    const thread = threads.get(k) ?? "";
    list.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
    const stack: Ev[] = [];
    for (const e of list) {
      while (stack.length && stack.at(-1)!.ts + stack.at(-1)!.dur! <= e.ts) stack.pop();
      const parent = stack.at(-1);
      if (parent) parent.child = (parent.child ?? 0) + e.dur!;
      stack.push(e);
      if (thread === "CrRendererMain") {
        if (e.name === "ProxyMain::BeginMainFrame::commit") frames++;
        if (!parent) mainBusy += e.dur!;
      }
      if (e.name === "DirectRenderer::DrawRenderPass") {
        draw += e.dur!;
        draws++;
        quads += e.args?.NumberOfQuads ?? 0;
      }
      if (e.name === "DisplayItemList::Raster") raster += e.dur!;
    }
    if (thread !== "CrRendererMain") continue;
    for (const e of list) {
      const s = self.get(e.name) ?? { us: 0, n: 0 };
      s.us += e.dur! - (e.child ?? 0);
      s.n++;
      self.set(e.name, s);
    }
  }
  const f = Math.max(1, frames);
  const skip = new Set(["RunTask", "ThreadControllerImpl::RunTask", "ThreadPool_RunTask"]);
  return {
    frames_per_s: round(frames / span, 1),
    main_busy_ms: round(mainBusy / 1000 / f, 2),
    main_top: [...self].filter(([name]) => !skip.has(name)).sort((a, b) => b[1].us - a[1].us)
      .slice(0, 10).map(([event, s]) => ({
        event,
        ms: round(s.us / 1000 / f, 2),
        per_frame: round(s.n / f, 1),
      })),
    compositor_draw_ms: round(draw / 1000 / Math.max(1, draws), 2),
    compositor_quads: Math.round(quads / Math.max(1, draws)),
    raster_ms: round(raster / 1000 / f, 2),
  };
}

/** Traces `ms` of `page` into `path`; returns the per-frame summary. */
async function traceOf(browser: Browser, page: Page, path: string, ms: number) {
  await browser.startTracing(page, {
    path,
    categories: [
      "devtools.timeline",
      "disabled-by-default-devtools.timeline",
      "blink",
      "cc",
      "viz",
      "toplevel",
    ],
  });
  await sleep(ms);
  await browser.stopTracing();
  return await summarizeTrace(path);
}

/** Serves the baseline page on 127.0.0.1; returns its URL and the server. */
function serveBaseline(): { url: string; server: Deno.HttpServer<Deno.NetAddr> } {
  const html = Deno.readTextFileSync(join(BENCH_DIR, "canvas_baseline.html"));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );
  return { url: `http://127.0.0.1:${server.addr.port}/`, server };
}

/** Runs the phase. */
export async function canvasPhase(options: CanvasPhaseOptions = {}): Promise<CanvasPhaseResult> {
  const result: CanvasPhaseResult = { viewport: VIEWPORT, sizes: [] };
  if (CHROMIUM_MISSING) return { ...result, skipped: CHROMIUM_MISSING };
  const log = options.log ?? ((m: string) => console.error(`[canvas] ${m}`));
  const ctx: SizeContext = {
    windowMs: options.quick ? 3000 : 5000,
    rounds: options.quick ? 1 : 3,
    trace: options.trace ?? false,
    log,
    track: options.track ?? (() => {}),
    browser: undefined as unknown as Browser,
    baselineUrl: "",
    outDir: join(BENCH_DIR, "out"),
    onFirstRender: async (hub, assets) => (result.bundle ??= await bundleSize(hub.url, assets)),
  };
  await Deno.mkdir(ctx.outDir, { recursive: true });
  const baseline = serveBaseline();
  ctx.baselineUrl = baseline.url;
  ctx.browser = await launchBrowser([
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
  ]);
  try {
    result.reference = await reference(ctx);
    log(
      `reference scene (${REFERENCE_SCENE.boxes} boxes + ${REFERENCE_SCENE.particles} particles, ` +
        `reference machine ${REFERENCE_SCENE.fps}): ${result.reference.fps} fps, load ` +
        `${result.reference.loadavg}`,
    );
    for (const n of options.sizes ?? [100, 500, 1000]) {
      const size = await oneSize(n, ctx);
      result.sizes.push(size);
      log(
        `${n} nodes (${size.particles} particles, zoom ${size.zoom}, ${size.lod} cards): UI ` +
          `${size.ui.fps} fps (p95 ${size.ui.interval_p95} ms, main thread ` +
          `${size.ui.main.task_ms_per_s} ms/s), bare canvas ${size.baseline.fps} fps; ` +
          `login → cards ${size.login_to_cards_ms} ms, navigation → cards ` +
          `${size.navigation_to_cards_ms} ms; wheel zoom ${size.wheel?.fps} fps ` +
          `(p95 ${size.wheel?.interval_p95} ms)`,
      );
      if (size.trace) { for (const line of traceNotes(size)) log(`  ${line}`); }
    }
  } finally {
    await ctx.browser.close();
    await baseline.server.shutdown();
  }
  return result;
}

interface SizeContext {
  windowMs: number;
  rounds: number;
  trace: boolean;
  log: (m: string) => void;
  track: (c: Child) => void;
  browser: Browser;
  baselineUrl: string;
  outDir: string;
  /** Called once the canvas showed, with the assets the page fetched until then. */
  onFirstRender: (hub: HubProcess, assets: string[]) => Promise<unknown>;
}

/** The reference scene on the bare page: boxes in a grid, 3 particles each. */
async function reference(ctx: SizeContext): Promise<Window & { boxes: number; particles: number }> {
  const cols = 50, w = 34, h = 20;
  const boxes = Array.from({ length: REFERENCE_SCENE.boxes }, (_, i) => ({
    name: `n${i}`,
    x: 60 + (i % cols) * (w + 2),
    y: 200 + Math.floor(i / cols) * (h + 1),
    w,
    h,
    particles: REFERENCE_SCENE.particles / REFERENCE_SCENE.boxes,
    speed: 0.35,
  }));
  const g = await newPage(ctx.browser, ctx.baselineUrl, VIEWPORT);
  try {
    await startScene(g.page, {
      hub: { x: 900, y: 40, w: 120, h: 50 },
      boxes,
      particlePx: 3,
      plain: true,
    });
    const m = await measure(g.page, ctx.windowMs);
    g.assertClean();
    return { ...m, boxes: REFERENCE_SCENE.boxes, particles: REFERENCE_SCENE.particles };
  } finally {
    await g.close();
  }
}

interface Scene {
  hub: { x: number; y: number; w: number; h: number };
  boxes: { name: string; x: number; y: number; w: number; h: number; particles: number }[];
  particlePx: number;
  /** Bare rectangles and squares (the reference scene). */
  plain?: boolean;
}

async function startScene(page: Page, scene: Scene): Promise<void> {
  await page.evaluate((s) => (globalThis as unknown as PageWindow).startScene(s), scene);
  await sleep(1000);
}

/** A hub with `n` nodes pushed every 5 s by `load_client.ts`; `stop()` ends both. */
export interface BenchFleet {
  hub: HubProcess;
  ids: string[];
  stop(): Promise<void>;
}

/**
 * Starts a hub with `n` inventory nodes and the paced load client; resolves when every node is
 * online.
 */
export async function startFleet(
  n: number,
  track: (c: Child) => void = () => {},
  log: (m: string) => void = () => {},
): Promise<BenchFleet> {
  const dir = await Deno.makeTempDir({ prefix: "fleet-bench-canvas-" });
  const ids = numberedIds("node-", n, 4);
  await Deno.writeTextFile(join(dir, "fleet.yml"), inventory(ids));
  await Deno.mkdir(join(dir, "hub"));
  log(`${n} nodes: starting the hub`);
  const hub = await startHub({
    dataDir: join(dir, "hub"),
    args: ["--config", join(dir, "fleet.yml"), "--autoscale-every", "1h"],
  });
  track(hub.child);
  let load: Child | undefined;
  const stop = async () => {
    await load?.stop("SIGKILL");
    await hub.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const tokens = await createNodeTokens(hub, ids);
    const nodes: BenchNode[] = ids.map((id, i) => ({ id, token: tokens[i], seq: 0 }));
    const startAt = Date.now() + 300;
    const cfg: LoadConfig = {
      url: hub.url,
      path: "/api/v1/ingest",
      nodes,
      mode: "paced",
      batch: 1,
      concurrency: 8,
      startAt,
      measureFrom: startAt,
      endAt: startAt + 15 * 60_000,
      intervalMs: 5000,
      batchSpacingMs: 5000,
    };
    const file = join(dir, "load.json");
    await Deno.writeTextFile(file, JSON.stringify(cfg));
    load = benchScript("load_client.ts", [file]);
    track(load);
    await waitFor(
      async () => {
        const f = await hub.admin.fleet();
        return f.nodes.filter((x) => x.status === "online").length === n;
      },
      `all ${n} nodes online`,
      30_000,
      500,
    );
    return { hub, ids, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function oneSize(n: number, ctx: SizeContext): Promise<CanvasSize> {
  const fleetRun = await startFleet(n, ctx.track, ctx.log);
  const hub = fleetRun.hub;
  const g = await newPage(ctx.browser, undefined, VIEWPORT);
  try {
    const page = g.page;
    const assets: string[] = [];
    const onRequest = (r: { url(): string }) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith("/assets/")) assets.push(u.pathname.slice("/assets/".length));
    };
    page.on("request", onRequest);
    await page.goto(hub.url, { waitUntil: "domcontentloaded" });
    // Log in, then reload: both timed to the moment all N cards are in the DOM.
    await page.locator("input[name=token]").waitFor({ timeout: T });
    await page.locator("input[name=token]").fill(hub.adminToken);
    const clicked = await page.evaluate(() =>
      (globalThis as unknown as PageWindow).performance.now() as number
    );
    await page.locator("button[type=submit]").click();
    const loginMs = (await cardsIn(page, n)) - clicked;
    page.off("request", onRequest);
    await ctx.onFirstRender(hub, assets);
    await page.reload({ waitUntil: "commit" });
    const navMs = [await cardsIn(page, n)];
    await sleep(2000);
    const shot = join(ctx.outDir, `canvas-${n}.png`);
    await page.screenshot({ path: shot });
    const geometry = await page.evaluate(() => {
      const w = globalThis as unknown as PageWindow;
      const rect = (el: ReturnType<PageWindow["document"]["querySelector"]>) => {
        const r = el!.getBoundingClientRect();
        return { x: r.left, y: r.top, w: r.right - r.left, h: r.bottom - r.top };
      };
      const t = w.document.querySelector(".flow-layer")!.style.transform;
      return {
        zoom: Number(/scale\(([\d.]+)\)/.exec(t)?.[1] ?? 1),
        lod: w.document.querySelector("[data-testid=node-card]")!.getAttribute("class")!
            .includes("compact")
          ? "compact"
          : "full",
        hub: rect(w.document.querySelector("[data-testid=hub-card]")),
        cards: [...w.document.querySelectorAll("[data-testid=node-card]")].map((el) => ({
          id: el.dataset.nodeId!,
          ...rect(el),
        })),
      };
    });
    // The particles the UI really draws per frame: its drawImage calls, counted for 2 s (the
    // counter is removed before anything is measured). The bare page draws as many, spread over
    // the nodes by the UI's own per-node formula.
    const particles = await drawsPerFrame(page, 2000);
    const fleet = new Map((await hub.admin.fleet()).nodes.map((x) => [x.id, x]));
    const weights = geometry.cards.map((c) => particlesOf(fleet.get(c.id)!));
    const k = particles / Math.max(1, weights.reduce((a, b) => a + b, 0));
    let acc = 0, given = 0;
    const scene: Scene = {
      hub: geometry.hub,
      boxes: geometry.cards.map((c, i) => {
        acc += weights[i] * k;
        const count = Math.round(acc) - given;
        given += count;
        return { ...c, name: c.id, particles: count, speed: 0.35 };
      }),
      particlePx: Math.min(14, Math.max(7, 9 * Math.sqrt(geometry.zoom))),
    };

    // Rounds: the UI, then the bare page at the same geometry, then back to the UI.
    const rounds: { ui: Window; baseline: Window }[] = [];
    for (let r = 0; r < ctx.rounds; r++) {
      if (r > 0) {
        const t0 = Date.now();
        await page.goto(hub.url, { waitUntil: "commit" });
        await cardsIn(page, n);
        navMs.push(Date.now() - t0);
        await sleep(2000);
      }
      const ui = await measure(page, ctx.windowMs);
      await page.goto(ctx.baselineUrl, { waitUntil: "load" });
      await startScene(page, scene);
      const base = await measure(page, ctx.windowMs);
      if (r === 0) await page.screenshot({ path: join(ctx.outDir, `canvas-baseline-${n}.png`) });
      rounds.push({ ui, baseline: base });
    }
    const ui = median(rounds.map((r) => r.ui));
    // The UI again, fitted afresh, once every card is in and the view has settled.
    const reopen = async (settleMs: number) => {
      await page.goto(hub.url, { waitUntil: "commit" });
      await cardsIn(page, n);
      await sleep(settleMs);
    };
    await reopen(2000);
    const wheel = await wheelFps(page, ctx.windowMs);
    const target = CANVAS_TARGETS[n];
    let trace: TraceSummary | undefined;
    if (ctx.trace || (target && ui.fps < target)) {
      await reopen(4000);
      trace = await traceOf(ctx.browser, page, join(ctx.outDir, `canvas-trace-${n}.json`), 2000);
    }
    g.assertClean();
    return {
      nodes: n,
      zoom: round(geometry.zoom, 3),
      lod: geometry.lod,
      particles,
      login_to_cards_ms: Math.round(loginMs),
      navigation_to_cards_ms: Math.round(medianBy(navMs, (v) => v)),
      ui,
      baseline: median(rounds.map((r) => r.baseline)),
      rounds,
      wheel,
      trace,
      screenshot: shot,
    };
  } finally {
    await g.close();
    await fleetRun.stop();
  }
}

/** Lines explaining a traced size: where a frame's time goes. */
export function traceNotes(s: CanvasSize): string[] {
  const t = s.trace;
  if (!t) return [];
  return [
    `canvas ${s.nodes} nodes, traced: ${t.frames_per_s} frames/s; per frame: renderer main ` +
    `thread busy ${t.main_busy_ms} ms, display compositor draw ${t.compositor_draw_ms} ms ` +
    `(${t.compositor_quads} quads), raster ${t.raster_ms} ms`,
    `  main thread self time per frame: ` +
    t.main_top.map((e) => `${e.event} ${e.ms} ms${e.per_frame > 1.5 ? ` (${e.per_frame}×)` : ""}`)
      .join(", "),
  ];
}

/** The phase's table rows. */
export function canvasRows(r: CanvasPhaseResult | undefined, h: RowFormat): Row[] {
  if (!r) return [];
  if (r.skipped) {
    return [{
      metric: "canvas fps (skipped)",
      measured: r.skipped,
      baseline: "-",
      ratio: "-",
      target: "-",
      met: "-",
    }];
  }
  const rows: Row[] = [];
  if (r.reference) {
    rows.push({
      metric: `bare canvas-2D reference, ${r.reference.boxes} boxes + ${r.reference.particles} ` +
        `particles, fps (reference machine ~60)`,
      measured: h.fmt(r.reference.fps, 1),
      baseline: h.fmt(REFERENCE_SCENE.fps, 1),
      ratio: h.ratio(r.reference.fps, REFERENCE_SCENE.fps),
      target: "-",
      met: "-",
    });
  }
  for (const s of r.sizes) {
    const target = CANVAS_TARGETS[s.nodes];
    rows.push({
      metric: `canvas fps, ${s.nodes} nodes + ${s.particles} particles vs bare canvas-2D`,
      measured: h.fmt(s.ui.fps, 1),
      baseline: h.fmt(s.baseline.fps, 1),
      ratio: h.ratio(s.ui.fps, s.baseline.fps),
      target: target ? `≥ ${target}` : "-",
      met: target ? h.verdict(s.ui.fps >= target) : "-",
    });
  }
  for (const s of r.sizes) {
    if (!s.wheel) continue;
    rows.push({
      metric: `canvas fps while the wheel zooms in and out, ${s.nodes} nodes (p95 frame ms)`,
      measured: `${h.fmt(s.wheel.fps, 1)} (${h.fmt(s.wheel.interval_p95, 1)})`,
      baseline: "-",
      ratio: "-",
      target: "-",
      met: "-",
    });
  }
  const big = r.sizes.find((s) => s.nodes === 1000) ?? r.sizes.at(-1);
  if (big) {
    rows.push({
      metric: `canvas first render, ${big.nodes} nodes: login / navigation → all cards, ms`,
      measured: `${h.fmt(big.login_to_cards_ms)} / ${h.fmt(big.navigation_to_cards_ms)}`,
      baseline: "-",
      ratio: "-",
      target: "-",
      met: "-",
    });
  }
  if (r.bundle) {
    const b = r.bundle;
    const kb = (v: number) => h.fmt(v / 1000, 1);
    rows.push({
      metric: "UI start script KB (to show the canvas), raw / gzip",
      measured: `${kb(b.start_js.raw)} / ${kb(b.start_js.gzip)}`,
      baseline: "-",
      ratio: "-",
      target: "≤ 500 raw",
      met: h.verdict(b.start_js.raw <= 500_000),
    });
    rows.push({
      metric: `UI all scripts (${b.all_js.files} files) / CSS KB, raw / gzip`,
      measured: `${kb(b.all_js.raw)} / ${kb(b.all_js.gzip)}; ${kb(b.css.raw)} / ${kb(b.css.gzip)}`,
      baseline: "-",
      ratio: "-",
      target: "-",
      met: "-",
    });
  }
  return rows;
}

/** The phase's notes under the table: the traced sizes' per-frame costs. */
export function canvasNotes(r: CanvasPhaseResult | undefined): string[] {
  if (!r || r.skipped) return [];
  const out: string[] = [];
  for (const s of r.sizes) out.push(...traceNotes(s));
  const shot = r.sizes.at(-1)?.screenshot;
  if (shot) out.push(`canvas screenshot: ${shot}`);
  return out;
}

if (import.meta.main) {
  const flags = parseCli("deno run --allow-all tests/bench/canvas_phase.ts [flags]", {
    quick: { type: "boolean", help: "shorter windows, one round" },
    sizes: { type: "string", arg: "N,N", help: "node counts (default 100,500,1000)" },
    trace: { type: "boolean", help: "a Chromium trace of every size, not only missed ones" },
  });
  const r = await canvasPhase({
    quick: flags.quick,
    trace: flags.trace,
    sizes: flags.sizes?.split(",").map(Number),
  });
  console.log(JSON.stringify(r, null, 2));
}
