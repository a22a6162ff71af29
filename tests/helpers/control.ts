/**
 * Helpers for control-channel tests: a terminal WebSocket client that speaks the browser's
 * protocol, a raw WebSocket client for speaking to `/api/v1/agent/ws` like a (bad) agent, and
 * checks on processes through /proc.
 *
 * @module
 */
import type { ApiClient } from "../../shared/api_client.ts";
import { waitFor } from "./process.ts";

/** A frame the hub sent to a terminal client. */
export type TerminalFrame =
  | { type: "ready"; session: string; node_id: string; shell: string }
  | { type: "output"; data: string }
  | { type: "exit"; code: number | null; reason: string }
  | { type: "error"; message: string };

/** A WebSocket client that collects frames and waits (bounded) for them. */
export class WsClient {
  readonly ws: WebSocket;
  readonly frames: unknown[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  #wake: (() => void)[] = [];
  isClosed = false;

  constructor(url: string, headers: Record<string, string>) {
    this.ws = new WebSocket(url, { headers });
    const open = Promise.withResolvers<void>();
    const closed = Promise.withResolvers<{ code: number; reason: string }>();
    this.opened = open.promise;
    this.closed = closed.promise;
    this.ws.onopen = () => open.resolve();
    this.ws.onerror = (e) => open.reject(new Error((e as ErrorEvent).message ?? "ws error"));
    this.ws.onmessage = (e) => {
      this.frames.push(typeof e.data === "string" ? JSON.parse(e.data) : e.data);
      this.#notify();
    };
    this.ws.onclose = (e) => {
      this.isClosed = true;
      open.reject(new Error(`closed before open: ${e.code} ${e.reason}`));
      closed.resolve({ code: e.code, reason: e.reason });
      this.#notify();
    };
    // The rejection of `opened` after a normal close is expected; do not let it go unhandled.
    this.opened.catch(() => {});
  }

  #notify(): void {
    for (const w of this.#wake.splice(0)) w();
  }

  /** Sends a JSON frame (or a raw string / bytes as given). */
  send(frame: unknown): void {
    this.ws.send(
      typeof frame === "string" || frame instanceof Uint8Array ? frame : JSON.stringify(frame),
    );
  }

  /** Waits for a frame matching `test` at index ≥ `from`; returns it. */
  async next<T = Record<string, unknown>>(
    test: (f: T) => boolean,
    timeoutMs = 20_000,
    from = 0,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = (this.frames.slice(from) as T[]).find(test);
      if (found) return found;
      if (this.isClosed) throw new Error(`socket closed; frames: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.#wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    throw new Error(
      `timed out waiting for a frame; got ${JSON.stringify(this.frames).slice(-800)}`,
    );
  }

  /** Closes the socket and waits (bounded) for the close. */
  async close(): Promise<void> {
    if (!this.isClosed) this.ws.close();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 5000))]);
  }
}

/** A browser-like terminal client of `GET /api/v1/terminal/:node`. */
export class TerminalClient extends WsClient {
  /** Everything the shell printed so far. */
  get output(): string {
    return (this.frames as TerminalFrame[])
      .filter((f) => f.type === "output")
      .map((f) => (f as { data: string }).data)
      .join("");
  }

  /**
   * Connects with a session cookie (what a browser sends; see `loginCookie`) or a bearer token,
   * and optional extra headers.
   */
  static open(
    hub: string,
    node: string,
    auth: { cookie?: string; bearer?: string; origin?: string },
    size: { cols: number; rows: number } = { cols: 80, rows: 24 },
  ): TerminalClient {
    const headers: Record<string, string> = {};
    if (auth.cookie) headers.cookie = `fleet_session=${auth.cookie}`;
    if (auth.bearer) headers.authorization = `Bearer ${auth.bearer}`;
    // A browser always names the page's origin; with a cookie the hub insists on it.
    const origin = auth.origin ?? (auth.cookie ? hub : undefined);
    if (origin) headers.origin = origin;
    const url = `${
      hub.replace(/^http/, "ws")
    }/api/v1/terminal/${node}?cols=${size.cols}&rows=${size.rows}`;
    return new TerminalClient(url, headers);
  }

  /** Waits for the `ready` frame. */
  ready(timeoutMs = 20_000): Promise<Extract<TerminalFrame, { type: "ready" }>> {
    return this.next<Extract<TerminalFrame, { type: "ready" }>>(
      (f) => f.type === "ready",
      timeoutMs,
    );
  }

  /** Types text into the shell. */
  type(data: string): void {
    this.send({ type: "input", data });
  }

  /** Waits until the output matches `re`; returns the match. */
  async waitOutput(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = this.output.match(re);
      if (m) return m;
      if (this.isClosed) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`output never matched ${re}; output:\n${this.output.slice(-1500)}`);
  }
}

/** True while `pid` exists and is not a zombie (a zombie has exited; only its entry is left). */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Waits (bounded) until `pid` has exited. */
export async function waitGone(pid: number, what: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(() => !processAlive(pid), `${what} (pid ${pid}) to exit`, timeoutMs, 50);
}

/** Waits (bounded) until the fleet shows `nodeId`'s control channel as `connected`. */
export async function waitControl(
  admin: ApiClient,
  nodeId: string,
  connected = true,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    async () => (await admin.node(nodeId)).control === connected,
    `${nodeId} control ${connected ? "connected" : "disconnected"}`,
    timeoutMs,
    100,
  );
}
