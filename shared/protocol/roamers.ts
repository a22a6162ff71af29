/**
 * The roamer pool and the clusters it lends to.
 *
 * @module
 */
import { z } from "zod";
import { NodeId } from "./common.ts";
import { ASSIGN_MODES, ROAMER_STATES } from "./enums.ts";
import { EnvMap, JobCommand } from "./jobs.ts";

/** Lifecycle of a roamer (an elastic node lent to clusters on demand). */
export const RoamerState = z.enum(ROAMER_STATES);
export type RoamerState = z.infer<typeof RoamerState>;

/** How long an assignment lasts. */
export const AssignMode = z.enum(ASSIGN_MODES);
export type AssignMode = z.infer<typeof AssignMode>;

/**
 * A container image reference: `[registry[:port]/]path[:tag][@sha256:digest]`, the form
 * `docker pull` accepts (path components lower case).
 */
export const ImageRef = z.string().max(512).regex(
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
  "not an image reference like registry:5000/name:tag",
);

/**
 * `POST /api/v1/roamers/:id/assign` body: a cluster, a template or a custom image (with optional
 * command, env and gpu), and a mode.
 */
export const RoamerAssign = z.strictObject({
  cluster: NodeId.optional(),
  template: z.string().min(1).max(128).optional(),
  image: ImageRef.optional(),
  command: JobCommand.optional(),
  env: EnvMap.optional(),
  gpu: z.boolean().optional(),
  mode: AssignMode.default("until_idle"),
  /** Length of a `minutes` assignment (fractions allowed: 0.5 = 30 s). */
  minutes: z.number().positive().max(7 * 24 * 60).optional(),
}).superRefine((a, ctx) => {
  const targets = [a.cluster, a.template, a.image].filter((t) => t !== undefined).length;
  if (targets !== 1) {
    ctx.addIssue({
      code: "custom",
      path: ["cluster"],
      message: "give exactly one of cluster, template or image",
    });
  }
  for (const key of ["command", "env", "gpu"] as const) {
    if (a[key] !== undefined && a.image === undefined) {
      ctx.addIssue({ code: "custom", path: [key], message: `${key} is only allowed with image` });
    }
  }
  if ((a.mode === "minutes") !== (a.minutes !== undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["minutes"],
      message: "minutes is required for mode minutes and only allowed there",
    });
  }
});
export type RoamerAssign = z.input<typeof RoamerAssign>;

/** A roamer as the API shows it. */
export const RoamerInfo = z.object({
  node_id: NodeId,
  state: RoamerState,
  /** The cluster or template it serves, with the image to provision (when the template has one). */
  assignment: z.object({
    cluster: z.string().nullable(),
    template: z.string().nullable(),
    image: z.string().nullable(),
    /** Set for a custom-image assignment (neither cluster nor template): how it was asked for. */
    custom: z.object({
      command: JobCommand.nullable(),
      env: z.record(z.string(), z.string()),
      gpu: z.boolean(),
    }).nullable().optional(),
    mode: AssignMode,
    until: z.number().nullable(),
    /** The offline cluster member this roamer stands in for (the autoscaler's failover). */
    covering: z.string().nullable().optional(),
    by: z.string(),
    at: z.number(),
  }).nullable(),
  release_requested: z.boolean(),
  /** Kept for assignment by hand: the autoscaler never lends it (fleet.yml `manual_only`). */
  manual_only: z.boolean().optional(),
  state_at: z.number(),
  detail: z.string().nullable(),
});
export type RoamerInfo = z.infer<typeof RoamerInfo>;

/** `POST /api/v1/roamers/self/state` body (node token): the roamer reports its progress. */
export const RoamerReport = z.strictObject({
  state: z.enum(["PROVISIONING", "RUNNING", "CLEANUP", "IDLE", "FAILED"]),
  detail: z.string().max(4096).optional(),
});

/** Fleet event: a roamer changed state. */
export const RoamerEvent = z.object({
  type: z.literal("roamer.state"),
  roamer: RoamerInfo,
  previous: RoamerState.nullable(),
});

/** `GET /api/v1/clusters` entry. */
export const ClusterInfo = z.object({
  id: z.string(),
  purpose: z.string().nullable(),
  template: z.string().nullable(),
  nodes: z.array(z.string()),
  roamers: z.array(z.string()),
  workers: z.object({ online: z.number().int(), total: z.number().int() }),
  queue: z.object({ pending: z.number().int(), running: z.number().int() }),
});
export type ClusterInfo = z.infer<typeof ClusterInfo>;
