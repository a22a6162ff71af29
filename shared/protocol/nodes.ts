/**
 * Nodes as the hub shows them: status, recovery, the fleet snapshot, node events and metrics history.
 *
 * @module
 */
import { z } from "zod";
import { NodeId } from "./common.ts";
import { CONTROL_CAPABILITIES, NODE_STATUSES } from "./enums.ts";
import { Sample } from "./samples.ts";

/** Node status as computed by the hub from the age of its last sample. */
export const NodeStatus = z.enum(NODE_STATUSES);
export type NodeStatus = z.infer<typeof NodeStatus>;

/** One step of a node's boot recovery. */
export const RecoveryStep = z.object({
  step: z.string().min(1).max(128),
  ok: z.boolean(),
  detail: z.string().max(4096),
});

/** `POST /api/v1/nodes/:id/recovery` body (the node's own token): how its boot recovery went. */
export const RecoveryReport = z.strictObject({
  steps: z.array(RecoveryStep).min(1).max(64),
});
export type RecoveryReport = z.infer<typeof RecoveryReport>;

/** A node's last recovery, as the hub shows it. */
export const NodeRecovery = z.object({
  at: z.number(),
  ok: z.boolean(),
  steps: z.array(RecoveryStep),
});
export type NodeRecovery = z.infer<typeof NodeRecovery>;

/** A node as the hub knows it. */
export const NodeSummary = z.object({
  id: NodeId,
  name: z.string(),
  hostname: z.string().nullable(),
  arch: z.string().nullable(),
  agent_version: z.string().nullable(),
  type: z.string().nullable(),
  role: z.string().nullable(),
  cluster: z.string().nullable(),
  status: NodeStatus,
  first_seen: z.number().nullable(),
  /** Hub time of the last accepted sample (status is computed from it, not the node's clock). */
  last_seen: z.number().nullable(),
  last_seq: z.number().int(),
  spool_dropped: z.number().int(),
  last_sample: Sample.nullable(),
  /** The last boot recovery the node reported. */
  recovery: NodeRecovery.nullable(),
  /**
   * How far the node's clock is off the hub's, in seconds (positive: ahead), as measured at its
   * last batch; `null` while within the allowed skew. Its samples are then placed on hub time.
   */
  clock_skew_s: z.number().nullable().optional(),
  /** Unknown sample keys the hub ignored from this node (see the hub log for which). */
  unknown_keys: z.number().int().optional(),
  /** The node's agent holds its control WebSocket (exec, terminal, containers) right now. */
  control: z.boolean().optional(),
  /** Last measured hub → agent → hub round trip on the control channel, in ms. */
  rtt_ms: z.number().nonnegative().nullable().optional(),
  /** What the connected agent offers on its control channel (empty while not connected). */
  capabilities: z.array(z.enum(CONTROL_CAPABILITIES)).max(16).optional(),
});
export type NodeSummary = z.infer<typeof NodeSummary>;

/** `GET /api/v1/fleet` answer. */
export const FleetSnapshot = z.object({
  hub: z.object({ version: z.string(), boot_id: z.string(), now: z.number() }),
  /** Id of the newest event already reflected here: subscribe with it as `Last-Event-ID`. */
  event_id: z.string(),
  nodes: z.array(NodeSummary),
});
export type FleetSnapshot = z.infer<typeof FleetSnapshot>;

/** Events on `GET /api/v1/fleet/events`; the SSE `event:` field is `type`. */
export const NodeSampleEvent = z.object({
  type: z.literal("node.sample"),
  node_id: NodeId,
  sample: Sample,
});
export const NodeStatusEvent = z.object({
  type: z.literal("node.status"),
  node_id: NodeId,
  status: NodeStatus,
  previous: NodeStatus,
  last_seen: z.number().nullable(),
});
export const NodeAddedEvent = z.object({ type: z.literal("node.added"), node: NodeSummary });
export const NodeRemovedEvent = z.object({ type: z.literal("node.removed"), node_id: NodeId });
/** A node reported its boot recovery. */
export const NodeRecoveryEvent = z.object({
  type: z.literal("node.recovery"),
  node_id: NodeId,
  recovery: NodeRecovery,
});
/** A node's clock went off, came back in sync, or its skew changed by a second or more. */
export const NodeClockEvent = z.object({
  type: z.literal("node.clock"),
  node_id: NodeId,
  clock_skew_s: z.number().nullable(),
});
/** Sent when a resume is impossible (hub restarted or id too old): re-fetch the snapshot. */
export const StreamResetEvent = z.object({ type: z.literal("stream.reset"), reason: z.string() });

/** Query of `GET /api/v1/nodes/:id/metrics`; times in ms (or ISO 8601), step in seconds. */
export const MetricsQuery = z.strictObject({
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  step: z.coerce.number().int().min(1).max(86_400).optional(),
});

/** One aggregated series; `null` marks a bucket with no data (draw a gap, not a line). */
export const SeriesValues = z.object({
  avg: z.array(z.number().nullable()),
  min: z.array(z.number().nullable()),
  max: z.array(z.number().nullable()),
});
export type SeriesValues = z.infer<typeof SeriesValues>;

/** `GET /api/v1/nodes/:id/metrics` answer: bucket start times and one entry per series. */
export const MetricsResponse = z.object({
  node_id: NodeId,
  from: z.number(),
  to: z.number(),
  step_s: z.number(),
  source: z.enum(["raw", "rollup"]),
  ts: z.array(z.number()),
  series: z.record(z.string(), SeriesValues),
});
export type MetricsResponse = z.infer<typeof MetricsResponse>;
