/**
 * Link quality between the hub and each node: round trip time and loss of the control channel's
 * pings (hub → agent → hub), the agent's own probe of the hub (agent → hub over HTTP) and the
 * node's bandwidth (its interface rates). Loss on a TCP link shows as pings that come back late
 * or not at all: a ping not answered within the ping timeout counts as lost.
 *
 * @module
 */
import { z } from "zod";
import { NodeId, nonNeg, pct } from "./common.ts";
import { LINK_WINDOW } from "./constants.ts";

/** Pings (and probes) a loss percentage is computed over. */
export { LINK_WINDOW };

/**
 * The agent's own probe of the hub, carried in its samples as `link`: round trip of a small
 * HTTP request to the hub, and how many of the last probes failed or exceeded the probe timeout.
 */
export const LinkProbe = z.object({
  rtt_ms: nonNeg.max(3_600_000).optional(),
  loss_pct: pct.optional(),
  /** Probes the loss covers (≤ {@link LINK_WINDOW}). */
  probes: z.number().int().min(0).max(1000),
});
export type LinkProbe = z.infer<typeof LinkProbe>;

const ms = z.number().nonnegative().nullable();

/** The current link of one node, as the hub measures it. */
export const NodeLink = z.object({
  node_id: NodeId,
  /** Hub time of this reading (ms since the epoch). */
  ts: z.number(),
  /** The agent holds its control WebSocket now. */
  connected: z.boolean(),
  /** Last control-ping round trip (ms); null before the first pong. */
  rtt_ms: ms,
  /** Mean round trip of the answered pings of the window. */
  rtt_avg_ms: ms,
  /** Pings of the window not answered within the ping timeout, in %; null with no ping yet. */
  loss_pct: pct.nullable(),
  /** Pings the window holds. */
  pings: z.number().int().nonnegative(),
  /** The agent's probe of the hub: round trip (ms) and loss (%), from its newest sample. */
  probe_rtt_ms: ms,
  probe_loss_pct: pct.nullable(),
  /** Bytes per second in and out of the node (all interfaces but loopback and container ones). */
  rx_bps: ms,
  tx_bps: ms,
});
export type NodeLink = z.infer<typeof NodeLink>;

/** Fresh link readings (every ping round, the nodes whose link changed). */
export const LinkQualityEvent = z.object({
  type: z.literal("link.quality"),
  links: z.array(NodeLink),
});
export type LinkQualityEvent = z.infer<typeof LinkQualityEvent>;

/** `GET /api/v1/network/links`: every node's current link, worst first. */
export const LinkList = z.object({
  ts: z.number(),
  /** How often the hub pings, and after how long an unanswered ping counts as lost (ms). */
  ping_ms: z.number(),
  ping_timeout_ms: z.number(),
  links: z.array(NodeLink),
});
export type LinkList = z.infer<typeof LinkList>;

/** One minute of a node's link. */
export const LinkPoint = z.object({
  /** Start of the minute (ms since the epoch). */
  ts: z.number(),
  rtt_ms: ms,
  rtt_max_ms: ms,
  loss_pct: pct.nullable(),
  probe_rtt_ms: ms,
  probe_loss_pct: pct.nullable(),
  rx_bps: ms,
  tx_bps: ms,
});
export type LinkPoint = z.infer<typeof LinkPoint>;

/** `GET /api/v1/network/links/:id/history?from&to`. */
export const LinkHistory = z.object({
  node_id: NodeId,
  from: z.number(),
  to: z.number(),
  points: z.array(LinkPoint),
});
export type LinkHistory = z.infer<typeof LinkHistory>;

/** Query of the link history route (ms since the epoch; default the last hour). */
export const LinkHistoryQuery = z.strictObject({
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
});
