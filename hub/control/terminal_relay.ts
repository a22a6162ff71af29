/**
 * The web terminal on the hub: relays one browser WebSocket to one PTY on a node, over that
 * node's control channel. Browser frames (`{type:"input",data}`, `{type:"resize",cols,rows}`)
 * become `pty.input` / `pty.resize`; the agent's `pty.output` goes to the browser as
 * `{type:"output",data}` and its `pty.exit` as `{type:"exit",code,reason}` before the socket is
 * closed. A malformed browser frame is answered with `{type:"error",message}` and ignored.
 *
 * A session ends cleanly from either side: the browser closing kills the shell's session on the
 * node; the shell exiting closes the browser socket with the reason. It also ends after
 * `idleMs` without input or output (close code 4001), when the node's connection drops (4002)
 * and when the browser stops reading (more than {@link BROWSER_LIMIT} bytes unsent: 4003). A
 * browser that reads slowly first pauses the PTY (`pty.flow`), so memory stays bounded. Opening
 * and closing are written to the audit log; keystrokes never are.
 *
 * @module
 */
import {
  TERMINAL_CLOSE,
  TerminalClientMessage,
  type TerminalServerMessage,
} from "../../shared/protocol/mod.ts";
import type { AgentSessions, ChannelMessage } from "./agent_sessions.ts";
import type { ControlSocket } from "./agent_sessions.ts";
import type { Principal } from "../core/auth.ts";
import type { LiveConnections } from "../core/connections.ts";
import type { Database } from "../core/db.ts";
import { recordAudit } from "../core/store.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("terminal");

/** Unsent bytes to a browser above which its PTY is paused. */
const PAUSE_AT = 256 * 1024;
/** …and below which it resumes. */
const RESUME_AT = 64 * 1024;
/** Unsent bytes after which the browser is considered gone. */
export const BROWSER_LIMIT = 8 * 1024 * 1024;
/** Most terminals open at once per node through this hub. */
export const MAX_TERMINALS_PER_NODE = 16;

/** Options of {@link TerminalRelay}. */
export interface TerminalRelayOptions {
  idleMs: number;
  rateBps: number;
  /** Where sessions register, so revoking their token (or logging out) closes them. */
  connections: LiveConnections;
}

/** What a browser asked for. */
export interface TerminalRequest {
  nodeId: string;
  principal: Principal;
  cols: number;
  rows: number;
  socket: ControlSocket;
}

/** The browser side of one session, as the WebSocket route drives it. */
export interface TerminalSession {
  /** A frame from the browser. */
  fromBrowser(data: unknown): void;
  /** The browser's socket closed. */
  browserClosed(code: number): void;
}

function reasonText(reason: string): string {
  // A close reason is at most 123 bytes of UTF-8.
  let r = reason;
  while (new TextEncoder().encode(r).length > 123) r = r.slice(0, -1);
  return r;
}

/** Open terminal sessions. */
export class TerminalRelay {
  #db: Database;
  #agents: AgentSessions;
  #options: TerminalRelayOptions;
  #open = new Map<string, Set<() => void>>();
  #nextId = 1;

  constructor(db: Database, agents: AgentSessions, options: TerminalRelayOptions) {
    this.#db = db;
    this.#agents = agents;
    this.#options = options;
  }

  /** Open sessions, all nodes. */
  get size(): number {
    let n = 0;
    for (const s of this.#open.values()) n += s.size;
    return n;
  }

  /** Closes every session (hub shutdown). */
  closeAll(): void {
    for (const set of this.#open.values()) for (const close of [...set]) close();
  }

  /** Starts a session for a browser whose socket just opened. */
  open(req: TerminalRequest): TerminalSession {
    const { nodeId, principal, socket } = req;
    const id = `t${Date.now().toString(36)}-${this.#nextId++}`;
    const started = Date.now();
    let ended = false;
    let opened = false;
    let paused = false;
    let lastActivity = Date.now();
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let flowTimer: ReturnType<typeof setInterval> | undefined;
    let untrack = () => {};
    const toBrowser = (m: TerminalServerMessage) => {
      try {
        socket.send(JSON.stringify(m));
      } catch { /* closed */ }
    };
    const audit = (action: string, result: "ok" | "error", detail: Record<string, unknown>) =>
      recordAudit(this.#db, {
        actor: principal,
        action,
        target: nodeId,
        result,
        detail: { session: id, ...detail },
      });

    const session = this.#agents.get(nodeId);
    const refuse = (code: number, message: string) => {
      ended = true;
      logger.info("terminal refused", { node_id: nodeId, by: principal.name, reason: message });
      toBrowser({ type: "error", message });
      socket.close(code, reasonText(message));
      audit("terminal.open", "error", { error: message });
      return { fromBrowser() {}, browserClosed() {} };
    };
    if (!session) {
      return refuse(
        TERMINAL_CLOSE.notConnected,
        `node ${nodeId} is not connected to the hub's control channel`,
      );
    }
    if (!session.can("pty")) {
      return refuse(TERMINAL_CLOSE.failed, `the agent on ${nodeId} does not offer terminals`);
    }
    const set = this.#open.get(nodeId) ?? new Set();
    if (set.size >= MAX_TERMINALS_PER_NODE) {
      return refuse(
        TERMINAL_CLOSE.tooMany,
        `${nodeId} already has ${MAX_TERMINALS_PER_NODE} open terminals`,
      );
    }

    const finish = (
      code: number,
      reason: string,
      exit: { code: number | null } | null,
      tellAgent: boolean,
    ) => {
      if (ended) return;
      ended = true;
      clearTimeout(idleTimer);
      clearInterval(flowTimer);
      untrack();
      set.delete(closeFromHub);
      if (set.size === 0) this.#open.delete(nodeId);
      if (tellAgent) session.send({ type: "pty.close", ch, reason });
      session.release(ch);
      if (exit) toBrowser({ type: "exit", code: exit.code, reason });
      try {
        socket.close(code, reasonText(reason));
      } catch { /* already closed */ }
      const duration_s = Math.round((Date.now() - started) / 100) / 10;
      logger.info("terminal closed", { node_id: nodeId, session: id, reason, duration_s });
      if (opened) audit("terminal.close", "ok", { reason, duration_s });
      else audit("terminal.open", "error", { error: reason });
    };
    const closeFromHub = () => finish(1001, "the hub is stopping", { code: null }, true);

    const armIdle = () => {
      idleTimer = setTimeout(() => {
        const idleFor = Date.now() - lastActivity;
        if (idleFor < this.#options.idleMs) return armIdle();
        finish(
          TERMINAL_CLOSE.idle,
          `idle for ${Math.round(idleFor / 1000)} s`,
          { code: null },
          true,
        );
      }, Math.max(50, lastActivity + this.#options.idleMs - Date.now()));
    };

    const watchBrowser = () => {
      const buffered = socket.bufferedAmount;
      if (buffered > BROWSER_LIMIT) {
        finish(TERMINAL_CLOSE.tooSlow, "the browser stopped reading", null, true);
        return;
      }
      if (!paused && buffered > PAUSE_AT) {
        paused = true;
        session.send({ type: "pty.flow", ch, paused: true });
        flowTimer = setInterval(() => {
          if (ended) return clearInterval(flowTimer);
          if (socket.bufferedAmount < RESUME_AT) {
            paused = false;
            clearInterval(flowTimer);
            session.send({ type: "pty.flow", ch, paused: false });
          }
        }, 25);
      }
    };

    const ch = session.open({
      message: (m: ChannelMessage) => {
        if (ended) return;
        if (m.type === "pty.opened") {
          opened = true;
          lastActivity = Date.now();
          logger.info("terminal opened", {
            node_id: nodeId,
            session: id,
            by: principal.name,
            pid: m.pid,
          });
          audit("terminal.open", "ok", { pid: m.pid, cols: req.cols, rows: req.rows });
          toBrowser({ type: "ready", session: id, node_id: nodeId, shell: m.shell });
        } else if (m.type === "pty.output") {
          lastActivity = Date.now();
          toBrowser({ type: "output", data: m.data });
          watchBrowser();
        } else if (m.type === "pty.exit") {
          finish(1000, m.reason, { code: m.code }, false);
        } else if (m.type === "error") {
          logger.warn("agent refused a terminal frame", { node_id: nodeId, error: m.message });
        }
      },
      lost: (reason) =>
        finish(
          TERMINAL_CLOSE.nodeLost,
          `the connection to ${nodeId} was lost (${reason})`,
          { code: null },
          false,
        ),
    });
    set.add(closeFromHub);
    this.#open.set(nodeId, set);
    untrack = this.#options.connections.track(
      "terminal",
      principal,
      (reason) => finish(TERMINAL_CLOSE.revoked, reason, { code: null }, true),
    );
    session.send({
      type: "pty.open",
      ch,
      cols: req.cols,
      rows: req.rows,
      rate_bps: this.#options.rateBps,
    });
    armIdle();

    return {
      fromBrowser: (data: unknown) => {
        if (ended) return;
        if (typeof data !== "string") {
          return toBrowser({ type: "error", message: "send JSON text frames, not binary" });
        }
        let raw: unknown;
        try {
          raw = JSON.parse(data);
        } catch {
          return toBrowser({ type: "error", message: "frame is not JSON" });
        }
        const parsed = TerminalClientMessage.safeParse(raw);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          return toBrowser({
            type: "error",
            message: `unknown or malformed frame: ${issue.path.join(".") || "(frame)"}: ` +
              `${issue.message} (send {"type":"input","data":…} or ` +
              `{"type":"resize","cols":…,"rows":…})`,
          });
        }
        lastActivity = Date.now();
        const m = parsed.data;
        if (m.type === "input") session.send({ type: "pty.input", ch, data: m.data });
        else session.send({ type: "pty.resize", ch, cols: m.cols, rows: m.rows });
      },
      browserClosed: (code: number) =>
        finish(1000, `the browser closed the terminal (${code})`, null, true),
    };
  }
}
