/**
 * The job queue and the roamer pool over HTTP. Operators (admin) submit, cancel and retry jobs
 * and assign or release roamers (the services audit these as the caller); viewers read; node
 * tokens claim (long-poll), heartbeat and report — only for themselves, and only while they hold
 * the job's current attempt (a stale worker gets 409); a report may claim the worker's next job in
 * the same request — and say which jobs they really run after a restart, so the rest return to
 * the queue at once. The behaviour is in `service.ts` (the queue) and `roamers.ts`.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import {
  ClaimRequest,
  JobComplete,
  JobFail,
  JobHeartbeat,
  type JobReportAnswer,
  JobsRunning,
  JobState,
  JobSubmit,
  NodeId,
  RoamerAssign,
  RoamerReport,
} from "../../shared/protocol/mod.ts";
import { callingNode, type Env, requireAuth } from "../core/auth.ts";
import type { HubServices } from "../core/services.ts";
import { validate } from "../core/validate.ts";
import { jobInfo, jobSpec, type Outcome } from "./store.ts";

const IdParam = z.object({ id: z.coerce.number().int().positive() });
const ListQuery = z.strictObject({
  state: JobState.optional(),
  cluster: NodeId.optional(),
  node: NodeId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.coerce.number().int().positive().optional(),
});
const RoamerParam = z.object({ id: NodeId });

/** Routes of the jobs feature: jobs, templates, roamers and clusters. */
export function jobRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");
  const asNode = requireAuth(s.verifier, "node");

  app.get("/templates", read, (c) => c.json(s.queue.templates()));

  app.post("/jobs", admin, validate("json", JobSubmit), async (c) => {
    const row = await s.queue.submit(c.req.valid("json"), c.get("principal"));
    return c.json({ id: String(row.id), state: row.state }, 201);
  });

  app.get("/jobs", read, validate("query", ListQuery), (c) => {
    return c.json(s.queue.list(c.req.valid("query")));
  });

  app.post("/jobs/claim", asNode, validate("json", ClaimRequest), async (c) => {
    const nodeId = callingNode(c.get("principal"));
    const waitMs = c.req.valid("json").wait_s * 1000;
    return c.json(await s.roamers.claimFor(nodeId, waitMs, c.req.raw.signal));
  });

  app.post("/jobs/running", asNode, validate("json", JobsRunning), async (c) => {
    const nodeId = callingNode(c.get("principal"));
    return c.json(await s.queue.reportRunning(nodeId, c.req.valid("json")));
  });

  app.get("/jobs/:id", read, validate("param", IdParam), (c) => {
    return c.json(s.queue.info(c.req.valid("param").id));
  });

  app.post("/jobs/:id/cancel", admin, validate("param", IdParam), async (c) => {
    const { row } = await s.queue.cancel(c.req.valid("param").id, c.get("principal"));
    return c.json(jobInfo(row));
  });

  app.post("/jobs/:id/retry", admin, validate("param", IdParam), async (c) => {
    const { row } = await s.queue.retry(c.req.valid("param").id, c.get("principal"));
    return c.json(jobInfo(row));
  });

  app.post(
    "/jobs/:id/heartbeat",
    asNode,
    validate("param", IdParam),
    validate("json", JobHeartbeat),
    async (c) => {
      const b = c.req.valid("json");
      const nodeId = callingNode(c.get("principal"));
      const { row } = await s.queue.heartbeat(
        c.req.valid("param").id,
        nodeId,
        b.attempt,
        b.running ?? false,
        b.log_tail,
      );
      return c.json({ state: row.state, lease_expires_at: row.lease_expires_at });
    },
  );

  // A worker ends its attempt: `complete` with a result, or `fail` with an error; with
  // `claim_next` the same request also claims its next job (one round trip per job).
  const report = async (
    c: Context<Env>,
    id: number,
    attempt: number,
    outcome: Outcome,
    claimNext: boolean | undefined,
  ) => {
    const nodeId = callingNode(c.get("principal"));
    // The report and the claim commit together; a refused report claims nothing.
    const ahead = claimNext ? s.roamers.nextClaim(nodeId) : undefined;
    const { row, next } = await s.queue.finish(id, nodeId, attempt, outcome, ahead?.can);
    const answer: JobReportAnswer = { state: row.state };
    if (ahead) answer.next = { job: next ? jobSpec(next) : null, roamer: ahead.roamer };
    return c.json(answer);
  };

  app.post(
    "/jobs/:id/complete",
    asNode,
    validate("param", IdParam),
    validate("json", JobComplete),
    (c) => {
      const { attempt, result, exit_code, log_tail, claim_next } = c.req.valid("json");
      const outcome = { ok: true as const, result, exit_code, log_tail };
      return report(c, c.req.valid("param").id, attempt, outcome, claim_next);
    },
  );

  app.post("/jobs/:id/fail", asNode, validate("param", IdParam), validate("json", JobFail), (c) => {
    const { attempt, error, exit_code, log_tail, claim_next } = c.req.valid("json");
    const outcome = { ok: false as const, error, exit_code, log_tail };
    return report(c, c.req.valid("param").id, attempt, outcome, claim_next);
  });

  app.get("/roamers", read, (c) => c.json(s.roamers.list()));

  app.get("/clusters", read, (c) => c.json(s.roamers.clusters()));

  app.post("/roamers/self/state", asNode, validate("json", RoamerReport), async (c) => {
    const b = c.req.valid("json");
    const nodeId = callingNode(c.get("principal"));
    return c.json(await s.roamers.report(nodeId, b.state, b.detail ?? null));
  });

  app.post(
    "/roamers/:id/assign",
    admin,
    validate("param", RoamerParam),
    validate("json", RoamerAssign),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await s.roamers.assign(id, c.req.valid("json"), c.get("principal")));
    },
  );

  app.post("/roamers/:id/release", admin, validate("param", RoamerParam), async (c) => {
    return c.json(await s.roamers.release(c.req.valid("param").id, c.get("principal")));
  });

  return app;
}
