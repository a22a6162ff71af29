/**
 * `GET /api/v1/fleet` (snapshot) and `GET /api/v1/fleet/events` (the live SSE stream).
 *
 * @module
 */
import { Hono } from "hono";
import type { FleetSnapshot } from "../../shared/protocol/mod.ts";
import { VERSION } from "../../shared/version.ts";
import { type Principal, requireAuth } from "../auth.ts";
import type { HubServices } from "../services.ts";

/** Routes for the fleet snapshot and stream. */
export function fleetRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  const read = requireAuth(s.verifier, "read");

  app.get("/fleet", read, (c) => {
    // Read the event id first: every event up to it is reflected in the node list below.
    const eventId = s.bus.lastId;
    const snapshot: FleetSnapshot = {
      hub: { version: VERSION, boot_id: s.bus.bootId, now: Date.now() },
      event_id: eventId,
      nodes: s.fleet.list(),
    };
    return c.json(snapshot);
  });

  app.get("/fleet/events", read, (c) => {
    const lastId = c.req.header("last-event-id") ?? c.req.query("last_event_id");
    return s.sse.open(lastId || undefined, c.get("principal"));
  });

  return app;
}
