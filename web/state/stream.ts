/**
 * The one live connection: `GET /api/v1/fleet/events` through `EventSource`, which resumes with
 * `Last-Event-ID` by itself after a drop. The snapshot is fetched first and the stream opened
 * from its `event_id`, so nothing falls between them; `stream.reset` (hub restarted, or we were
 * away too long) re-fetches the snapshot. Views subscribe with {@link onEvent}; nothing polls.
 *
 * @module
 */
import { batch, signal } from "@preact/signals";
import type { FleetEvent, Sample } from "../../shared/protocol/mod.ts";
import { backoffDelay } from "../../shared/backoff.ts";
import { api } from "./api.ts";
import { addNode, applySample, applySnapshot, patchNode, removeNode } from "./fleet.ts";
import { hubNow } from "./clock.ts";
import { applyAlert, applyDelivery, loadAlerts } from "./alerts.ts";

/** `connecting` before the first open, `live` while open, `reconnecting` after a drop. */
export const streamState = signal<"idle" | "connecting" | "live" | "reconnecting">("idle");
/** Why the last snapshot failed, if it did. */
export const streamError = signal<string | null>(null);

/** Every event type of the fleet stream (the SSE `event:` field). */
export type FleetEventType = FleetEvent["type"];
/** The event of type `T`, exactly. */
export type FleetEventOf<T extends FleetEventType> = Extract<FleetEvent, { type: T }>;
/** A handler of one event type, taking exactly that event's data. */
export type FleetEventHandler<T extends FleetEventType> = (event: FleetEventOf<T>) => void;
/** One handler per event type. */
export type FleetEventHandlers = { [T in FleetEventType]: FleetEventHandler<T> };

/** Handlers added with {@link onEvent}, by event type. */
const subscribers: { [T in FleetEventType]?: Set<FleetEventHandler<T>> } = {};

/** The handlers of `type` (a new, empty set the first time). */
function handlersOf<T extends FleetEventType>(type: T): Set<FleetEventHandler<T>> {
  // Sets are only made here, under the type they hold, so each key's set fits its key.
  const table = subscribers as Partial<Record<T, Set<FleetEventHandler<T>>>>;
  return table[type] ??= new Set();
}

let source: EventSource | null = null;

/**
 * Calls `fn` for every event of `type`; returns the unsubscribe function.
 *
 * @example
 * ```ts
 * useEffect(() => onEvent("job.state", (e) => e.job_id === id && reload()), [id]);
 * ```
 */
export function onEvent<T extends FleetEventType>(
  type: T,
  fn: FleetEventHandler<T>,
): () => void {
  const set = handlersOf(type);
  set.add(fn);
  return () => set.delete(fn);
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

const ignore = (): void => {};

// What each event does to the fleet store before the subscribers hear of it. Every type is here
// (a new one in the protocol fails the type check until it is placed), and these are the types
// the stream listens to.
const APPLY: FleetEventHandlers = {
  "node.sample": (e) => queueSample(e.node_id, e.sample),
  "node.status": (e) => patchNode(e.node_id, { status: e.status, last_seen: e.last_seen }),
  "node.added": (e) => addNode(e.node),
  "node.removed": (e) => removeNode(e.node_id),
  "node.recovery": (e) => patchNode(e.node_id, { recovery: e.recovery }),
  "node.control": (e) =>
    patchNode(e.node_id, {
      control: e.connected,
      rtt_ms: e.rtt_ms,
      ...(e.capabilities ? { capabilities: e.capabilities } : {}),
    }),
  "node.clock": (e) => patchNode(e.node_id, { clock_skew_s: e.clock_skew_s }),
  "stream.reset": () => void resync(),
  "job.state": ignore,
  "roamer.state": ignore,
  "exec.started": ignore,
  "exec.output": ignore,
  "exec.exit": ignore,
  "exec.finished": ignore,
  // Link readings go to web/state/network.ts, which subscribes with onEvent.
  "link.quality": ignore,
  "network.scan": ignore,
  "node.action": ignore,
  "alert.firing": (e) => applyAlert(e.alert),
  "alert.resolved": (e) => applyAlert(e.alert),
  "alert.updated": (e) => applyAlert(e.alert),
  "alert.delivery": (e) => applyDelivery(e.delivery),
  "backup.state": ignore,
  "backup.progress": ignore,
  "backup.restore": ignore,
};

function dispatch<T extends FleetEventType>(type: T, event: FleetEventOf<T>): void {
  APPLY[type](event);
  // A reset reloads everything; views hear of it through onResync.
  if (type === "stream.reset") return;
  for (const fn of handlersOf(type)) {
    try {
      fn(event);
    } catch (err) {
      console.error("event handler failed", type, err);
    }
  }
}

function listen<T extends FleetEventType>(es: EventSource, type: T): void {
  es.addEventListener(type, (m) => {
    try {
      // The hub validated the event before sending it: its data is the event of this type.
      dispatch(type, JSON.parse((m as MessageEvent).data) as FleetEventOf<T>);
    } catch (err) {
      console.error("bad event", type, err);
    }
  });
}

async function resync(): Promise<void> {
  close();
  streamState.value = "connecting";
  try {
    const snap = await api.fleet();
    applySnapshot(snap);
    streamError.value = null;
    open(snap.event_id);
    void loadAlerts();
    for (const fn of resyncs) fn();
  } catch (err) {
    streamError.value = (err as Error).message;
    streamState.value = "reconnecting";
    // The hub is away: try again with a growing, jittered pause.
    retryTimer = setTimeout(resync, backoff());
  }
}

let failures = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
/** The pause before the next try: 1 s, 2 s … 32 s, each between half and all of it. */
function backoff(): number {
  return Math.round(backoffDelay(failures++, { baseMs: 1000, capMs: 32_000, jitter: "equal" }));
}

function open(eventId: string): void {
  const es = new EventSource(`/api/v1/fleet/events?last_event_id=${encodeURIComponent(eventId)}`);
  source = es;
  for (const t of Object.keys(APPLY) as FleetEventType[]) listen(es, t);
  es.onopen = () => {
    failures = 0;
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
  failures = 0;
  void resync();
}

/** Closes the stream (logout). */
export function disconnect(): void {
  close();
  streamState.value = "idle";
}
