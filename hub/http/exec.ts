/**
 * Batch exec over HTTP: `POST /api/v1/exec` (admin) starts a run and answers its id at once;
 * output and exit codes stream on the fleet SSE stream (`exec.started`, `exec.output`,
 * `exec.exit`, `exec.finished`) and are stored: `GET /api/v1/exec/:id` (one run with every
 * node's output), `GET /api/v1/exec` (history, newest first). `POST /api/v1/exec/:id/cancel`
 * (admin) kills the process groups still running.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { ExecRequest, NodeId } from "../../shared/protocol/mod.ts";
import { type Principal, requireAuth } from "../auth.ts";
import { NotFound } from "../errors.ts";
import { listExecRuns } from "../store/exec.ts";
import type { HubServices } from "../services.ts";
import { validate } from "./validate.ts";

const IdParam = z.object({ id: z.coerce.number().int().positive() });
const ListQuery = z.strictObject({
  node: NodeId.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.coerce.number().int().positive().optional(),
});

/** Routes for batch exec. */
export function execRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");

  app.post("/exec", admin, validate("json", ExecRequest), async (c) => {
    const info = await s.execs.start(c.req.valid("json"), c.get("principal"));
    return c.json(info, 201);
  });

  app.get("/exec", read, validate("query", ListQuery), (c) => {
    const q = c.req.valid("query");
    const runs = listExecRuns(s.db, { limit: q.limit, before: q.cursor, node: q.node });
    const next = runs.length === q.limit ? runs.at(-1)!.id : null;
    return c.json({ runs, next_cursor: next });
  });

  app.get("/exec/:id", read, validate("param", IdParam), (c) => {
    const { id } = c.req.valid("param");
    const info = s.execs.get(id);
    if (!info) throw new NotFound(`no exec ${id}: see GET /api/v1/exec`);
    return c.json(info);
  });

  app.post("/exec/:id/cancel", admin, validate("param", IdParam), async (c) => {
    return c.json(await s.execs.cancel(c.req.valid("param").id, c.get("principal")));
  });

  return app;
}
