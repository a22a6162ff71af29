/**
 * `GET /healthz` (public: is the hub up and its database answering) and `GET /api/v1/hub/stats`
 * (the hub's own numbers: memory, clients, drops, commits).
 *
 * @module
 */
import { Hono } from "hono";
import type { HubStats } from "../../shared/protocol/mod.ts";
import { VERSION } from "../../shared/version.ts";
import { type Env, requireAuth } from "./auth.ts";
import { countSamples } from "../fleet/store.ts";
import type { HubServices } from "./services.ts";
import { BadInput } from "./errors.ts";
import { ConfigError } from "../../shared/yaml_config.ts";

/** `GET /healthz`. */
export function healthRoutes(s: HubServices): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    s.db.ping();
    return c.json({ ok: true, version: VERSION });
  });
  return app;
}

/** `GET /api/v1/hub/stats`. */
export function statsRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  app.get("/hub/stats", requireAuth(s.verifier, "read"), (c) => {
    const stats: HubStats = {
      version: VERSION,
      boot_id: s.bus.bootId,
      uptime_s: Math.round((Date.now() - s.startedAt) / 1000),
      ...(({ rss, heapUsed, heapTotal, external }) => ({
        rss_b: rss,
        heap_used_b: heapUsed,
        heap_total_b: heapTotal,
        external_b: external,
      }))(Deno.memoryUsage()),
      nodes: s.fleet.size,
      sse_clients: s.sse.clients,
      sse_dropped: s.sse.dropped,
      samples_stored: countSamples(s.db),
      ingest_refused: s.nodes.gate.refused,
      ingest_parse_thread: s.nodes.parser?.state ?? "off",
      commit_batches: s.db.commitBatches,
      last_event_id: s.bus.lastId,
    };
    return c.json(stats);
  });
  return app;
}

/** Routes for the configuration. */
export function configRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  app.post("/config/reload", requireAuth(s.verifier, "admin"), async (c) => {
    try {
      return c.json({ reloaded: true, ...(await s.reload(c.get("principal"))) });
    } catch (error) {
      if (error instanceof ConfigError) {
        const lines = error.message.split("\n");
        throw new BadInput(
          `fleet.yml refused, the running config stays: ${lines[0]}`,
          lines.map((l) => {
            const m = /^(.*?:\d+): (.*)$/.exec(l);
            return { path: m ? m[1] : "fleet.yml", message: m ? m[2] : l };
          }),
        );
      }
      throw error;
    }
  });
  return app;
}
