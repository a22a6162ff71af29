/**
 * The control channel: agent socket frames, batch exec, the web terminal, containers and the audit log.
 *
 * @module
 */
import { z } from "zod";
import { NodeId } from "./common.ts";
import { MAX_CONTROL_FRAME } from "./constants.ts";
import {
  CONTROL_CAPABILITIES,
  CONTROL_ERROR_CODES,
  EXEC_NODE_STATES,
  EXEC_RUN_STATES,
  OUTPUT_STREAMS,
} from "./enums.ts";
import { boundedJson, MAX_JSON_DEPTH } from "./jobs.ts";
import { TokenKind } from "./tokens.ts";
import { NetRequestMessage } from "./network.ts";
import { NodeActionMessage } from "./node_actions.ts";
import { BackupRequestMessage } from "./backups.ts";

/** The agent's control WebSocket connected or dropped, or its round trip time changed notably. */
export const NodeControlEvent = z.object({
  type: z.literal("node.control"),
  node_id: NodeId,
  connected: z.boolean(),
  rtt_ms: z.number().nonnegative().nullable(),
  /** What the agent offers on its control channel; sent when it connects or drops (empty). */
  capabilities: z.array(z.enum(CONTROL_CAPABILITIES)).max(16).optional(),
});

/** Where one node of a batch exec is. `exited` carries the exit code (0 or not). */
export const ExecNodeState = z.enum(EXEC_NODE_STATES);
export type ExecNodeState = z.infer<typeof ExecNodeState>;

/** Which pipe a piece of output came from. */
export const OutputStream = z.enum(OUTPUT_STREAMS);
export type OutputStream = z.infer<typeof OutputStream>;

/** A batch exec was accepted; `nodes` are every target (offline ones get `exec.exit` at once). */
export const ExecStartedEvent = z.object({
  type: z.literal("exec.started"),
  exec_id: z.string(),
  command: z.string(),
  nodes: z.array(NodeId),
  by: z.string(),
});
/** A piece of one node's output (live; stored with the node's result when it ends). */
export const ExecOutputEvent = z.object({
  type: z.literal("exec.output"),
  exec_id: z.string(),
  node_id: NodeId,
  stream: OutputStream,
  data: z.string(),
});
/** One node finished (or was found offline, or lost): its final state and exit code. */
export const ExecExitEvent = z.object({
  type: z.literal("exec.exit"),
  exec_id: z.string(),
  node_id: NodeId,
  state: ExecNodeState,
  exit_code: z.number().int().nullable(),
  truncated: z.boolean(),
  error: z.string().nullable(),
});
/** Every node of a batch exec has finished. */
export const ExecFinishedEvent = z.object({
  type: z.literal("exec.finished"),
  exec_id: z.string(),
  state: z.enum(["done", "cancelled", "interrupted"]),
});

// exec, the web terminal, container operations and the audit log.
//
// Agent ↔ hub frames are JSON text, one message each, discriminated by `type`. Everything that
// belongs to one operation (an exec on this node, a terminal, a container request or a log
// follow) carries the same channel id `ch`, chosen by the hub; many channels share the socket.
// A frame that is not valid JSON or fails its schema is logged and answered with an `error`
// message; the connection stays up.

/** Largest control frame either side accepts (bytes of JSON text). */
export { MAX_CONTROL_FRAME };

/** What an agent can do over its control channel (sent in `hello`). */
export const ControlCapability = z.enum(CONTROL_CAPABILITIES);
export type ControlCapability = z.infer<typeof ControlCapability>;

/** A channel id: one operation on the multiplexed control socket. */
export const ChannelId = z.number().int().positive().max(2 ** 31);

/** Terminal size in character cells. */
const Cols = z.number().int().min(2).max(1000);
const Rows = z.number().int().min(1).max(1000);

/** A container name or id as the Engine API accepts it. */
export const ContainerRef = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/,
  "container: a name or id (letters, digits, '_', '.', '-')",
);

/** Why a control request failed, so the hub can pick its HTTP status. */
export const ControlErrorCode = z.enum(CONTROL_ERROR_CODES);
export type ControlErrorCode = z.infer<typeof ControlErrorCode>;

/** An error about a frame or a channel (either direction); `ch` when it concerns one. */
export const ControlError = z.object({
  type: z.literal("error"),
  ch: ChannelId.optional(),
  message: z.string().max(4096),
});

// Agent → hub

/** First frame of a connection: who the agent is and what it can do. */
export const AgentHello = z.object({
  type: z.literal("hello"),
  version: z.string().max(64),
  capabilities: z.array(ControlCapability).max(16),
  hostname: z.string().max(256).optional(),
});
export type AgentHello = z.infer<typeof AgentHello>;
/** Answer to a hub `ping`, echoing its `t`. */
export const AgentPong = z.object({ type: z.literal("pong"), t: z.number() });
/** A piece of an exec's output (UTF-8 text). */
export const ExecOutputMessage = z.object({
  type: z.literal("exec.output"),
  ch: ChannelId,
  stream: OutputStream,
  data: z.string().max(MAX_CONTROL_FRAME),
});
/** An exec ended (or could not start: `error`). */
export const ExecExitMessage = z.object({
  type: z.literal("exec.exit"),
  ch: ChannelId,
  exit_code: z.number().int().nullable(),
  timed_out: z.boolean(),
  cancelled: z.boolean(),
  /** Output passed the cap: the rest was not sent (`tail` holds its last bytes). */
  truncated: z.boolean(),
  output_bytes: z.number().int().nonnegative(),
  tail: z.string().max(65_536).optional(),
  error: z.string().max(4096).optional(),
});
export type ExecExitMessage = z.infer<typeof ExecExitMessage>;
/** The terminal's shell runs (`pid` of the shell). */
export const PtyOpenedMessage = z.object({
  type: z.literal("pty.opened"),
  ch: ChannelId,
  pid: z.number().int().positive(),
  shell: z.string().max(256),
});
/** Terminal output (UTF-8 text as the PTY produced it, escape sequences included). */
export const PtyOutputMessage = z.object({
  type: z.literal("pty.output"),
  ch: ChannelId,
  data: z.string().max(MAX_CONTROL_FRAME),
});
/** The terminal ended: the shell exited (`code`), was closed, or never started (`reason`). */
export const PtyExitMessage = z.object({
  type: z.literal("pty.exit"),
  ch: ChannelId,
  code: z.number().int().nullable(),
  reason: z.string().max(1024),
});
/** The answer to a one-shot request (`docker` list/restart/stop/remove). */
export const ReplyMessage = z.discriminatedUnion("ok", [
  z.object({
    type: z.literal("reply"),
    ch: ChannelId,
    ok: z.literal(true),
    // The frame size bounds the values; the depth is bounded for whoever reads it next.
    data: boundedJson(MAX_JSON_DEPTH, Number.MAX_SAFE_INTEGER),
  }),
  z.object({
    type: z.literal("reply"),
    ch: ChannelId,
    ok: z.literal(false),
    code: ControlErrorCode,
    error: z.string().max(4096),
  }),
]);
/** A piece of a streamed answer (container logs). */
export const StreamDataMessage = z.object({
  type: z.literal("stream.data"),
  ch: ChannelId,
  data: z.string().max(MAX_CONTROL_FRAME),
});
/** A streamed answer ended; `error` (with `code`) when it failed. */
export const StreamEndMessage = z.object({
  type: z.literal("stream.end"),
  ch: ChannelId,
  code: ControlErrorCode.optional(),
  error: z.string().max(4096).optional(),
});

/** Every frame an agent sends. */
export const AgentMessage = z.union([
  AgentHello,
  AgentPong,
  ExecOutputMessage,
  ExecExitMessage,
  PtyOpenedMessage,
  PtyOutputMessage,
  PtyExitMessage,
  ReplyMessage,
  StreamDataMessage,
  StreamEndMessage,
  ControlError,
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

// Hub → agent

/** Answer to `hello`: the node the token belongs to and how often the hub pings. */
export const HubWelcome = z.object({
  type: z.literal("welcome"),
  node_id: NodeId,
  ping_ms: z.number().int().positive(),
});
/** Liveness and RTT probe; the agent answers `pong` with the same `t`. */
export const HubPing = z.object({ type: z.literal("ping"), t: z.number() });
/** Run `command` with `/bin/sh -c` in its own process group. */
export const ExecStartMessage = z.object({
  type: z.literal("exec.start"),
  ch: ChannelId,
  command: z.string().min(1).max(16_384),
  timeout_s: z.number().int().min(1).max(86_400),
  /** Most output bytes to send; the process keeps running past it, its output is dropped. */
  output_cap_b: z.number().int().min(1024).max(64 * 1_048_576),
});
export type ExecStartMessage = z.infer<typeof ExecStartMessage>;
/** Kill an exec's process group. */
export const ExecCancelMessage = z.object({ type: z.literal("exec.cancel"), ch: ChannelId });
/** Open a terminal: a login shell on a PTY. */
export const PtyOpenMessage = z.object({
  type: z.literal("pty.open"),
  ch: ChannelId,
  cols: Cols,
  rows: Rows,
  /** Output rate limit of this terminal, bytes per second. */
  rate_bps: z.number().int().min(1024).max(1_073_741_824),
});
export type PtyOpenMessage = z.infer<typeof PtyOpenMessage>;
/** Keystrokes (or pasted text) for a terminal. */
export const PtyInputMessage = z.object({
  type: z.literal("pty.input"),
  ch: ChannelId,
  data: z.string().max(65_536),
});
/** New terminal size. */
export const PtyResizeMessage = z.object({
  type: z.literal("pty.resize"),
  ch: ChannelId,
  cols: Cols,
  rows: Rows,
});
export type PtyResizeMessage = z.infer<typeof PtyResizeMessage>;
/** Pause or resume reading a terminal's output (the browser behind it is slow). */
export const PtyFlowMessage = z.object({
  type: z.literal("pty.flow"),
  ch: ChannelId,
  paused: z.boolean(),
});
/** End a terminal: its shell's whole session is killed. */
export const PtyCloseMessage = z.object({
  type: z.literal("pty.close"),
  ch: ChannelId,
  reason: z.string().max(256).optional(),
});
/** Container operations on the node's Docker engine. `logs` answers as a stream. */
export const DockerRequestMessage = z.discriminatedUnion("op", [
  z.object({ type: z.literal("docker"), ch: ChannelId, op: z.literal("list") }),
  z.object({
    type: z.literal("docker"),
    ch: ChannelId,
    op: z.enum(["restart", "stop", "remove"]),
    container: ContainerRef,
    /** `remove` only: remove a running container too. */
    force: z.boolean().optional(),
  }),
  z.object({
    type: z.literal("docker"),
    ch: ChannelId,
    op: z.literal("logs"),
    container: ContainerRef,
    tail: z.number().int().min(0).max(100_000),
    follow: z.boolean(),
  }),
]);
export type DockerRequestMessage = z.infer<typeof DockerRequestMessage>;
/** Stop a streamed answer (the HTTP client went away). */
export const StreamCancelMessage = z.object({ type: z.literal("stream.cancel"), ch: ChannelId });

/** Every frame the hub sends. */
export const HubMessage = z.union([
  HubWelcome,
  HubPing,
  ExecStartMessage,
  ExecCancelMessage,
  PtyOpenMessage,
  PtyInputMessage,
  PtyResizeMessage,
  PtyFlowMessage,
  PtyCloseMessage,
  DockerRequestMessage,
  StreamCancelMessage,
  NetRequestMessage,
  ControlError,
  NodeActionMessage,
  BackupRequestMessage,
]);
export type HubMessage = z.infer<typeof HubMessage>;

// Batch exec over HTTP

/** `POST /api/v1/exec` body: a command for some nodes or for a cluster. */
export const ExecRequest = z.strictObject({
  nodes: z.array(NodeId).min(1).max(1000).optional(),
  cluster: NodeId.optional(),
  command: z.string().max(16_384).refine((c) => c.trim().length > 0, "command is empty"),
  timeout_s: z.number().int().min(1).max(86_400).default(60),
}).superRefine((r, ctx) => {
  if ((r.nodes === undefined) === (r.cluster === undefined)) {
    ctx.addIssue({ code: "custom", path: ["nodes"], message: "give either nodes or cluster" });
  }
});
export type ExecRequest = z.input<typeof ExecRequest>;

/** A piece of stored output. */
export const OutputChunk = z.object({ stream: OutputStream, data: z.string() });

/** One node's part of a batch exec. */
export const ExecNodeResult = z.object({
  node_id: NodeId,
  state: ExecNodeState,
  exit_code: z.number().int().nullable(),
  /** Output in arrival order, up to the cap (consecutive pieces of one stream merged). */
  output: z.array(OutputChunk),
  truncated: z.boolean(),
  /** Bytes the command wrote in total (more than `output` holds when truncated). */
  output_bytes: z.number().int(),
  /** The last bytes of the output when it was truncated. */
  tail: z.string().nullable(),
  error: z.string().nullable(),
  started_at: z.number().nullable(),
  finished_at: z.number().nullable(),
});
export type ExecNodeResult = z.infer<typeof ExecNodeResult>;

/** State of a whole batch exec. */
export const ExecRunState = z.enum(EXEC_RUN_STATES);
export type ExecRunState = z.infer<typeof ExecRunState>;

/** A batch exec as `GET /api/v1/exec/:id` shows it (the history list omits `output`). */
export const ExecInfo = z.object({
  id: z.string(),
  command: z.string(),
  cluster: z.string().nullable(),
  nodes: z.array(NodeId),
  timeout_s: z.number().int(),
  state: ExecRunState,
  by: z.object({ name: z.string(), kind: TokenKind }),
  created_at: z.number(),
  finished_at: z.number().nullable(),
  /** Per state, how many nodes are in it. */
  counts: z.record(z.string(), z.number().int()),
  results: z.array(ExecNodeResult).optional(),
});
export type ExecInfo = z.infer<typeof ExecInfo>;

// Web terminal: browser ↔ hub (`GET /api/v1/terminal/:node`, WebSocket, JSON text frames)

/** Browser → hub: keystrokes, or a new size. */
export const TerminalClientMessage = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("input"), data: z.string().max(65_536) }),
  z.strictObject({ type: z.literal("resize"), cols: Cols, rows: Rows }),
]);
export type TerminalClientMessage = z.infer<typeof TerminalClientMessage>;

/** Hub → browser. After `exit` (or a fatal `error`) the hub closes the socket. */
export type TerminalServerMessage =
  | { type: "ready"; session: string; node_id: string; shell: string }
  | { type: "output"; data: string }
  | { type: "exit"; code: number | null; reason: string }
  | { type: "error"; message: string };

// Containers on a node

/** `GET /api/v1/nodes/:id/containers` entry. */
export const ContainerInfo = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  state: z.string(),
  status: z.string(),
  created: z.number().nullable(),
  labels: z.record(z.string(), z.string()),
});
export type ContainerInfo = z.infer<typeof ContainerInfo>;

/** `POST /api/v1/nodes/:id/containers/:cid/{restart,stop,remove}` answer. */
export const ContainerActionResult = z.object({
  node_id: NodeId,
  container: z.string(),
  action: z.enum(["restart", "stop", "remove"]),
  ok: z.literal(true),
});

// Audit log

/** One audit entry: who (token name and kind), what, on what, when, and how it ended. */
export const AuditEntry = z.object({
  id: z.string(),
  at: z.number(),
  actor: z.object({ name: z.string(), kind: z.string(), token_id: z.string().nullable() }),
  action: z.string(),
  target: z.string().nullable(),
  result: z.enum(["ok", "error"]),
  detail: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
