/**
 * What every API answer may be: problem details, and the hub's own stats.
 *
 * @module
 */
import { z } from "zod";

/** RFC 9457 problem details, the body of every error answer. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof Problem>;

/** `GET /api/v1/hub/stats` answer: the hub's own health numbers. */
export const HubStats = z.object({
  version: z.string(),
  boot_id: z.string(),
  uptime_s: z.number(),
  rss_b: z.number(),
  /** The JS heap: in use, and reserved by V8 (part of `rss_b`). */
  heap_used_b: z.number().optional(),
  heap_total_b: z.number().optional(),
  /** Memory outside the JS heap held by JS objects (buffers of bodies, files, sockets). */
  external_b: z.number().optional(),
  nodes: z.number(),
  sse_clients: z.number(),
  sse_dropped: z.number(),
  samples_stored: z.number(),
  /** Ingest batches refused with 503 at the in-flight bound since the hub started. */
  ingest_refused: z.number().optional(),
  /** The ingest parse thread: not started yet, running, failed (bodies parsed on the request
   * thread), or off. */
  ingest_parse_thread: z.enum(["idle", "running", "failed", "closed", "off"]).optional(),
  commit_batches: z.number(),
  last_event_id: z.string(),
});
export type HubStats = z.infer<typeof HubStats>;

// ---------------------------------------------------------------------------------------------
