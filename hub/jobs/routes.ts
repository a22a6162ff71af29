/**
 * The job queue over HTTP. Operators (admin) submit, cancel and retry; viewers read; node
 * tokens claim (long-poll), heartbeat and report — only for themselves, and only while they hold
 * the job's current attempt (a stale worker gets 409) — and say which jobs they really run after
 * a restart, so the rest return to the queue at once.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  ClaimRequest,
  JobComplete,
  JobFail,
  JobHeartbeat,
  JobsRunning,
  JobState,
  JobSubmit,
  NodeId,
  RoamerAssign,
  RoamerReport,
} from "../../shared/protocol/mod.ts";
import { callingNode, type Env, requireAuth } from "../core/auth.ts";
import { Forbidden, NotFound } from "../core/errors.ts";
import { getJobRow, jobHistory, jobInfo, jobSpec, listJobRows, type Outcome } from "./store.ts";
import type { HubServices } from "../core/services.ts";
import { validate } from "../core/validate.ts";

const IdParam = z.object({ id: z.coerce.number().int().positive() });
const ListQuery = z.strictObject({
  state: JobState.optional(),
  cluster: NodeId.optional(),
  node: NodeId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.coerce.number().int().positive().optional(),
});

/** Routes for jobs. */
export function jobRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();

  app.get("/templates", requireAuth(s.verifier, "read"), (c) => c.json(s.queue.templates()));
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");
  const asNode = requireAuth(s.verifier, "node");

  app.post("/jobs", admin, validate("json", JobSubmit), async (c) => {
    const row = await s.queue.submit(c.req.valid("json"));
    return c.json({ id: String(row.id), state: row.state }, 201);
  });

  app.get("/jobs", read, validate("query", ListQuery), (c) => {
    const q = c.req.valid("query");
    const rows = listJobRows(s.db, { ...q, before: q.cursor });
    const next = rows.length === q.limit ? String(rows.at(-1)!.id) : null;
    return c.json({ jobs: rows.map(jobInfo), next_cursor: next });
  });

  app.post("/jobs/claim", asNode, validate("json", ClaimRequest), async (c) => {
    const nodeId = callingNode(c.get("principal"));
    // A roamer's long-poll also ends when its assignment changes, so it can provision at once.
    const watch = s.roamers.watch(nodeId);
    try {
      const wait = s.roamers.needsAgent(nodeId) ? 0 : c.req.valid("json").wait_s * 1000;
      const row = await s.queue.claim(
        nodeId,
        wait,
        AbortSignal.any([c.req.raw.signal, watch.signal]),
      );
      return c.json({ job: row ? jobSpec(row) : null, roamer: s.roamers.get(nodeId) ?? null });
    } finally {
      watch.done();
    }
  });

  app.post("/jobs/running", asNode, validate("json", JobsRunning), async (c) => {
    const own = callingNode(c.get("principal"));
    const body = c.req.valid("json");
    if (body.node_id !== undefined && body.node_id !== own) {
      throw new Forbidden(`node_id: this token belongs to node ${own}, not ${body.node_id}`);
    }
    const r = await s.queue.reconcile(own, body.job_ids.map(Number));
    return c.json({
      kept: r.kept.map(String),
      returned: r.returned.map(String),
      unknown: r.unknown.map(String),
    });
  });

  app.get("/jobs/:id", read, validate("param", IdParam), (c) => {
    const { id } = c.req.valid("param");
    const row = getJobRow(s.db, id);
    if (!row) throw new NotFound(`no job ${id}: see GET /api/v1/jobs`);
    return c.json({ ...jobInfo(row), history: jobHistory(s.db, id) });
  });

  app.post("/jobs/:id/cancel", admin, validate("param", IdParam), async (c) => {
    const { row } = await s.queue.cancel(c.req.valid("param").id);
    return c.json(jobInfo(row));
  });

  app.post("/jobs/:id/retry", admin, validate("param", IdParam), async (c) => {
    const { row } = await s.queue.retry(c.req.valid("param").id);
    return c.json(jobInfo(row));
  });

  app.post(
    "/jobs/:id/heartbeat",
    asNode,
    validate("param", IdParam),
    validate("json", JobHeartbeat),
    async (c) => {
      const b = c.req.valid("json");
      const { row } = await s.queue.heartbeat(
        c.req.valid("param").id,
        callingNode(c.get("principal")),
        b.attempt,
        b.running ?? false,
        b.log_tail,
      );
      return c.json({ state: row.state, lease_expires_at: row.lease_expires_at });
    },
  );

  // A worker ends its attempt: `complete` with a result, or `fail` with an error.
  for (const [path, schema] of [["complete", JobComplete], ["fail", JobFail]] as const) {
    app.post(
      `/jobs/:id/${path}`,
      asNode,
      validate("param", IdParam),
      validate("json", schema),
      async (c) => {
        // The union of both bodies; each schema already required its own fields.
        const b = c.req.valid("json") as {
          attempt: number;
          result?: unknown;
          error?: string;
          exit_code?: number;
          log_tail?: string;
        };
        const outcome: Outcome = path === "complete"
          ? { ok: true, result: b.result, exit_code: b.exit_code, log_tail: b.log_tail }
          : { ok: false, error: b.error!, exit_code: b.exit_code, log_tail: b.log_tail };
        const { row } = await s.queue.finish(
          c.req.valid("param").id,
          callingNode(c.get("principal")),
          b.attempt,
          outcome,
        );
        return c.json({ state: row.state });
      },
    );
  }

  return app;
}

const Params = z.object({ id: NodeId });

/** Routes for roamers and clusters. */
export function roamerRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");
  const asNode = requireAuth(s.verifier, "node");

  app.get("/roamers", read, (c) => c.json(s.roamers.list()));

  app.get("/clusters", read, (c) => c.json(s.roamers.clusters()));

  app.post("/roamers/self/state", asNode, validate("json", RoamerReport), async (c) => {
    const b = c.req.valid("json");
    return c.json(
      await s.roamers.report(callingNode(c.get("principal")), b.state, b.detail ?? null),
    );
  });

  app.post(
    "/roamers/:id/assign",
    admin,
    validate("param", Params),
    validate("json", RoamerAssign),
    async (c) => {
      const by = `${c.get("principal").kind}:${c.get("principal").name}`;
      return c.json(await s.roamers.assign(c.req.valid("param").id, c.req.valid("json"), by));
    },
  );

  app.post("/roamers/:id/release", admin, validate("param", Params), async (c) => {
    const by = `${c.get("principal").kind}:${c.get("principal").name}`;
    return c.json(await s.roamers.release(c.req.valid("param").id, `released by ${by}`));
  });

  return app;
}
