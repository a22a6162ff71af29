/**
 * Service logs: the last lines as JSON, and a follow as server-sent events that lives as long as
 * its caller reads, its token and session are valid and the hub runs.
 *
 * @module
 */
import type { ConnectionOwner, LiveConnections } from "../core/connections.ts";
import { createLogDemuxer } from "../../shared/docker_api.ts";
import type { SwarmLogLine } from "../../shared/protocol/mod.ts";
import type { SwarmEngine } from "./engine.ts";
import type { SwarmServices } from "./services.ts";

/** Most log lines answered at once. */
const MAX_LOG_LINES = 10_000;
/** Heartbeat of a log follow (keeps proxies from closing an idle stream). */
const FOLLOW_HEARTBEAT_MS = 15_000;

const encoder = new TextEncoder();

/** Logs of live services. */
export class SwarmLogs {
  #engine: SwarmEngine;
  #services: SwarmServices;
  #connections: LiveConnections;
  /** Ends of the open log follows (closed when the hub stops). */
  #follows = new Set<(reason: string) => void>();

  constructor(o: { engine: SwarmEngine; services: SwarmServices; connections: LiveConnections }) {
    this.#engine = o.engine;
    this.#services = o.services;
    this.#connections = o.connections;
  }

  /** The last `tail` log lines. */
  async tail(name: string, tail: number): Promise<SwarmLogLine[]> {
    const s = await this.#services.inspect(name);
    const res = await this.#engine.stream("GET", `/services/${s.ID}/logs`, {
      query: { stdout: 1, stderr: 1, timestamps: 1, tail },
      signal: AbortSignal.timeout(20_000),
    });
    const lines: SwarmLogLine[] = [];
    const split = lineSplitter((l) => {
      lines.push(l);
      if (lines.length > MAX_LOG_LINES) lines.shift();
    });
    try {
      for await (const chunk of res.body!) split(chunk);
    } catch (error) {
      throw this.#engine.problem(error);
    }
    return lines;
  }

  /**
   * A follow of the logs as server-sent events: `log` events ({@link SwarmLogLine}), comments as
   * heartbeats, and `end` when the engine ends the stream. Lives as long as the caller reads and
   * `owner`'s token and session are valid.
   */
  async follow(
    name: string,
    tail: number,
    owner: ConnectionOwner,
  ): Promise<ReadableStream<Uint8Array>> {
    const s = await this.#services.inspect(name);
    const abort = new AbortController();
    const res = await this.#engine.stream("GET", `/services/${s.ID}/logs`, {
      query: { stdout: 1, stderr: 1, timestamps: 1, tail, follow: 1 },
      signal: abort.signal,
    });
    const body = res.body!;
    let untrack = () => {};
    let timer: ReturnType<typeof setInterval> | undefined;
    let closed = false;
    let closeRef: ((reason: string) => void) | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const close = () => {
          if (closed) return;
          closed = true;
          clearInterval(timer);
          untrack();
          this.#follows.delete(close);
          abort.abort();
          try {
            controller.close();
          } catch { /* already closed */ }
        };
        const send = (frame: string) => {
          if (closed) return;
          try {
            controller.enqueue(encoder.encode(frame));
          } catch {
            close();
          }
        };
        untrack = this.#connections.track("logs", owner, close);
        this.#follows.add(close);
        closeRef = close;
        timer = setInterval(() => send(": heartbeat\n\n"), FOLLOW_HEARTBEAT_MS);
        const split = lineSplitter((l) => send(`event: log\ndata: ${JSON.stringify(l)}\n\n`));
        (async () => {
          try {
            for await (const chunk of body) split(chunk);
            send(`event: end\ndata: ${JSON.stringify({ reason: "the engine ended the log" })}\n\n`);
          } catch {
            // Aborted by the caller going away or the connection registry: nothing to say.
          }
          close();
        })();
      },
      cancel: () => {
        closed = true;
        clearInterval(timer);
        untrack();
        if (closeRef) this.#follows.delete(closeRef);
        abort.abort();
      },
    });
  }

  /** Ends every open log follow (the hub is stopping: its server waits for open responses). */
  closeFollows(): void {
    for (const close of [...this.#follows]) close("the hub is stopping");
  }
}

/** Demuxes the engine's log stream into timestamped lines. */
function lineSplitter(onLine: (l: SwarmLogLine) => void): (chunk: Uint8Array) => void {
  const decoders = { 1: new TextDecoder(), 2: new TextDecoder() } as Record<number, TextDecoder>;
  const pending: Record<number, string> = { 1: "", 2: "" };
  return createLogDemuxer((stream, payload) => {
    const key = stream === 2 ? 2 : 1;
    pending[key] += decoders[key].decode(payload, { stream: true });
    let at: number;
    while ((at = pending[key].indexOf("\n")) >= 0) {
      const raw = pending[key].slice(0, at);
      pending[key] = pending[key].slice(at + 1);
      const m = /^(\d{4}-\d\d-\d\dT\S+) (.*)$/s.exec(raw);
      onLine({
        stream: key === 2 ? "stderr" : "stdout",
        ts: m ? m[1] : null,
        line: (m ? m[2] : raw).slice(0, 16_384),
      });
    }
  });
}
