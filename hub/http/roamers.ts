/**
 * The roamer pool and cluster overview over HTTP: `GET /api/v1/roamers`,
 * `POST /api/v1/roamers/:id/assign|release` (admin), `POST /api/v1/roamers/self/state` (the
 * roamer's own node token) and `GET /api/v1/clusters`.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { NodeId, RoamerAssign, RoamerReport } from "../../shared/protocol/mod.ts";
import { type Principal, requireAuth } from "../auth.ts";
import type { HubServices } from "../services.ts";
import { validate } from "./validate.ts";

const Params = z.object({ id: NodeId });

/** Routes for roamers and clusters. */
export function roamerRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");
  const asNode = requireAuth(s.verifier, "node");

  app.get("/roamers", read, (c) => c.json(s.roamers.list()));

  app.get("/clusters", read, (c) => c.json(s.roamers.clusters()));

  app.post("/roamers/self/state", asNode, validate("json", RoamerReport), async (c) => {
    const b = c.req.valid("json");
    return c.json(await s.roamers.report(c.get("principal").node_id!, b.state, b.detail ?? null));
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
