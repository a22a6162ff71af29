/**
 * The hub's event bus: every fleet event gets an id (`<boot id>-<n>`), is serialised once, kept
 * in a bounded ring for `Last-Event-ID` resume and handed to every subscriber (SSE clients,
 * later alerting and MCP). Events are published only after the data behind them is committed.
 *
 * @module
 */
import type { FleetEvent } from "../../shared/protocol/mod.ts";

/** An event ready to send: id, type and the SSE frame already encoded. */
export interface BusEvent {
  seq: number;
  id: string;
  type: FleetEvent["type"];
  frame: Uint8Array;
}

/** Result of asking for the events after an id. */
export type Resume =
  | { ok: true; events: BusEvent[] }
  | { ok: false; reason: string };

const encoder = new TextEncoder();

/** Ids of this hub process start with it, so a resume across a restart is detected. */
function newBootId(): string {
  return Date.now().toString(36) +
    Math.floor(Math.random() * 36 ** 3).toString(36).padStart(3, "0");
}

/**
 * A publish/subscribe bus with a replay ring.
 *
 * @example
 * ```ts
 * const bus = new EventBus(10_000);
 * const off = bus.subscribe((e) => console.log(e.id));
 * bus.publish({ type: "node.removed", node_id: "agx-01" });
 * off();
 * ```
 */
export class EventBus {
  readonly bootId: string = newBootId();
  #ring: (BusEvent | undefined)[];
  #seq = 0;
  /** Seq of the oldest event still in the ring. */
  #oldest = 1;
  #bytes = 0;
  #maxBytes: number;
  #listeners = new Set<(e: BusEvent, event: FleetEvent) => void>();

  /** Keeps at most `capacity` events and at most `maxBytes` of encoded frames for resume. */
  constructor(capacity: number, maxBytes = Number.POSITIVE_INFINITY) {
    this.#ring = new Array(capacity);
    this.#maxBytes = maxBytes;
  }

  /** Id of the newest event (`<boot>-0` before the first). */
  get lastId(): string {
    return `${this.bootId}-${this.#seq}`;
  }

  /**
   * Publishes an event to every subscriber; returns its id. `json`, when given, is the event
   * already serialised (`JSON.stringify(event)`'s text), so a hot path encodes it only once.
   */
  publish(event: FleetEvent, json?: string): string {
    const seq = ++this.#seq;
    const id = `${this.bootId}-${seq}`;
    const frame = encoder.encode(
      `id: ${id}\nevent: ${event.type}\ndata: ${json ?? JSON.stringify(event)}\n\n`,
    );
    const e: BusEvent = { seq, id, type: event.type, frame };
    const slot = seq % this.#ring.length;
    const replaced = this.#ring[slot];
    if (replaced) {
      this.#bytes -= replaced.frame.byteLength;
      this.#oldest = replaced.seq + 1;
    }
    this.#ring[slot] = e;
    this.#bytes += frame.byteLength;
    // Large events (samples with many containers) shrink the window instead of growing memory.
    while (this.#bytes > this.#maxBytes && this.#oldest < seq) {
      const old = this.#oldest % this.#ring.length;
      this.#bytes -= this.#ring[old]!.frame.byteLength;
      this.#ring[old] = undefined;
      this.#oldest++;
    }
    for (const listener of this.#listeners) listener(e, event);
    return id;
  }

  /**
   * Calls `listener` for every event from now on, with the encoded event and the event itself
   * (in-process consumers such as alerting read it without decoding); returns the unsubscribe
   * function.
   */
  subscribe(listener: (e: BusEvent, event: FleetEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Number of subscribers. */
  get subscribers(): number {
    return this.#listeners.size;
  }

  /** The events after `lastId`, or why they cannot be replayed (restart, too old, malformed). */
  since(lastId: string): Resume {
    const m = /^([a-z0-9]+)-(\d+)$/.exec(lastId.trim());
    if (!m) return { ok: false, reason: "malformed Last-Event-ID" };
    if (m[1] !== this.bootId) return { ok: false, reason: "hub restarted" };
    const after = Number(m[2]);
    if (after > this.#seq) return { ok: false, reason: "Last-Event-ID is from the future" };
    if (after + 1 < this.#oldest) return { ok: false, reason: "too many events missed" };
    const events: BusEvent[] = [];
    for (let s = after + 1; s <= this.#seq; s++) events.push(this.#ring[s % this.#ring.length]!);
    return { ok: true, events };
  }

  /** Bytes of encoded frames held for resume. */
  get bytes(): number {
    return this.#bytes;
  }
}
