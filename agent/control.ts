/**
 * The agent's control channel: one outbound WebSocket to `GET /api/v1/agent/ws` (the node token
 * in `Authorization: Bearer`), so NAT between node and hub never matters. The agent says `hello`
 * (version, capabilities), the hub answers `welcome` and pings; the agent answers every ping
 * with a `pong` (the hub measures RTT from it) and treats three missed pings as a dead link.
 * Everything else is multiplexed on the socket by channel id: batch exec (`exec.ts`), terminals
 * (`pty.ts`), container operations (`containers.ts`), backups and restores (`backup.ts`) and node actions (`node_actions.ts`: cleanup,
 * recovery, restart; only when the agent offers them). A frame that is not JSON or not a known
 * message is logged and answered with an `error`; it never ends the connection.
 *
 * When the connection ends, the agent kills what ran on it (nobody can receive that output any
 * more; the hub marks those runs `interrupted`) and dials again with jittered exponential
 * backoff, bounded by `maxBackoffMs`, until stopped.
 *
 * @module
 */
import type { AgentMessage, ControlCapability, HubMessage } from "../shared/protocol/mod.ts";
import type { FrameResult } from "../shared/control_frames.ts";
import type { NodeActionHandlers } from "./node_actions.ts";
import { NODE_ID_PATTERN } from "../shared/protocol/constants.ts";
import { DEFAULT_DOCKER_SOCKET } from "../shared/docker_api.ts";
import { backoffDelay, sleep } from "../shared/backoff.ts";
import { getLogger } from "../shared/log.ts";
import { lazyImport } from "../shared/lazy_import.ts";

const logger = getLogger("control");

/** Options of {@link runControl}. */
export interface ControlOptions {
  /** Hub base URL (`http://` → `ws://`, `https://` → `wss://`). */
  hub: string;
  token: string;
  version: string;
  hostname?: string;
  /** The node's Docker socket; `false` = no container operations. */
  dockerSocket?: string | false;
  /** Stops the channel: the socket is closed and everything on it killed. */
  signal: AbortSignal;
  /** First reconnect delay (default 500 ms); doubles per failure, equal jitter (half to all). */
  minBackoffMs?: number;
  /** Longest reconnect delay (default 30 s). */
  maxBackoffMs?: number;
  /** How this agent restarts, cleans up and recovers; absent: it offers no node actions. */
  actions?: NodeActionHandlers;
  /** Called on every (dis)connection; for tests and the demo. */
  onState?: (connected: boolean) => void;
}

/** The control socket URL of a hub. */
export function controlUrl(hub: string): string {
  const u = new URL("/api/v1/agent/ws", hub.replace(/\/+$/, "") + "/");
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

/** The frame schemas (zod), loaded with the first frame that is not a plain ping or welcome. */
let frames: typeof import("../shared/control_frames.ts") | undefined;

/**
 * A well-formed `ping` or `welcome`, checked in plain code so that an idle agent never loads the
 * frame schemas; anything else, malformed ones included, goes to the strict schemas (and their
 * errors). Keys the schemas do not name are dropped, as they drop them.
 */
export function quickFrame(data: unknown): HubMessage | undefined {
  if (typeof data !== "string" || data.length > 256) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (m.type === "ping" && typeof m.t === "number" && Number.isFinite(m.t)) {
    return { type: "ping", t: m.t };
  }
  if (
    m.type === "welcome" && typeof m.node_id === "string" && NODE_ID_PATTERN.test(m.node_id) &&
    typeof m.ping_ms === "number" && Number.isSafeInteger(m.ping_ms) && m.ping_ms > 0
  ) {
    return { type: "welcome", node_id: m.node_id, ping_ms: m.ping_ms };
  }
  return undefined;
}

/** A part of the channel whose code loads on first use; calls run in arrival order. */
class Lazy<T> {
  #make: () => Promise<T>;
  #p: Promise<T> | undefined;
  value: T | undefined;
  constructor(make: () => Promise<T>) {
    this.#make = make;
  }
  /** Whether anything asked for it yet. */
  get started(): boolean {
    return this.#p !== undefined;
  }
  get(): Promise<T> {
    return this.#p ??= this.#make().then((v) => (this.value = v));
  }
}

/** How one connection ended. */
interface Ended {
  /** The hub accepted us (welcome received). */
  welcomed: boolean;
  code: number;
  reason: string;
  lastedMs: number;
  /** The HTTP status the hub refused the upgrade with, when it answered one. */
  status?: number;
}

/** Runs one connection until it closes (or `signal` aborts). */
function connectOnce(o: ControlOptions): Promise<Ended> {
  const started = Date.now();
  const { promise, resolve } = Promise.withResolvers<Ended>();
  let welcomed = false;
  let lastPing = Date.now();
  let pingMs = 5000;
  let watchdog: ReturnType<typeof setInterval> | undefined;
  let malformed = 0;
  const capabilities: ControlCapability[] = ["exec", "pty", "net", "backup"];
  if (o.dockerSocket !== false) capabilities.push("docker");
  if (o.actions) capabilities.push("actions");
  let nodeId = "";

  // The token goes in a header, never into the URL.
  const ws = new WebSocket(controlUrl(o.hub), {
    headers: { authorization: `Bearer ${o.token}` },
  });
  const send = (m: AgentMessage) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    try {
      ws.send(JSON.stringify(m));
    } catch { /* closing: the close handler cleans up */ }
  };
  const buffered = () => ws.bufferedAmount;
  // Exec, terminals, network tools, containers and node actions load when first asked for.
  const exec = new Lazy(async () =>
    new (await lazyImport<typeof import("./exec.ts")>(import.meta.url, "./exec.ts")).ExecRunner(
      send,
    )
  );
  const pty = new Lazy(async () =>
    new (await lazyImport<typeof import("./pty.ts")>(import.meta.url, "./pty.ts")).PtySessions(
      send,
      buffered,
    )
  );
  const net = new Lazy(async () =>
    new (await lazyImport<typeof import("./network/net_ops.ts")>(
      import.meta.url,
      "./network/net_ops.ts",
    )).NetOps(send)
  );
  const dockerSocket = o.dockerSocket;
  const docker = dockerSocket === false
    ? undefined
    : new Lazy(async () =>
      new (await lazyImport<typeof import("./containers.ts")>(import.meta.url, "./containers.ts"))
        .ContainerOps(
        send,
        buffered,
        dockerSocket ?? DEFAULT_DOCKER_SOCKET,
      )
    );
  const handlers = o.actions;
  const actions = handlers &&
    new Lazy(async () =>
      new (await lazyImport<typeof import("./node_actions.ts")>(
        import.meta.url,
        "./node_actions.ts",
      )).NodeActionRunner(send, handlers, () => nodeId)
    );
  // Backups (the S3 client, chunker and crypto) load with the first backup or restore.
  const backups = new Lazy(async () =>
    new (await lazyImport<typeof import("./backup.ts")>(import.meta.url, "./backup.ts"))
      .BackupRunner(
      send,
      dockerSocket === false ? false : dockerSocket ?? DEFAULT_DOCKER_SOCKET,
    )
  );
  let closed = false;
  /** Runs `fn` on a part once loaded, unless the connection ended meanwhile. */
  const use = <T>(part: Lazy<T>, fn: (v: T) => unknown) => {
    part.get().then((v) => {
      if (!closed) fn(v);
    }).catch((error) => logger.error("control request failed", { error }));
  };

  const onAbort = () => ws.close(1000, "agent stopping");
  o.signal.addEventListener("abort", onAbort, { once: true });

  const reject = (message: string, ch?: number) => {
    malformed++;
    if (malformed <= 10 || malformed % 100 === 0) {
      logger.warn("bad control frame from the hub", { error: message, ch, count: malformed });
    }
    send({ type: "error", ...(ch ? { ch } : {}), message });
  };

  ws.onopen = () => {
    send({ type: "hello", version: o.version, capabilities, hostname: o.hostname });
  };
  // Frames waiting for the schemas to load; later frames queue behind them to keep their order.
  let queued = 0;
  let queue: Promise<void> = Promise.resolve();
  ws.onmessage = (e) => {
    if (queued === 0) {
      const quick = quickFrame(e.data);
      if (quick) return dispatch({ ok: true, msg: quick });
      if (frames) return dispatch(frames.parseFrame<HubMessage>(e.data, frames.HUB_FRAMES));
    }
    queued++;
    queue = queue.then(async () => {
      frames ??= await lazyImport<typeof import("../shared/control_frames.ts")>(
        import.meta.url,
        "../shared/control_frames.ts",
      );
      if (!closed) dispatch(frames.parseFrame<HubMessage>(e.data, frames.HUB_FRAMES));
    }).catch((error) => logger.error("control frame failed", { error }))
      .finally(() => queued--);
  };
  const dispatch = (parsed: FrameResult<HubMessage>) => {
    if (!parsed.ok) return reject(parsed.error, parsed.ch);
    const m = parsed.msg;
    switch (m.type) {
      case "welcome":
        welcomed = true;
        nodeId = m.node_id;
        pingMs = m.ping_ms;
        lastPing = Date.now();
        logger.info("control channel connected", { node_id: m.node_id, hub: o.hub });
        o.onState?.(true);
        watchdog = setInterval(() => {
          if (Date.now() - lastPing > 3 * pingMs + 2000) {
            logger.warn("hub stopped pinging; reconnecting", { silent_ms: Date.now() - lastPing });
            ws.close(4000, "no ping from the hub");
          }
        }, pingMs);
        return;
      case "ping":
        lastPing = Date.now();
        return send({ type: "pong", t: m.t });
      case "exec.start":
        return use(exec, (x) => x.start(m));
      case "exec.cancel":
        return exec.started && use(exec, (x) => x.cancel(m.ch));
      case "pty.open":
        return use(pty, (x) => x.open(m));
      case "pty.input":
        return use(pty, (x) => x.input(m.ch, m.data));
      case "pty.resize":
        return use(pty, (x) => x.resize(m));
      case "pty.flow":
        return pty.started && use(pty, (x) => x.flow(m.ch, m.paused));
      case "pty.close":
        return pty.started && use(pty, (x) => x.close(m.ch));
      case "docker":
        if (!docker) {
          const error = "this agent runs without Docker (--docker-socket off)";
          if (m.op === "logs") send({ type: "stream.end", ch: m.ch, code: "unavailable", error });
          else send({ type: "reply", ch: m.ch, ok: false, code: "unavailable", error });
          return;
        }
        return use(docker, (x) => x.handle(m));
      case "node.action":
        if (!actions) {
          return send({
            type: "reply",
            ch: m.ch,
            ok: false,
            code: "unavailable",
            error: "this agent offers no node actions (a simulated or embedded agent)",
          });
        }
        return use(actions, (x) => x.handle(m));
      case "stream.cancel":
        // Only a part that was used can hold the stream; a backup's first, then net, then docker.
        if (backups.started) use(backups, (x) => x.cancel(m.ch));
        if (net.started) {
          return use(net, (x) => {
            if (!x.cancel(m.ch) && docker?.started) use(docker, (d) => d.cancel(m.ch));
          });
        }
        return docker?.started && use(docker, (x) => x.cancel(m.ch));
      case "net":
        return use(net, (x) => x.handle(m));
      case "backup":
        return use(backups, (x) => x.handle(m));
      case "error":
        logger.warn("hub reported an error", { ch: m.ch, error: m.message });
        return;
    }
  };
  let status: number | undefined;
  ws.onerror = (e) => {
    const message = (e as ErrorEvent).message ?? "error";
    // A refused upgrade only shows as text ("… Invalid status code: 401"); the close has code 0.
    const m = /status code:? (\d{3})/i.exec(message);
    if (m) status = Number(m[1]);
    logger.debug("control socket error", { error: message });
  };
  ws.onclose = (e) => {
    clearInterval(watchdog);
    o.signal.removeEventListener("abort", onAbort);
    closed = true;
    exec.value?.abortAll();
    pty.value?.closeAll();
    net.value?.close();
    docker?.value?.close();
    backups.value?.abortAll();
    if (welcomed) o.onState?.(false);
    resolve({
      welcomed,
      code: e.code,
      reason: e.reason,
      lastedMs: Date.now() - started,
      status,
    });
  };
  return promise;
}

/**
 * Keeps the control channel up until `signal` aborts.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * await runControl({ hub, token, version: VERSION, signal: stop.signal });
 * ```
 */
export async function runControl(o: ControlOptions): Promise<void> {
  const min = o.minBackoffMs ?? 500;
  const max = o.maxBackoffMs ?? 30_000;
  let failures = 0;
  let lastLogged = "";
  while (!o.signal.aborted) {
    const ended = await connectOnce(o);
    if (o.signal.aborted) break;
    // A connection that held for a while resets the backoff; quick failures grow it.
    if (ended.welcomed && ended.lastedMs > 10_000) failures = 0;
    const delay = backoffDelay(failures, { baseMs: min, capMs: max, jitter: "equal" });
    failures = Math.min(failures + 1, 20);
    const refused = ended.status === 401 || ended.status === 403;
    const what = refused
      ? `control channel: the hub refused this agent's token (${ended.status})`
      : ended.welcomed
      ? "control channel lost"
      : "control channel unavailable";
    const line = `${what}:${ended.code}:${ended.status ?? ""}`;
    // Log each kind of failure once, not every retry.
    if (line !== lastLogged) {
      if (refused) {
        logger.warn(what, { status: ended.status, retry_in_ms: Math.round(delay) });
      } else {
        logger.warn(what, {
          code: ended.code,
          reason: ended.reason,
          status: ended.status,
          retry_in_ms: Math.round(delay),
        });
      }
      lastLogged = line;
    }
    if (ended.welcomed) lastLogged = "";
    await sleep(delay, o.signal);
  }
  logger.info("control channel stopped");
}
