/**
 * The agents' control WebSocket on the hub side: the first frame must be `hello` (within 5 s,
 * at most 8 refused frames before it); then the connection joins the registry
 * (`agent_sessions.ts`) and every later frame is validated against `AgentMessage` and routed by
 * channel. A frame that is not JSON, not a known message or too large is logged and answered
 * with an `error` frame; the connection stays up. A node token holds at most two sockets, and
 * every socket is tracked so revoking its token closes it at once.
 *
 * @module
 */
import type { WSContext, WSEvents } from "hono/ws";
import { AGENT_CLOSE, type AgentMessage, type HubMessage } from "../../shared/protocol/mod.ts";
import { AGENT_FRAMES, parseFrame } from "../../shared/control_frames.ts";
import type { NodePrincipal } from "../core/auth.ts";
import { HttpProblem } from "../core/errors.ts";
import type { LiveConnections } from "../core/connections.ts";
import type { AgentSession, AgentSessions, ControlSocket } from "./agent_sessions.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("agent-ws");

/** How long a new connection may take to say hello. */
const HELLO_TIMEOUT_MS = 5_000;

/**
 * Control sockets one node token may hold at once (the live one and a reconnect racing it).
 * The runtime buffers a whole WebSocket message before the frame limit can be checked, up to
 * its own cap (64 MiB in Deno 2.9, not configurable), so this bounds what one token can pin.
 */
export const MAX_SOCKETS_PER_TOKEN = 2;

/** Frames refused before `hello` after which the socket is closed. */
const MAX_FRAMES_BEFORE_HELLO = 8;

/** A Hono WebSocket as the registry's socket. */
export function controlSocket(ws: WSContext): ControlSocket {
  return {
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason),
    get bufferedAmount() {
      return (ws.raw as WebSocket | undefined)?.bufferedAmount ?? 0;
    },
  };
}

/** 426 for a plain HTTP request to a WebSocket route. */
export function requireUpgrade(upgrade: string | undefined, what: string): void {
  if (upgrade?.toLowerCase() !== "websocket") {
    throw new HttpProblem(
      426,
      "upgrade-required",
      "Upgrade required",
      `${what} is a WebSocket: connect with a WebSocket client (Upgrade: websocket)`,
    );
  }
}

/**
 * The WebSocket handlers of one agent's control connection.
 *
 * @throws {HttpProblem} 429 when the token already holds its share of sockets.
 */
export function agentSocket(
  agents: AgentSessions,
  connections: LiveConnections,
  principal: NodePrincipal,
): WSEvents {
  const nodeId = principal.node_id;
  // Each socket may buffer one large frame before it is parsed: a node token gets only a few.
  if (connections.countForToken(principal.token_id, "agent") >= MAX_SOCKETS_PER_TOKEN) {
    throw new HttpProblem(
      429,
      "too-many-sockets",
      "Too many control sockets",
      `node ${nodeId} already holds ${MAX_SOCKETS_PER_TOKEN} control sockets with this token: ` +
        "close one first",
    );
  }
  let session: AgentSession | undefined;
  let socket: WSContext | undefined;
  let helloTimer: ReturnType<typeof setTimeout> | undefined;
  let refused = 0;
  const untrack = connections.track("agent", principal, (reason) => {
    if (session) agents.detach(session, reason, AGENT_CLOSE.revoked);
    else socket?.close(AGENT_CLOSE.revoked, reason.slice(0, 120));
  });
  const reply = (ws: WSContext, msg: HubMessage) => {
    try {
      ws.send(JSON.stringify(msg));
    } catch { /* closing */ }
  };
  const refuse = (ws: WSContext, message: string, ch?: number) => {
    refused++;
    if (refused <= 10 || refused % 100 === 0) {
      logger.warn("bad control frame from an agent", {
        node_id: nodeId,
        error: message,
        count: refused,
      });
    }
    reply(ws, { type: "error", ...(ch ? { ch } : {}), message });
  };
  return {
    onOpen: (_e, ws) => {
      socket = ws;
      helloTimer = setTimeout(
        () => ws.close(AGENT_CLOSE.noHello, `no hello within ${HELLO_TIMEOUT_MS / 1000} s`),
        HELLO_TIMEOUT_MS,
      );
    },
    onMessage: (e, ws) => {
      const parsed = parseFrame<AgentMessage>(e.data, AGENT_FRAMES);
      if (!session) {
        if (!parsed.ok || parsed.msg.type !== "hello") {
          if (parsed.ok) refuse(ws, "the first frame must be 'hello'");
          else refuse(ws, parsed.error, parsed.ch);
          // A socket that never says hello holds buffers for nothing: a few tries, then out.
          if (refused >= MAX_FRAMES_BEFORE_HELLO) {
            clearTimeout(helloTimer);
            ws.close(AGENT_CLOSE.noHello, "too many frames before 'hello'");
          }
          return;
        }
        clearTimeout(helloTimer);
        session = agents.attach(nodeId, principal.token_id, controlSocket(ws), parsed.msg);
        return;
      }
      if (!parsed.ok) return refuse(ws, parsed.error, parsed.ch);
      const msg = parsed.msg;
      switch (msg.type) {
        case "hello":
          return refuse(ws, "'hello' was already received on this connection");
        case "pong":
          return agents.pong(session, msg.t);
        case "error":
          logger.warn("agent reported an error", {
            node_id: nodeId,
            ch: msg.ch,
            error: msg.message,
          });
          return session.deliver(msg);
        default:
          session.deliver(msg);
      }
    },
    onClose: (e) => {
      clearTimeout(helloTimer);
      untrack();
      if (session) agents.detach(session, `connection closed (${e.code})`);
    },
  };
}
