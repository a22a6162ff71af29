/**
 * Parsing control-channel frames (agent ↔ hub) with errors a person can act on: the frame's
 * `type` picks its schema, so a bad field is named (`exec.start: timeout_s: expected number`)
 * instead of "no union member matched". Used by both ends; neither ever throws on a bad frame.
 *
 * @module
 */
import type { z } from "zod";
import {
  AgentHello,
  AgentMessage,
  AgentPong,
  BackupRequestMessage,
  ControlError,
  DockerRequestMessage,
  ExecCancelMessage,
  ExecExitMessage,
  ExecOutputMessage,
  ExecStartMessage,
  HubMessage,
  HubPing,
  HubWelcome,
  MAX_CONTROL_FRAME,
  NodeActionMessage,
  PtyCloseMessage,
  PtyExitMessage,
  PtyFlowMessage,
  PtyInputMessage,
  PtyOpenedMessage,
  PtyOpenMessage,
  PtyOutputMessage,
  PtyResizeMessage,
  ReplyMessage,
  StreamCancelMessage,
  StreamDataMessage,
  StreamEndMessage,
} from "./protocol/mod.ts";
import { NetRequestMessage } from "./protocol/network.ts";

/** The schema of every agent → hub frame, by `type`. */
export const AGENT_FRAMES: Record<AgentMessage["type"], z.ZodType> = {
  hello: AgentHello,
  pong: AgentPong,
  "exec.output": ExecOutputMessage,
  "exec.exit": ExecExitMessage,
  "pty.opened": PtyOpenedMessage,
  "pty.output": PtyOutputMessage,
  "pty.exit": PtyExitMessage,
  reply: ReplyMessage,
  "stream.data": StreamDataMessage,
  "stream.end": StreamEndMessage,
  error: ControlError,
};

/** The schema of every hub → agent frame, by `type`. */
export const HUB_FRAMES: Record<HubMessage["type"], z.ZodType> = {
  welcome: HubWelcome,
  ping: HubPing,
  "exec.start": ExecStartMessage,
  "exec.cancel": ExecCancelMessage,
  "pty.open": PtyOpenMessage,
  "pty.input": PtyInputMessage,
  "pty.resize": PtyResizeMessage,
  "node.action": NodeActionMessage,
  "pty.flow": PtyFlowMessage,
  "pty.close": PtyCloseMessage,
  docker: DockerRequestMessage,
  "stream.cancel": StreamCancelMessage,
  net: NetRequestMessage,
  error: ControlError,
  backup: BackupRequestMessage,
};

/** A parsed frame, or why it was refused (with its channel when it named one). */
export type FrameResult<T> = { ok: true; msg: T } | { ok: false; error: string; ch?: number };

/**
 * Parses one WebSocket message against `frames`.
 *
 * @example
 * ```ts
 * const r = parseFrame<HubMessage>(event.data, HUB_FRAMES);
 * if (!r.ok) send({ type: "error", ch: r.ch, message: r.error });
 * ```
 */
export function parseFrame<T>(data: unknown, frames: Record<string, z.ZodType>): FrameResult<T> {
  if (typeof data !== "string") {
    return { ok: false, error: "binary frames are not part of the protocol: send JSON text" };
  }
  if (data.length > MAX_CONTROL_FRAME) {
    return { ok: false, error: `frame too large (${data.length} > ${MAX_CONTROL_FRAME} bytes)` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return { ok: false, error: "frame is not JSON" };
  }
  const obj = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const ch = typeof obj.ch === "number" && Number.isInteger(obj.ch) && obj.ch > 0
    ? obj.ch
    : undefined;
  const type = obj.type;
  if (typeof type !== "string" || !Object.hasOwn(frames, type)) {
    return {
      ok: false,
      error: typeof type === "string"
        ? `unknown message type '${type.slice(0, 64)}'`
        : "a frame needs a string 'type'",
      ch,
    };
  }
  const parsed = frames[type].safeParse(raw);
  if (parsed.success) return { ok: true, msg: parsed.data as T };
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    error: `malformed '${type}': ${
      issue.path.map(String).join(".") || "(frame)"
    }: ${issue.message}`,
    ch,
  };
}
