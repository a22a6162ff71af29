/**
 * The agent's control channel: one outbound WebSocket to `GET /api/v1/agent/ws` (the node token
 * in `Authorization: Bearer`), so NAT between node and hub never matters. The agent says `hello`
 * (version, capabilities), the hub answers `welcome` and pings; the agent answers every ping
 * with a `pong` (the hub measures RTT from it) and treats three missed pings as a dead link.
 * Everything else is multiplexed on the socket by channel id: batch exec (`exec.ts`), terminals
 * (`pty.ts`) and container operations (`containers.ts`). A frame that is not JSON or not a known
 * message is logged and answered with an `error`; it never ends the connection.
 *
 * When the connection ends, the agent kills what ran on it (nobody can receive that output any
 * more; the hub marks those runs `interrupted`) and dials again with jittered exponential
 * backoff, bounded by `maxBackoffMs`, until stopped.
 *
 * @module
 */
import type { AgentMessage, ControlCapability, HubMessage } from "../shared/protocol/mod.ts";
import { HUB_FRAMES, parseFrame } from "../shared/control_frames.ts";
import { ExecRunner } from "./exec.ts";
import { PtySessions } from "./pty.ts";
import { ContainerOps } from "./containers.ts";
import { BackupRunner } from "./backup.ts";
import { DEFAULT_DOCKER_SOCKET } from "../shared/docker_api.ts";
import { backoffDelay, sleep } from "../shared/backoff.ts";
import { getLogger } from "../shared/log.ts";

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
  /** Called on every (dis)connection; for tests and the demo. */
  onState?: (connected: boolean) => void;
}

/** The control socket URL of a hub. */
export function controlUrl(hub: string): string {
  const u = new URL("/api/v1/agent/ws", hub.replace(/\/+$/, "") + "/");
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

/** How one connection ended. */
interface Ended {
  /** The hub accepted us (welcome received). */
  welcomed: boolean;
  code: number;
  reason: string;
  lastedMs: number;
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
  const capabilities: ControlCapability[] = ["exec", "pty", "backup"];
  if (o.dockerSocket !== false) capabilities.push("docker");

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
  const exec = new ExecRunner(send);
  const pty = new PtySessions(send, buffered);
  const docker = o.dockerSocket === false
    ? undefined
    : new ContainerOps(send, buffered, o.dockerSocket ?? DEFAULT_DOCKER_SOCKET);
  const backups = new BackupRunner(
    send,
    o.dockerSocket === false ? false : o.dockerSocket ?? DEFAULT_DOCKER_SOCKET,
  );

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
  ws.onmessage = (e) => {
    const parsed = parseFrame<HubMessage>(e.data, HUB_FRAMES);
    if (!parsed.ok) return reject(parsed.error, parsed.ch);
    const m = parsed.msg;
    switch (m.type) {
      case "welcome":
        welcomed = true;
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
        return exec.start(m);
      case "exec.cancel":
        return exec.cancel(m.ch);
      case "pty.open":
        return pty.open(m);
      case "pty.input":
        return pty.input(m.ch, m.data);
      case "pty.resize":
        return pty.resize(m);
      case "pty.flow":
        return pty.flow(m.ch, m.paused);
      case "pty.close":
        return pty.close(m.ch);
      case "docker":
        if (!docker) {
          const error = "this agent runs without Docker (--docker-socket off)";
          if (m.op === "logs") send({ type: "stream.end", ch: m.ch, code: "unavailable", error });
          else send({ type: "reply", ch: m.ch, ok: false, code: "unavailable", error });
          return;
        }
        docker.handle(m);
        return;
      case "stream.cancel":
        backups.cancel(m.ch);
        return docker?.cancel(m.ch);
      case "backup":
        return backups.handle(m);
      case "error":
        logger.warn("hub reported an error", { ch: m.ch, error: m.message });
        return;
    }
  };
  ws.onerror = (e) => {
    const message = (e as ErrorEvent).message ?? "error";
    logger.debug("control socket error", { error: message });
  };
  ws.onclose = (e) => {
    clearInterval(watchdog);
    o.signal.removeEventListener("abort", onAbort);
    exec.abortAll();
    pty.closeAll();
    docker?.close();
    backups.abortAll();
    if (welcomed) o.onState?.(false);
    resolve({ welcomed, code: e.code, reason: e.reason, lastedMs: Date.now() - started });
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
    const what = ended.welcomed ? "control channel lost" : "control channel unavailable";
    const line = `${what}:${ended.code}`;
    // Log each kind of failure once, not every retry.
    if (line !== lastLogged) {
      logger.warn(what, { code: ended.code, reason: ended.reason, retry_in_ms: Math.round(delay) });
      lastLogged = line;
    }
    if (ended.welcomed) lastLogged = "";
    await sleep(delay, o.signal);
  }
  logger.info("control channel stopped");
}
