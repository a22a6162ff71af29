/**
 * The one live connection: `GET /api/v1/fleet/events` through `EventSource`, which resumes with
 * `Last-Event-ID` by itself after a drop. The snapshot is fetched first and the stream opened
 * from its `event_id`, so nothing falls between them; `stream.reset` (hub restarted, or we were
 * away too long) re-fetches the snapshot. Views subscribe with {@link onEvent}; nothing polls.
 *
 * @module
 */
import { batch, signal } from "@preact/signals";
import type { FleetEvent, FleetSnapshot, Sample } from "../../shared/protocol/mod.ts";
import { api } from "./api.ts";
import { addNode, applySample, applySnapshot, patchNode, removeNode } from "./fleet.ts";
import { hubNow } from "./clock.ts";

/** `connecting` before the first open, `live` while open, `reconnecting` after a drop. */
export const streamState = signal<"idle" | "connecting" | "live" | "reconnecting">("idle");
/** Why the last snapshot failed, if it did. */
export const streamError = signal<string | null>(null);

// Event names the hub sends; views may add more through onEvent.
const TYPES = new Set([
  "node.sample",
  "node.status",
  "node.added",
  "node.removed",
  "node.recovery",
  "node.clock",
  "stream.reset",
  "job.state",
  "roamer.state",
  "node.control",
]);

type Handler = (event: { type: string } & Record<string, unknown>) => void;
const handlers = new Map<string, Set<Handler>>();
let source: EventSource | null = null;

/**
 * Calls `fn` for every event of `type`; returns the unsubscribe function.
 *
 * @example
 * ```ts
 * useEffect(() => onEvent("job.state", (e) => reload()), []);
 * ```
 */
export function onEvent<T = Record<string, unknown>>(
  type: string,
  fn: (event: T & { type: string }) => void,
): () => void {
  let set = handlers.get(type);
  if (!set) handlers.set(type, set = new Set());
  set.add(fn as Handler);
  if (source && !TYPES.has(type)) listen(source, type);
  TYPES.add(type);
  return () => set!.delete(fn as Handler);
}

/** Listeners fired after every snapshot (re)load, for views that keep their own lists. */
const resyncs = new Set<() => void>();

/** Calls `fn` after each snapshot load (first connect and every `stream.reset`). */
export function onResync(fn: () => void): () => void {
  resyncs.add(fn);
  return () => resyncs.delete(fn);
}

// Samples are applied in batches a few times a second: at 1,000 nodes that is 200 events a second,
// and re-rendering (and re-rastering) a card per event would cost the canvas its frame rate.
const SAMPLE_FLUSH_MS = 250;
const pendingSamples = new Map<string, { sample: Sample; at: number }>();
let flushTimer: ReturnType<typeof setTimeout> | undefined;

function queueSample(id: string, sample: Sample): void {
  pendingSamples.set(id, { sample, at: hubNow() });
  flushTimer ??= setTimeout(flushSamples, SAMPLE_FLUSH_MS);
}

function flushSamples(): void {
  flushTimer = undefined;
  batch(() => {
    for (const [id, p] of pendingSamples) applySample(id, p.sample, p.at);
  });
  pendingSamples.clear();
}

function dispatch(ev: { type: string } & Record<string, unknown>): void {
  const e = ev as unknown as FleetEvent;
  switch (e.type) {
    case "node.sample":
      queueSample(e.node_id, e.sample);
      break;
    case "node.status":
      patchNode(e.node_id, { status: e.status, last_seen: e.last_seen });
      break;
    case "node.added":
      addNode(e.node);
      break;
    case "node.removed":
      removeNode(e.node_id);
      break;
    case "node.recovery":
      patchNode(e.node_id, { recovery: e.recovery });
      break;
    case "node.control":
      patchNode(e.node_id, { control: e.connected, rtt_ms: e.rtt_ms });
      break;
    case "node.clock":
      patchNode(e.node_id, { clock_skew_s: e.clock_skew_s });
      break;
    case "stream.reset":
      void resync();
      return;
  }
  for (const fn of handlers.get(ev.type) ?? []) {
    try {
      fn(ev);
    } catch (err) {
      console.error("event handler failed", ev.type, err);
    }
  }
}

function listen(es: EventSource, type: string): void {
  es.addEventListener(type, (m) => {
    try {
      dispatch(JSON.parse((m as MessageEvent).data));
    } catch (err) {
      console.error("bad event", type, err);
    }
  });
}

async function resync(): Promise<void> {
  close();
  streamState.value = "connecting";
  try {
    const snap = await api<FleetSnapshot>("/fleet");
    applySnapshot(snap);
    streamError.value = null;
    open(snap.event_id);
    for (const fn of resyncs) fn();
  } catch (err) {
    streamError.value = (err as Error).message;
    streamState.value = "reconnecting";
    // The hub is away: try again with a growing, jittered pause.
    retryTimer = setTimeout(resync, backoff());
  }
}

let attempt = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
function backoff(): number {
  attempt = Math.min(attempt + 1, 6);
  return Math.round(500 * 2 ** attempt * (0.5 + Math.random() / 2));
}

function open(eventId: string): void {
  const es = new EventSource(`/api/v1/fleet/events?last_event_id=${encodeURIComponent(eventId)}`);
  source = es;
  for (const t of TYPES) listen(es, t);
  es.onopen = () => {
    attempt = 0;
    streamState.value = "live";
  };
  es.onerror = () => {
    if (source !== es) return;
    if (es.readyState === EventSource.CLOSED) {
      // The hub answered with an error (restart with a new boot, or 401): start over.
      streamState.value = "reconnecting";
      source = null;
      retryTimer = setTimeout(resync, backoff());
    } else {
      streamState.value = "reconnecting";
    }
  };
}

function close(): void {
  clearTimeout(retryTimer);
  source?.close();
  source = null;
}

/** Loads the snapshot and opens the stream (after login). */
export function connect(): void {
  attempt = 0;
  void resync();
}

/** Closes the stream (logout). */
export function disconnect(): void {
  close();
  streamState.value = "idle";
}
