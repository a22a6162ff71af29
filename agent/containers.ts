/**
 * Container operations for the control channel, on the node's own Docker engine through
 * `shared/docker_api.ts`: list, restart, stop, remove (answered with one `reply`) and logs (tail
 * and follow, answered as a `stream.data`… `stream.end` stream). Engine errors are mapped to
 * codes the hub turns into HTTP statuses: no such container → `not_found`, a conflict (remove a
 * running container without force) → `conflict`, no engine → `unavailable`.
 *
 * @module
 */
import {
  type ContainerInspect,
  type ContainerSummary,
  createDockerApi,
  createLogDemuxer,
  type DockerApi,
  DockerApiError,
  DockerUnavailableError,
} from "../shared/docker_api.ts";
import { sleep } from "../shared/backoff.ts";
import type {
  AgentMessage,
  ContainerInfo,
  ControlErrorCode,
  DockerRequestMessage as DockerRequest,
} from "../shared/protocol/mod.ts";

/** Unsent bytes on the control socket above which a log follow waits. */
const SOCKET_HIGH_WATER = 1024 * 1024;
/** Bytes of log text sent in one frame at most. */
const FRAME_CHARS = 32 * 1024;

/** The error code and message of a failed engine call. */
export function classify(err: unknown): { code: ControlErrorCode; error: string } {
  if (err instanceof DockerUnavailableError) return { code: "unavailable", error: err.message };
  if (err instanceof DockerApiError) {
    const code = err.status === 404 ? "not_found" : err.status === 409 ? "conflict" : "failed";
    return { code, error: err.detail || err.message };
  }
  return { code: "failed", error: err instanceof Error ? err.message : String(err) };
}

/** The container operations of one control connection. */
export class ContainerOps {
  #send: (m: AgentMessage) => void;
  #buffered: () => number;
  #api: DockerApi;
  #streams = new Map<number, AbortController>();

  constructor(send: (m: AgentMessage) => void, buffered: () => number, socketPath: string) {
    this.#send = send;
    this.#buffered = buffered;
    this.#api = createDockerApi(socketPath);
  }

  /** Runs one request; never throws (failures are answered). */
  async handle(msg: DockerRequest): Promise<void> {
    if (msg.op === "logs") return this.#logs(msg);
    try {
      const data = await this.#run(msg);
      this.#send({ type: "reply", ch: msg.ch, ok: true, data });
    } catch (err) {
      this.#send({ type: "reply", ch: msg.ch, ok: false, ...classify(err) });
    }
  }

  async #run(msg: Exclude<DockerRequest, { op: "logs" }>): Promise<unknown> {
    if (msg.op === "list") {
      const listed = await this.#api.json<ContainerSummary[]>("GET", "/containers/json", {
        query: { all: 1 },
        timeoutMs: 15_000,
      });
      return listed.map((c): ContainerInfo => ({
        id: c.Id,
        name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ""),
        image: c.Image ?? "",
        state: c.State ?? "unknown",
        status: c.Status ?? "",
        created: typeof c.Created === "number" ? c.Created * 1000 : null,
        labels: c.Labels ?? {},
      }));
    }
    const c = encodeURIComponent(msg.container);
    if (msg.op === "restart") {
      await this.#api.send("POST", `/containers/${c}/restart`, {
        query: { t: 10 },
        timeoutMs: 60_000,
      });
    } else if (msg.op === "stop") {
      // 304: already stopped, which is what was asked.
      await this.#api.send("POST", `/containers/${c}/stop`, {
        query: { t: 10 },
        timeoutMs: 60_000,
        accept: [304],
      });
    } else {
      await this.#api.send("DELETE", `/containers/${c}`, {
        query: { force: msg.force ? 1 : 0, v: 0 },
        timeoutMs: 60_000,
      });
    }
    return { container: msg.container, op: msg.op };
  }

  async #logs(msg: Extract<DockerRequest, { op: "logs" }>): Promise<void> {
    const abort = new AbortController();
    this.#streams.set(msg.ch, abort);
    let pending = "";
    const flush = () => {
      if (!pending) return;
      for (let i = 0; i < pending.length; i += FRAME_CHARS) {
        this.#send({ type: "stream.data", ch: msg.ch, data: pending.slice(i, i + FRAME_CHARS) });
      }
      pending = "";
    };
    try {
      const c = encodeURIComponent(msg.container);
      const info = await this.#api.json<ContainerInspect>(
        "GET",
        `/containers/${c}/json`,
        { signal: abort.signal, timeoutMs: 15_000 },
      );
      const res = await this.#api.request("GET", `/containers/${c}/logs`, {
        query: { stdout: 1, stderr: 1, follow: msg.follow ? 1 : 0, tail: msg.tail },
        signal: abort.signal,
      });
      const decoders = [new TextDecoder(), new TextDecoder(), new TextDecoder()];
      const onFrame = (stream: number, payload: Uint8Array) => {
        pending += (decoders[stream] ?? decoders[0]).decode(payload, { stream: true });
      };
      const demux = info.Config?.Tty ? (b: Uint8Array) => onFrame(0, b) : createLogDemuxer(onFrame);
      if (res.body) {
        for await (const chunk of res.body) {
          demux(chunk);
          flush();
          while (!abort.signal.aborted && this.#buffered() > SOCKET_HIGH_WATER) {
            await sleep(20);
          }
        }
      }
      flush();
      this.#send({ type: "stream.end", ch: msg.ch });
    } catch (err) {
      flush();
      if (abort.signal.aborted) this.#send({ type: "stream.end", ch: msg.ch });
      else this.#send({ type: "stream.end", ch: msg.ch, ...classify(err) });
    } finally {
      this.#streams.delete(msg.ch);
    }
  }

  /** Stops a log follow. */
  cancel(ch: number): void {
    this.#streams.get(ch)?.abort();
  }

  /** Stops every stream and releases the engine client (the connection is gone). */
  close(): void {
    for (const a of this.#streams.values()) a.abort();
    this.#api.close();
  }
}
