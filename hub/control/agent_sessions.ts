/**
 * The registry of connected agents: one {@link AgentSession} per node that holds its control
 * WebSocket. A session multiplexes operations by channel id (`ch`): a caller opens a channel with
 * a handler, sends frames carrying its `ch`, and receives the agent's frames for it until it
 * releases the channel or the connection ends (then every handler hears `lost`).
 *
 * The registry pings every agent each `pingMs`, keeps the last round trip time per node (shown
 * as `rtt_ms` in the fleet snapshot), drops agents that miss three pongs or whose token was
 * revoked, and announces connects, disconnects and notable RTT changes as `node.control` events.
 * It also keeps each agent's last {@link LINK_WINDOW} ping outcomes for link quality: a ping not
 * answered within the ping timeout (one ping interval) counts as lost, even if its pong comes later.
 *
 * @module
 */
import {
  AGENT_CLOSE,
  type AgentHello,
  type AgentMessage,
  type ControlCapability,
  type ControlErrorCode,
  type HubMessage,
  LINK_WINDOW,
} from "../../shared/protocol/mod.ts";
import type { EventBus } from "../core/bus.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("agents");

/** The socket under a session (Hono's WSContext on Deno, or a fake in unit tests). */
export interface ControlSocket {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  /** Bytes queued but not yet sent. */
  readonly bufferedAmount: number;
}

/** Agent frames that belong to a channel (an `error` only when it names one). */
export type ChannelMessage = Exclude<AgentMessage, { type: "hello" } | { type: "pong" }>;

/** Receives one channel's frames. */
export interface ChannelHandler {
  message(msg: ChannelMessage): void;
  /** The connection ended; the channel is gone. */
  lost(reason: string): void;
}

/** A one-shot request failed on the agent (or it did not answer). */
export class ControlRequestError extends Error {
  readonly code: ControlErrorCode | "timeout" | "lost";

  constructor(code: ControlRequestError["code"], message: string) {
    super(message);
    this.name = "ControlRequestError";
    this.code = code;
  }
}

/** A connected agent. */
export class AgentSession {
  readonly nodeId: string;
  readonly tokenId: string;
  readonly version: string;
  readonly capabilities: ReadonlySet<ControlCapability>;
  readonly connectedAt: number = Date.now();
  /** Last measured round trip (ms), or null before the first pong. */
  rttMs: number | null = null;
  lastPong: number = Date.now();
  /** Pings sent and not yet answered or expired, by their `t`. */
  readonly pendingPings: Set<number> = new Set();
  /** The last pings' outcomes: round trip in ms, or -1 for lost. */
  readonly pingOutcomes: number[] = [];
  #socket: ControlSocket;
  #channels = new Map<number, ChannelHandler>();
  #nextCh = 1;
  #ended = false;

  constructor(nodeId: string, tokenId: string, socket: ControlSocket, hello: AgentHello) {
    this.nodeId = nodeId;
    this.tokenId = tokenId;
    this.#socket = socket;
    this.version = hello.version;
    this.capabilities = new Set(hello.capabilities);
  }

  /** Whether the agent said it can do `cap`. */
  can(cap: ControlCapability): boolean {
    return this.capabilities.has(cap);
  }

  /** Open channels. */
  get channels(): number {
    return this.#channels.size;
  }

  /** Unsent bytes on the socket. */
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  /** Whether the connection has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Sends a frame; false when the connection is gone. */
  send(msg: HubMessage): boolean {
    if (this.#ended) return false;
    try {
      this.#socket.send(JSON.stringify(msg));
      return true;
    } catch {
      return false;
    }
  }

  /** Opens a channel for `handler`; returns its id. */
  open(handler: ChannelHandler): number {
    const ch = this.#nextCh++;
    if (this.#nextCh > 2 ** 31) this.#nextCh = 1;
    this.#channels.set(ch, handler);
    return ch;
  }

  /** Forgets a channel (later frames for it are answered as unknown). */
  release(ch: number): void {
    this.#channels.delete(ch);
  }

  /**
   * Sends a one-shot request on a fresh channel and resolves with the agent's `reply` data.
   *
   * @throws {ControlRequestError} with the agent's code, `timeout` or `lost`.
   */
  request(build: (ch: number) => HubMessage, timeoutMs: number): Promise<unknown> {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const ch = this.open({
      message: (m) => {
        if (m.type !== "reply") return;
        done();
        if (m.ok) resolve(m.data);
        else reject(new ControlRequestError(m.code, m.error));
      },
      lost: (reason) => {
        done();
        reject(new ControlRequestError("lost", reason));
      },
    });
    const timer = setTimeout(() => {
      done();
      reject(new ControlRequestError("timeout", `no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      this.release(ch);
    };
    if (!this.send(build(ch))) {
      done();
      reject(new ControlRequestError("lost", "the connection to the agent is gone"));
    }
    return promise;
  }

  /** Routes a channel frame from the agent to its handler. */
  deliver(msg: ChannelMessage): void {
    if (msg.ch === undefined) return;
    const handler = this.#channels.get(msg.ch);
    if (handler) {
      handler.message(msg);
      return;
    }
    // Late frames of a channel the hub already dropped: tell the agent to stop that work.
    if (msg.type === "pty.output" || msg.type === "pty.opened") {
      this.send({ type: "pty.close", ch: msg.ch, reason: "no such terminal on the hub" });
    } else if (msg.type === "exec.output") {
      this.send({ type: "exec.cancel", ch: msg.ch });
    } else if (msg.type === "stream.data") {
      this.send({ type: "stream.cancel", ch: msg.ch });
    }
  }

  /** Ends the session: closes the socket and tells every channel. */
  end(reason: string, code = 1000): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      this.#socket.close(code, reason.slice(0, 120));
    } catch { /* already closed */ }
    const handlers = [...this.#channels.values()];
    this.#channels.clear();
    for (const h of handlers) {
      try {
        h.lost(reason);
      } catch (error) {
        logger.error("channel handler failed on loss", { node_id: this.nodeId, error });
      }
    }
  }
}

/** Options of {@link AgentSessions}. */
export interface AgentSessionsOptions {
  pingMs: number;
  /** Whether a token is still valid (not revoked, not expired); checked every ping round. */
  tokenValid: (tokenId: string) => boolean;
}

/** Connected agents by node id. */
export class AgentSessions {
  #sessions = new Map<string, AgentSession>();
  #bus: EventBus;
  #options: AgentSessionsOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #published = new Map<string, { rtt: number | null; at: number }>();
  #closing = false;

  constructor(bus: EventBus, options: AgentSessionsOptions) {
    this.#bus = bus;
    this.#options = options;
  }

  /** Ping interval. */
  get pingMs(): number {
    return this.#options.pingMs;
  }

  /** Number of connected agents. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Starts the ping round. */
  start(): void {
    this.#timer = setInterval(() => this.#pingRound(), this.#options.pingMs);
  }

  /** Stops pinging and closes every agent connection (hub shutdown). */
  stop(): void {
    this.#closing = true;
    clearInterval(this.#timer);
    for (const s of [...this.#sessions.values()]) this.detach(s, "hub stopping", 1001);
  }

  /** The session of a node, if its agent is connected. */
  get(nodeId: string): AgentSession | undefined {
    return this.#sessions.get(nodeId);
  }

  /** After how long an unanswered ping counts as lost (one ping interval). */
  get pingTimeoutMs(): number {
    return this.#options.pingMs;
  }

  /** Link quality of a node's control channel over its last pings. */
  link(nodeId: string): {
    connected: boolean;
    rtt_ms: number | null;
    rtt_avg_ms: number | null;
    loss_pct: number | null;
    pings: number;
  } {
    const s = this.#sessions.get(nodeId);
    if (!s) return { connected: false, rtt_ms: null, rtt_avg_ms: null, loss_pct: null, pings: 0 };
    const answered = s.pingOutcomes.filter((r) => r >= 0);
    const n = s.pingOutcomes.length;
    return {
      connected: true,
      rtt_ms: s.rttMs,
      rtt_avg_ms: answered.length
        ? Math.round(answered.reduce((a, b) => a + b, 0) / answered.length * 100) / 100
        : null,
      loss_pct: n ? Math.round((n - answered.length) / n * 10000) / 100 : null,
      pings: n,
    };
  }

  /** What the fleet snapshot shows about a node's control channel. */
  info(
    nodeId: string,
  ): { control: boolean; rtt_ms: number | null; capabilities: ControlCapability[] } {
    const s = this.#sessions.get(nodeId);
    return {
      control: s !== undefined,
      rtt_ms: s?.rttMs ?? null,
      capabilities: s ? [...s.capabilities] : [],
    };
  }

  /**
   * Registers a node's new connection (after its `hello`); a previous connection of the same
   * node is closed. Returns undefined when the hub is shutting down.
   */
  attach(
    nodeId: string,
    tokenId: string,
    socket: ControlSocket,
    hello: AgentHello,
  ): AgentSession | undefined {
    if (this.#closing) {
      socket.close(1001, "hub stopping");
      return undefined;
    }
    const old = this.#sessions.get(nodeId);
    if (old && old.tokenId !== tokenId) {
      // Only the same credential may take over a live connection: a second token for the node
      // (an impostor, or a rotation racing the old socket) waits until the old one is gone.
      logger.warn("control connection refused: the node is connected with another token", {
        node_id: nodeId,
        token_id: tokenId,
        live_token_id: old.tokenId,
      });
      socket.close(
        AGENT_CLOSE.taken,
        `${nodeId} is already connected with another token; revoke it to switch`,
      );
      return undefined;
    }
    if (old) {
      this.#sessions.delete(nodeId);
      old.end("replaced by a newer connection of the same node", AGENT_CLOSE.replaced);
    }
    const session = new AgentSession(nodeId, tokenId, socket, hello);
    this.#sessions.set(nodeId, session);
    session.send({ type: "welcome", node_id: nodeId, ping_ms: this.#options.pingMs });
    this.#ping(session);
    logger.info("agent connected", {
      node_id: nodeId,
      version: hello.version,
      capabilities: hello.capabilities,
    });
    this.#announce(nodeId, true, null, hello.capabilities);
    return session;
  }

  /** Ends a session (if it is still the node's current one, the node shows as disconnected). */
  detach(session: AgentSession, reason: string, code = 1000): void {
    session.end(reason, code);
    if (this.#sessions.get(session.nodeId) !== session) return;
    this.#sessions.delete(session.nodeId);
    logger.info("agent disconnected", { node_id: session.nodeId, reason });
    this.#announce(session.nodeId, false, null, []);
  }

  /** Records a pong: the RTT of the ping it answers. */
  pong(session: AgentSession, t: number): void {
    const now = performance.now();
    if (!(t <= now) || now - t > 10 * this.#options.pingMs) return; // not one of our pings
    session.lastPong = Date.now();
    session.rttMs = Math.round((now - t) * 100) / 100;
    // A pong of a ping already expired was counted lost then; one past the timeout is lost too.
    if (session.pendingPings.delete(t)) {
      this.#outcome(session, now - t <= this.pingTimeoutMs ? session.rttMs : -1);
    }
    const last = this.#published.get(session.nodeId);
    const rtt = session.rttMs;
    const prev = last?.rtt ?? null;
    // Notable: the first measurement, or ≥ 25 % and ≥ 1 ms off the last one announced (at most
    // one RTT-only event per node per 10 s, so jitter cannot flood the stream).
    const notable = prev === null ||
      (Math.abs(rtt - prev) >= Math.max(1, prev * 0.25) && Date.now() - (last?.at ?? 0) >= 10_000);
    if (notable && this.#sessions.get(session.nodeId) === session) {
      this.#announce(session.nodeId, true, rtt);
    }
  }

  #outcome(session: AgentSession, rtt: number): void {
    session.pingOutcomes.push(rtt);
    if (session.pingOutcomes.length > LINK_WINDOW) session.pingOutcomes.shift();
  }

  #ping(session: AgentSession): void {
    const now = performance.now();
    for (const t of session.pendingPings) {
      if (now - t < this.pingTimeoutMs) continue;
      session.pendingPings.delete(t);
      this.#outcome(session, -1);
    }
    // `t` doubles as the ping's id: two pings in the same microsecond would share one.
    if (session.send({ type: "ping", t: now })) session.pendingPings.add(now);
  }

  #announce(
    nodeId: string,
    connected: boolean,
    rtt: number | null,
    capabilities?: readonly ControlCapability[],
  ): void {
    this.#published.set(nodeId, { rtt, at: Date.now() });
    this.#bus.publish({
      type: "node.control",
      node_id: nodeId,
      connected,
      rtt_ms: rtt,
      ...(capabilities ? { capabilities: [...capabilities] } : {}),
    });
  }

  #pingRound(): void {
    const now = Date.now();
    for (const s of [...this.#sessions.values()]) {
      if (now - s.lastPong > 3 * this.#options.pingMs + 1000) {
        this.detach(s, "no pong for three pings", AGENT_CLOSE.noPong);
        continue;
      }
      if (!this.#options.tokenValid(s.tokenId)) {
        this.detach(s, "the node's token was revoked or expired", AGENT_CLOSE.revoked);
        continue;
      }
      this.#ping(s);
    }
  }
}
