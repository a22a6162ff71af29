/**
 * Swarm routes. For now `GET /api/v1/swarm/join-token` (admin or node token): what a node's boot
 * recovery needs to rejoin. Services, stacks and node operations are not served yet.
 *
 * @module
 */
import { Hono } from "hono";
import { type Env, requireAuth } from "../core/auth.ts";
import { swarmJoinInfo } from "./engine.ts";
import type { HubServices } from "../core/services.ts";

/** Routes for the swarm. */
export function swarmRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  app.get(
    "/swarm/join-token",
    requireAuth(s.verifier, "node_or_admin"),
    async (c) => c.json(await swarmJoinInfo(s.config.dockerSocket)),
  );
  return app;
}
