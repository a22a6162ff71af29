/**
 * The canvas' own state, kept apart from the components (as Svelte Flow keeps @xyflow/system's
 * math out of its components): node positions (a signal per node, so a drag re-renders one
 * card), the frames around the groups, the node lookup that XYDrag works on, the viewport
 * transform, and the edge geometry the particle layer draws from. It reads no app store: the
 * groups, saved positions and selection come in through {@link connectFlowModel}.
 *
 * @module
 */
import { computed, effect, type ReadonlySignal, type Signal, signal } from "@preact/signals";
import type { InternalNodeBase, NodeBase, Transform } from "@xyflow/system";
import { autoLayout, type Group } from "./auto_layout.ts";
import {
  boundsOf,
  CARD,
  FRAME_HEAD,
  FRAME_PAD,
  HUB,
  HUB_ID,
  type Point,
  type Rect,
} from "./geometry.ts";

/** A frame drawn around a group. */
export interface Frame extends Rect {
  group: Group;
}

type Internal = InternalNodeBase<NodeBase>;

/** What the app hands the canvas; the layout follows every change of these signals. */
export interface FlowInputs {
  /** The groups to frame, in order, each with its members' ids. */
  groups: ReadonlySignal<Group[]>;
  /** Where the operator dropped nodes (flow coordinates); the auto layout places the rest. */
  saved: ReadonlySignal<Record<string, Point>>;
  /** Where the operator put the hub, if they moved it. */
  savedHub: ReadonlySignal<Point | undefined>;
  /** Selected nodes: a drag moves them together. */
  selection: ReadonlySignal<ReadonlySet<string>>;
}

const inputs = signal<FlowInputs | null>(null);

/**
 * Feeds the canvas its data (once, at start): from then on nodes are placed, framed and made
 * draggable from these signals.
 *
 * @example
 * ```ts
 * connectFlowModel({ groups, saved: savedPositions, savedHub, selection });
 * ```
 */
export function connectFlowModel(data: FlowInputs): void {
  inputs.value = data;
}

const groups = computed<Group[]>(() => inputs.value?.groups.value ?? []);

const positions = new Map<string, Signal<Point>>();
/** Bumped whenever any position changes (frames, edges and the minimap follow it). */
export const layoutVersion = signal(0);
/** The hub's position. */
export const hubPosition = signal<Point>({ x: -HUB.w / 2, y: 0 });

/** The node lookup XYDrag reads and writes (same shape as xyflow's internal nodes). */
export const nodeLookup = new Map<string, Internal>();

/** The live position signal of a node's card. */
export function positionOf(id: string): Signal<Point> {
  let s = positions.get(id);
  if (!s) positions.set(id, s = signal({ x: 0, y: 0 }));
  return s;
}

function setPosition(id: string, p: Point): void {
  if (id === HUB_ID) {
    hubPosition.value = p;
  } else {
    const s = positionOf(id);
    if (s.peek().x !== p.x || s.peek().y !== p.y) s.value = p;
  }
  let n = nodeLookup.get(id);
  if (!n) {
    const size = id === HUB_ID ? HUB : CARD;
    n = {
      id,
      position: { ...p },
      data: {},
      measured: { width: size.w, height: size.h },
      internals: { positionAbsolute: { ...p }, z: 0, userNode: { id, position: p, data: {} } },
    } as Internal;
    nodeLookup.set(id, n);
  }
  n.position = { ...p };
  n.internals.positionAbsolute = { ...p };
  n.selected = inputs.peek()?.selection.peek().has(id) ?? false;
}

/** Re-places every node: saved positions win, the auto layout fills the rest. */
function relayout(): void {
  const data = inputs.value;
  if (!data) return;
  const g = groups.value;
  const saved = data.saved.value;
  const auto = autoLayout(g);
  const live = new Set<string>([HUB_ID]);
  for (const [id, p] of auto.nodes) {
    live.add(id);
    setPosition(id, saved[id] ?? p);
  }
  setPosition(HUB_ID, data.savedHub.value ?? auto.hub);
  for (const id of [...nodeLookup.keys()]) {
    if (!live.has(id)) {
      nodeLookup.delete(id);
      positions.delete(id);
    }
  }
  layoutVersion.value = layoutVersion.peek() + 1;
}

effect(relayout);

effect(() => {
  const sel = inputs.value?.selection.value;
  if (!sel) return;
  for (const [id, n] of nodeLookup) n.selected = sel.has(id);
});

/** Moves nodes during a drag (called by the drag adapter with flow positions). */
export function moveNodes(moved: Iterable<[string, Point]>): void {
  for (const [id, p] of moved) setPosition(id, p);
  layoutVersion.value = layoutVersion.peek() + 1;
}

/** Frames around each group's cards, following the cards wherever they are dragged. */
export const frames = computed<Frame[]>(() => {
  layoutVersion.value;
  const out: Frame[] = [];
  for (const g of groups.value) {
    const b = boundsOf(
      g.members.map((id) => ({ ...positionOf(id).peek(), width: CARD.w, height: CARD.h })),
    );
    if (!b) continue;
    out.push({
      group: g,
      x: b.x - FRAME_PAD,
      y: b.y - FRAME_PAD - FRAME_HEAD,
      width: b.width + 2 * FRAME_PAD,
      height: b.height + 2 * FRAME_PAD + FRAME_HEAD,
    });
  }
  return out;
});

/** Bounds of everything drawn (for fit view and the minimap). */
export function contentBounds(): Rect {
  const rects: Rect[] = frames.peek().map((f) => f);
  const h = hubPosition.peek();
  rects.push({ ...h, width: HUB.w, height: HUB.h });
  return boundsOf(rects)!;
}

/** The viewport transform [x, y, zoom], updated by the pan/zoom adapter (not a signal: it moves every frame). */
export const viewport = { transform: [0, 0, 1] as Transform, width: 1, height: 1, version: 0 };

/**
 * Nodes whose cards are near the view (null before the first measure: render all). Cards far
 * outside are not rendered at all, so zooming in on a 1,000-node fleet mounts only the few cards
 * on screen; the margin of half a screen on each side keeps short pans from showing holes.
 */
export const inView = signal<ReadonlySet<string> | null>(null);

let measureTimer: ReturnType<typeof setTimeout> | undefined;

/** Re-measures {@link inView} shortly after the view or the layout stopped changing. */
export function measureInViewSoon(delayMs = 250): void {
  clearTimeout(measureTimer);
  measureTimer = setTimeout(measureInView, delayMs);
}

function measureInView(): void {
  const [tx, ty, z] = viewport.transform;
  const w = viewport.width / z, h = viewport.height / z;
  const x0 = -tx / z - w / 2, y0 = -ty / z - h / 2, x1 = x0 + 2 * w, y1 = y0 + 2 * h;
  const ids = new Set<string>();
  for (const [id, n] of nodeLookup) {
    const p = n.internals.positionAbsolute;
    if (p.x + CARD.w >= x0 && p.x <= x1 && p.y + CARD.h >= y0 && p.y <= y1) ids.add(id);
  }
  const prev = inView.peek();
  if (prev && prev.size === ids.size && [...ids].every((id) => prev.has(id))) return;
  inView.value = ids;
}

effect(() => {
  layoutVersion.value;
  measureInViewSoon();
});
