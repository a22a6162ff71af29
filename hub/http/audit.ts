/**
 * `GET /api/v1/audit?action&target&actor&limit&cursor` (admin and viewer): the audit log, newest
 * first. `action` matches exactly (`exec.run`) or, ending in a dot, a family (`terminal.`).
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { type Principal, requireAuth } from "../auth.ts";
import { listAudit } from "../store/audit.ts";
import type { HubServices } from "../services.ts";
import { validate } from "./validate.ts";

const Query = z.strictObject({
  action: z.string().min(1).max(64).optional(),
  target: z.string().min(1).max(1000).optional(),
  actor: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.coerce.number().int().positive().optional(),
});

/** The audit log route. */
export function auditRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();

  app.get("/audit", requireAuth(s.verifier, "read"), validate("query", Query), (c) => {
    const q = c.req.valid("query");
    const entries = listAudit(s.db, { ...q, before: q.cursor });
    const next = entries.length === q.limit ? entries.at(-1)!.id : null;
    return c.json({ entries, next_cursor: next });
  });

  return app;
}
