/**
 * Node actions an admin starts from the hub (UI, API, MCP) and the node's agent carries out over
 * its control channel: restart the agent, clean the node up (a dry run first), run the boot
 * recovery now.
 *
 * @module
 */
import { z } from "zod";
import { NodeId } from "./common.ts";
import { NODE_ACTIONS } from "./enums.ts";

/** What a node action can be. */
export const NodeAction = z.enum(NODE_ACTIONS);
export type NodeAction = z.infer<typeof NodeAction>;

/** A cleanup plan's fingerprint (hex). */
const PlanId = z.string().regex(/^[0-9a-f]{16}$/, "plan_id: 16 hex digits from a dry run");

/** Hub → agent: run a node action (`ch` answered with one `reply`). */
export const NodeActionMessage = z.discriminatedUnion("op", [
  z.object({
    type: z.literal("node.action"),
    ch: z.number().int().positive().max(2 ** 31),
    op: z.literal("cleanup"),
    dry_run: z.boolean(),
    force: z.boolean(),
    /** A real run refuses (conflict) when its plan differs from this dry run's. */
    plan_id: PlanId.optional(),
  }),
  z.object({
    type: z.literal("node.action"),
    ch: z.number().int().positive().max(2 ** 31),
    op: z.enum(["recover", "restart"]),
  }),
]);
export type NodeActionMessage = z.infer<typeof NodeActionMessage>;

/** `POST /api/v1/nodes/:id/actions/cleanup` body: a dry run unless `dry_run: false`. */
export const NodeCleanupRequest = z.strictObject({
  dry_run: z.boolean().default(true),
  /** Also when a job container runs (it is stopped with the rest). */
  force: z.boolean().default(false),
  /** The dry run's `plan_id`: the real run refuses (409) when the plan changed since. */
  plan_id: PlanId.optional(),
});
export type NodeCleanupRequest = z.input<typeof NodeCleanupRequest>;

/** Most steps a cleanup report lists (a control frame is at most 1 MiB). */
export const MAX_LISTED_STEPS = 1000;

/** One step of a cleanup plan. */
export const CleanupStep = z.object({
  kind: z.string().max(64),
  target: z.string().max(4096),
  detail: z.string().max(4096),
  bytes: z.number().int().nonnegative(),
});
export type CleanupStep = z.infer<typeof CleanupStep>;

/** What a cleanup would do (dry run) or did. */
export const NodeCleanupReport = z.object({
  node_id: NodeId,
  dry_run: z.boolean(),
  plan_id: z.string(),
  /** The steps, the first {@link MAX_LISTED_STEPS} of them. */
  actions: z.array(CleanupStep).max(1000),
  /** Steps beyond the listed ones (they run too; only the list is cut). */
  omitted: z.number().int().nonnegative(),
  /** Steps left out, and why (opt-ins off, no Docker, no S3). */
  skipped: z.array(z.string()),
  /** Bytes the plan frees (dry run) or freed (as far as known). */
  bytes: z.number().int().nonnegative(),
  failed: z.array(z.object({ kind: z.string(), detail: z.string(), error: z.string() })),
});
export type NodeCleanupReport = z.infer<typeof NodeCleanupReport>;

/** What "run recovery now" did, step by step (also reported as the node's recovery). */
export const NodeRecoverReport = z.object({
  node_id: NodeId,
  ok: z.boolean(),
  steps: z.array(z.object({ step: z.string(), ok: z.boolean(), detail: z.string() })),
});
export type NodeRecoverReport = z.infer<typeof NodeRecoverReport>;

/**
 * A restart was accepted: `systemd` = the agent exits and its unit (Restart=always) starts it
 * again; `in_place` = no systemd: it stops every part and starts again in the same process.
 */
export const NodeRestartReport = z.object({
  node_id: NodeId,
  how: z.enum(["systemd", "in_place"]),
});
export type NodeRestartReport = z.infer<typeof NodeRestartReport>;

/** Fleet event: a node action started or ended. */
export const NodeActionEvent = z.object({
  type: z.literal("node.action"),
  node_id: NodeId,
  action: NodeAction,
  dry_run: z.boolean(),
  state: z.enum(["started", "done", "failed"]),
  by: z.string(),
  detail: z.string().nullable(),
});
