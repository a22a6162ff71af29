/**
 * A small SSE client for tests: reads `GET /api/v1/fleet/events` frame by frame and waits
 * (bounded) for events matching a predicate. Always `close()` it: the reader is cancelled so the
 * hub sees the disconnect.
 *
 * @module
 */

/** One received event. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** A connected SSE stream. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  #reader: ReadableStreamDefaultReader<string>;
  #done: Promise<void>;
  #wake: (() => void)[] = [];
  closed = false;

  private constructor(reader: ReadableStreamDefaultReader<string>) {
    this.#reader = reader;
    this.#done = this.#pump();
  }

  /** Connects with `token`, optionally resuming after `lastEventId`. */
  static connect(url: string, token: string, lastEventId?: string): Promise<SseClient> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (lastEventId) headers["last-event-id"] = lastEventId;
    return SseClient.connectWith(url, headers);
  }

  /** Connects as a browser does: with the session cookie (see `loginCookie`). */
  static connectCookie(url: string, cookie: string): Promise<SseClient> {
    return SseClient.connectWith(url, { cookie: `fleet_session=${cookie}` });
  }

  /** Connects with the given request headers. */
  static async connectWith(url: string, headers: Record<string, string>): Promise<SseClient> {
    const res = await fetch(`${url}/api/v1/fleet/events`, { headers });
    if (!res.ok || !res.body) {
      throw new Error(`SSE connect failed: HTTP ${res.status} ${await res.text()}`);
    }
    return new SseClient(res.body.pipeThrough(new TextDecoderStream()).getReader());
  }

  async #pump(): Promise<void> {
    let buf = "";
    try {
      while (true) {
        const { value, done } = await this.#reader.read();
        if (done) break;
        buf += value;
        let idx: number;
        while ((idx = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, idx);
          buf = buf.slice(idx + 2);
          const ev: SseEvent = { event: "message", data: "" };
          let isEvent = false;
          for (const line of frame.split("\n")) {
            if (line.startsWith(":")) this.comments.push(line);
            else if (line.startsWith("id: ")) ev.id = line.slice(4);
            else if (line.startsWith("event: ")) {
              ev.event = line.slice(7);
              isEvent = true;
            } else if (line.startsWith("data: ")) ev.data += line.slice(6);
          }
          if (isEvent) this.events.push(ev);
          for (const w of this.#wake.splice(0)) w();
        }
      }
    } catch { /* cancelled */ }
    this.closed = true;
    for (const w of this.#wake.splice(0)) w();
  }

  /** Waits (bounded) for an event matching `test` received at index ≥ `from`; returns it. */
  async next(
    test: (e: SseEvent) => boolean,
    timeoutMs = 20_000,
    from = 0,
  ): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.events.slice(from).find(test);
      if (found) return found;
      if (this.closed) throw new Error("SSE stream closed");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.#wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    throw new Error(
      `timed out waiting for an SSE event; got: ${this.events.map((e) => e.event).join(", ")}`,
    );
  }

  /** Parsed data of every event of `type`. */
  data<T = Record<string, unknown>>(type: string): T[] {
    return this.events.filter((e) => e.event === type).map((e) => JSON.parse(e.data) as T);
  }

  /** Waits (bounded) for the hub to end the stream; true if it did. */
  async ended(timeoutMs = 10_000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#done, new Promise((r) => timer = setTimeout(r, timeoutMs))]);
    clearTimeout(timer);
    return this.closed;
  }

  /** Cancels the stream. */
  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.#done;
  }
}
