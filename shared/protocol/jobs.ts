/**
 * The job queue: submit, claim, heartbeat, complete or fail, and the job's events.
 *
 * @module
 */
import { z } from "zod";
import { NodeId } from "./common.ts";
import { JOB_EXECUTORS, JOB_STATES } from "./enums.ts";
import { parseSize } from "../duration.ts";
import type { RoamerInfo } from "./roamers.ts";

// Jobs

/** Lifecycle of a job. */
export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;

/** How a job runs on the node: a container, or a plain command (hosts without Docker, tests). */
export const JobExecutor = z.enum(JOB_EXECUTORS);
export type JobExecutor = z.infer<typeof JobExecutor>;

/** A bind mount of a docker job (`source` on the node, `target` in the container). */
export const Mount = z.strictObject({
  source: z.string().min(1).max(1024),
  target: z.string().regex(/^\//, "target must be an absolute path").max(1024),
  readonly: z.boolean().optional(),
});
export type Mount = z.infer<typeof Mount>;

/** A command: one shell string (`/bin/sh -c`) or an argv array. */
export const JobCommand = z.union([
  z.string().min(1).max(16_384),
  z.array(z.string().max(16_384)).min(1).max(256),
]);
export type JobCommand = z.infer<typeof JobCommand>;

/** Deepest nesting accepted in free-form JSON (job payloads and results, agent replies). */
export const MAX_JSON_DEPTH = 32;
/** Most values (object keys and array items, all levels) in one job payload or result. */
export const MAX_JSON_VALUES = 10_000;
/** Most variables in a job's `env`. */
export const MAX_ENV_VARS = 1000;

/**
 * Why `value` is nested deeper than `maxDepth` or holds more than `maxValues` values, or
 * `undefined` when it fits. Walks with its own stack and stops at the first limit passed, so a
 * 400,000-deep body costs neither stack nor time.
 */
export function jsonShapeProblem(
  value: unknown,
  maxDepth: number,
  maxValues: number,
): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  let values = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= maxDepth) return `nested deeper than ${maxDepth} levels`;
    const items = Array.isArray(v) ? v : Object.values(v);
    values += items.length;
    if (values > maxValues) return `holds more than ${maxValues} values (keys and items)`;
    for (const item of items) stack.push([item, depth + 1]);
  }
  return undefined;
}

/** Free-form JSON with bounded depth and size; the issue lands on the field that holds it. */
export function boundedJson(maxDepth = MAX_JSON_DEPTH, maxValues = MAX_JSON_VALUES) {
  return z.unknown().superRefine((v, ctx) => {
    const problem = jsonShapeProblem(v, maxDepth, maxValues);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** Environment variables of a job (or a roamer's custom image): names checked, count bounded. */
export const EnvMap = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "env names: A-Z, 0-9, _"),
  z.string().max(65_536),
).refine((e) => Object.keys(e).length <= MAX_ENV_VARS, `at most ${MAX_ENV_VARS} variables`);

/** Smallest memory limit a job may have (the engine refuses less than 6 MiB). */
export const MIN_JOB_MEMORY_B = 6 * 1024 ** 2;
/** Largest memory limit a job may have (1 TiB). */
export const MAX_JOB_MEMORY_B = 1024 ** 4;

/** A job's memory limit: bytes, or a size like `512M`, `2G` (6 MiB to 1 TiB). */
export const JobMemory = z.union([z.number().int(), z.string().max(32)]).superRefine((v, ctx) => {
  const b = parseSize(v);
  if (b === undefined) {
    ctx.addIssue({ code: "custom", message: `not a size: ${v} (use e.g. 512M, 2G)` });
  } else if (b < MIN_JOB_MEMORY_B || b > MAX_JOB_MEMORY_B) {
    ctx.addIssue({ code: "custom", message: "between 6M and 1024G" });
  }
});

/** A job's CPU limit: how many CPUs' worth of time it may use (fractions allowed). */
export const JobCpus = z.number().min(0.01).max(1024);

/** `POST /api/v1/jobs` body: a template, or an explicit executor with its image or command. */
export const JobSubmit = z.strictObject({
  template: z.string().min(1).max(128).optional(),
  executor: JobExecutor.optional(),
  image: z.string().min(1).max(512).optional(),
  command: JobCommand.optional(),
  cluster: NodeId.optional(),
  node: NodeId.optional(),
  env: EnvMap.optional(),
  payload: boundedJson().optional(),
  priority: z.number().int().min(0).max(1000).default(0),
  max_attempts: z.number().int().min(1).max(100).default(3),
  timeout_s: z.number().int().min(1).max(7 * 86_400).optional(),
  /** Memory limit (a template's own when absent); a job that passes it is killed for memory. */
  memory: JobMemory.optional(),
  /** CPU limit in CPUs (a template's own when absent). */
  cpus: JobCpus.optional(),
  /** Give the job the node's GPU (a template's own when absent). */
  gpu: z.boolean().optional(),
}).superRefine((j, ctx) => {
  if ((j.template === undefined) === (j.executor === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["template"],
      message: "give either template or executor",
    });
  }
  if (j.executor === "docker" && !j.image) {
    ctx.addIssue({ code: "custom", path: ["image"], message: "a docker job needs an image" });
  }
  if (j.executor === "process" && !j.command) {
    ctx.addIssue({ code: "custom", path: ["command"], message: "a process job needs a command" });
  }
  if (j.cluster !== undefined && j.node !== undefined) {
    ctx.addIssue({ code: "custom", path: ["node"], message: "give cluster or node, not both" });
  }
});
export type JobSubmit = z.input<typeof JobSubmit>;

/** What a worker receives when it claims a job: everything needed to run it. */
export const JobSpec = z.object({
  id: z.string(),
  attempt: z.number().int(),
  lease_expires_at: z.number(),
  executor: JobExecutor,
  image: z.string().nullable(),
  command: JobCommand.nullable(),
  env: z.record(z.string(), z.string()),
  mounts: z.array(Mount),
  gpu: z.boolean(),
  /** Memory limit in bytes, or null for none. */
  memory_b: z.number().int().nullable().optional(),
  /** CPU limit in CPUs, or null for none. */
  cpus: z.number().nullable().optional(),
  timeout_s: z.number().int(),
  payload: z.unknown(),
});
export type JobSpec = z.infer<typeof JobSpec>;

/** One recorded transition of a job. */
export const JobTransition = z.object({
  state: JobState,
  at: z.number(),
  node: z.string().nullable(),
  detail: z.string().nullable(),
});

/** A job as the API shows it. */
export const JobInfo = z.object({
  id: z.string(),
  state: JobState,
  template: z.string().nullable(),
  executor: JobExecutor,
  image: z.string().nullable(),
  command: JobCommand.nullable(),
  cluster: z.string().nullable(),
  node: z.string().nullable(),
  priority: z.number().int(),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  timeout_s: z.number().int(),
  /** Resource limits: memory (bytes), CPUs, GPU; null = none. */
  memory_b: z.number().int().nullable().optional(),
  cpus: z.number().nullable().optional(),
  gpu: z.boolean().optional(),
  claimed_by: z.string().nullable(),
  lease_expires_at: z.number().nullable(),
  created_at: z.number(),
  started_at: z.number().nullable(),
  finished_at: z.number().nullable(),
  payload: z.unknown(),
  result: z.unknown(),
  error: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  log_tail: z.string().nullable(),
  history: z.array(JobTransition).optional(),
});
export type JobInfo = z.infer<typeof JobInfo>;

/** `POST /api/v1/jobs/claim` body. */
export const ClaimRequest = z.strictObject({
  /** Long-poll: wait up to this many seconds for a job (0 = answer at once). */
  wait_s: z.number().min(0).max(30).default(0),
});

/** `POST /api/v1/jobs/:id/heartbeat` body. */
export const JobHeartbeat = z.strictObject({
  attempt: z.number().int().positive(),
  /** The worker started running the job (claimed → running). */
  running: z.boolean().optional(),
  log_tail: z.string().max(65_536).optional(),
});

/**
 * Set on `complete` or `fail`: the same request then claims the node's next job (without
 * waiting), so a busy worker takes one round trip per job instead of two.
 */
const ClaimNext = z.boolean().optional();

/** `POST /api/v1/jobs/:id/complete` body. */
export const JobComplete = z.strictObject({
  attempt: z.number().int().positive(),
  result: boundedJson().optional(),
  exit_code: z.number().int().optional(),
  log_tail: z.string().max(65_536).optional(),
  claim_next: ClaimNext,
});

/** `POST /api/v1/jobs/:id/fail` body. */
export const JobFail = z.strictObject({
  attempt: z.number().int().positive(),
  error: z.string().min(1).max(4096),
  exit_code: z.number().int().optional(),
  log_tail: z.string().max(65_536).optional(),
  claim_next: ClaimNext,
});

/**
 * `POST /api/v1/jobs/claim` answer: a job (or null when none is waiting) and the node's roamer
 * assignment, if it is a roamer.
 */
export interface ClaimAnswer {
  job: JobSpec | null;
  roamer: RoamerInfo | null;
}

/**
 * `POST /api/v1/jobs/:id/complete|fail` answer. `next` is there when `claim_next` was asked and
 * the claim ran: the same as a claim's answer. Without it the worker claims as usual.
 */
export interface JobReportAnswer {
  state: JobState;
  next?: ClaimAnswer;
}

/**
 * `POST /api/v1/jobs/running` body: the jobs this node's agent really runs, sent when its worker
 * starts and after it reconnects. The hub returns every other job it holds as claimed or running
 * by the node to the queue at once ("agent restarted").
 */
export const JobsRunning = z.strictObject({
  /** Optional; when given it must be the token's own node. */
  node_id: NodeId.optional(),
  job_ids: z.array(z.string().regex(/^[1-9][0-9]{0,15}$/, "a job id (digits)")).max(1000),
});
export type JobsRunning = z.infer<typeof JobsRunning>;

/** `POST /api/v1/jobs/running` answer. */
export const JobsRunningResult = z.object({
  /** Reported jobs the hub confirms this node holds. */
  kept: z.array(z.string()),
  /** Jobs the node held but no longer runs, now back in the queue (or failed, out of attempts). */
  returned: z.array(z.string()),
  /** Reported jobs the node does not hold (finished, cancelled, or handed to another worker). */
  unknown: z.array(z.string()),
});
export type JobsRunningResult = z.infer<typeof JobsRunningResult>;

/** Fleet events about jobs. */
export const JobEvent = z.object({
  type: z.literal("job.state"),
  job_id: z.string(),
  state: JobState,
  previous: JobState.nullable(),
  node: z.string().nullable(),
  attempt: z.number().int(),
  detail: z.string().nullable(),
});
