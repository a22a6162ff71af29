/**
 * Server-sent events fan-out for `GET /api/v1/fleet/events`. Each client owns a byte-bounded
 * queue: events are enqueued as pre-encoded frames, and a client whose unsent bytes pass the
 * limit (it stopped reading) is dropped, so a stuck browser cannot grow the hub's memory.
 * Resume uses `Last-Event-ID` against the bus's replay ring; when that is impossible the client
 * gets a `stream.reset` event and re-reads the snapshot.
 *
 * @module
 */
import type { BusEvent, EventBus } from "./bus.ts";
import type { ConnectionOwner, LiveConnections } from "./connections.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("sse");
const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode(": heartbeat\n\n");

/** Options of {@link SseHub}. */
export interface SseOptions {
  heartbeatMs: number;
  clientBufferBytes: number;
  /** Where streams register, so revoking their token (or logging out) ends them. */
  connections: LiveConnections;
}

interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
  unsubscribe: () => void;
  untrack: () => void;
  closed: boolean;
}

/** Serves SSE streams from an {@link EventBus} and counts clients and drops. */
export class SseHub {
  #bus: EventBus;
  #options: SseOptions;
  #clients = new Set<Client>();
  #timer: ReturnType<typeof setInterval>;
  /** Clients dropped for being too slow since start. */
  dropped = 0;

  constructor(bus: EventBus, options: SseOptions) {
    this.#bus = bus;
    this.#options = options;
    this.#timer = setInterval(() => {
      for (const c of this.#clients) this.#send(c, HEARTBEAT);
    }, options.heartbeatMs);
  }

  /** Connected clients. */
  get clients(): number {
    return this.#clients.size;
  }

  #send(client: Client, frame: Uint8Array): void {
    if (client.closed) return;
    try {
      client.controller.enqueue(frame);
    } catch {
      this.#close(client);
      return;
    }
    if ((client.controller.desiredSize ?? 0) < 0) {
      this.dropped++;
      logger.warn("dropped slow SSE client", {
        buffered_bytes: this.#options.clientBufferBytes - (client.controller.desiredSize ?? 0),
      });
      // error() discards the queued frames at once, which is the point.
      client.controller.error(new Error("client too slow"));
      this.#close(client);
    }
  }

  #close(client: Client): void {
    if (client.closed) return;
    client.closed = true;
    client.unsubscribe();
    client.untrack();
    this.#clients.delete(client);
  }

  /**
   * Opens a stream for one client, replaying from `lastEventId` when given.
   *
   * @example
   * ```ts
   * app.get("/api/v1/fleet/events", (c) => sse.open(c.req.header("last-event-id")));
   * ```
   */
  open(lastEventId: string | undefined, owner?: ConnectionOwner): Response {
    let client!: Client;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = { controller, unsubscribe: () => {}, untrack: () => {}, closed: false };
        controller.enqueue(encoder.encode("retry: 2000\n\n"));
        if (lastEventId) {
          const resume = this.#bus.since(lastEventId);
          if (resume.ok) { for (const e of resume.events) controller.enqueue(e.frame); }
          else {
            const data = JSON.stringify({ type: "stream.reset", reason: resume.reason });
            controller.enqueue(
              encoder.encode(`id: ${this.#bus.lastId}\nevent: stream.reset\ndata: ${data}\n\n`),
            );
          }
        }
        client.unsubscribe = this.#bus.subscribe((e: BusEvent) => this.#send(client, e.frame));
        this.#clients.add(client);
        if (owner) {
          client.untrack = this.#options.connections.track("sse", owner, (reason) => {
            try {
              controller.enqueue(encoder.encode(`: closed: ${reason}\n\n`));
              controller.close();
            } catch { /* already errored */ }
            this.#close(client);
          });
        }
      },
      cancel: () => this.#close(client),
    }, {
      highWaterMark: this.#options.clientBufferBytes,
      size: (chunk) => chunk.byteLength,
    });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Ends every stream (shutdown) and stops the heartbeat. */
  close(): void {
    clearInterval(this.#timer);
    for (const c of [...this.#clients]) {
      try {
        c.controller.close();
      } catch { /* already errored */ }
      this.#close(c);
    }
  }
}
