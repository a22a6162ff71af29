/**
 * `GET /healthz` (public: is the hub up and its database answering) and `GET /api/v1/hub/stats`
 * (the hub's own numbers: memory, clients, drops, commits).
 *
 * @module
 */
import { Hono } from "hono";
import type { HubStats } from "../../shared/protocol/mod.ts";
import { VERSION } from "../../shared/version.ts";
import { type Principal, requireAuth } from "../auth.ts";
import { countSamples } from "../store/samples.ts";
import type { HubServices } from "../services.ts";

/** `GET /healthz`. */
export function healthRoutes(s: HubServices): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    s.db.get("SELECT 1");
    return c.json({ ok: true, version: VERSION });
  });
  return app;
}

/** `GET /api/v1/hub/stats`. */
export function statsRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  app.get("/hub/stats", requireAuth(s.verifier, "read"), (c) => {
    const stats: HubStats = {
      version: VERSION,
      boot_id: s.bus.bootId,
      uptime_s: Math.round((Date.now() - s.startedAt) / 1000),
      rss_b: Deno.memoryUsage().rss,
      nodes: s.fleet.size,
      sse_clients: s.sse.clients,
      sse_dropped: s.sse.dropped,
      samples_stored: countSamples(s.db),
      commit_batches: s.db.commitBatches,
      last_event_id: s.bus.lastId,
    };
    return c.json(stats);
  });
  return app;
}
