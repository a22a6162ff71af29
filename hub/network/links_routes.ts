/**
 * Link quality routes: `GET /network/links` (every node's current link, worst first) and
 * `GET /network/links/:id/history?from&to` (one row per minute). Read-only: any viewer.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { LinkHistoryQuery, NodeId } from "../../shared/protocol/mod.ts";
import { type Env, requireAuth } from "../core/auth.ts";
import type { HubServices } from "../core/services.ts";
import { validate } from "../core/validate.ts";
import { BadInput } from "../core/errors.ts";

const Params = z.object({ id: NodeId });

/** Longest history one request may ask for (the minute rows of 31 days). */
const MAX_SPAN_MS = 31 * 24 * 3600_000;

/** Routes of link quality. */
export function linkRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");

  app.get("/network/links", read, (c) => c.json(s.links.list()));

  app.get(
    "/network/links/:id/history",
    read,
    validate("param", Params),
    validate("query", LinkHistoryQuery),
    (c) => {
      const q = c.req.valid("query");
      const to = q.to ?? Date.now() + 60_000;
      const from = q.from ?? to - 3600_000 - 60_000;
      if (from >= to) throw new BadInput("from: must be before to");
      if (to - from > MAX_SPAN_MS) throw new BadInput("from: at most 31 days before to");
      return c.json(s.links.history(c.req.valid("param").id, from, to));
    },
  );
  return app;
}
