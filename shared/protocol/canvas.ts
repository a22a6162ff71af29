/**
 * The canvas: saved layouts and the templates its dialogs offer.
 *
 * @module
 */
import { z } from "zod";
import { finite, NodeId } from "./common.ts";
import { JobCommand, JobExecutor } from "./jobs.ts";

/** Most node positions one layout holds. */
export const MAX_LAYOUT_NODES = 5000;

/** A node's position on the canvas, in flow coordinates. */
export const LayoutPosition = z.strictObject({
  x: finite.min(-1e6).max(1e6),
  y: finite.min(-1e6).max(1e6),
});

/**
 * `PUT /api/v1/layout` body and `GET` answer: node id → position, and where the hub sits; saved
 * per token kind.
 */
export const Layout = z.strictObject({
  positions: z.record(NodeId, LayoutPosition).refine(
    (p) => Object.keys(p).length <= MAX_LAYOUT_NODES,
    `at most ${MAX_LAYOUT_NODES} positions`,
  ),
  hub: LayoutPosition.optional(),
});
export type Layout = z.infer<typeof Layout>;

/** `GET /api/v1/templates` entry: a job/roamer template from fleet.yml. */
export const TemplateInfo = z.object({
  name: z.string(),
  executor: JobExecutor,
  image: z.string().nullable(),
  command: JobCommand.nullable(),
  gpu: z.boolean(),
  /** Memory limit of its jobs (bytes), or null. */
  memory_b: z.number().int().nullable().optional(),
  /** CPU limit of its jobs, or null. */
  cpus: z.number().nullable().optional(),
  startup_s: z.number().nullable(),
  timeout_s: z.number().nullable(),
});
export type TemplateInfo = z.infer<typeof TemplateInfo>;
