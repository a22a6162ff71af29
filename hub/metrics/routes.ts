/**
 * `GET /metrics`: Prometheus text (0.0.4), or OpenMetrics 1.0 when the scraper asks for it in
 * `Accept`. Admin, viewer and `metrics` tokens; a `metrics` token reads nothing else.
 *
 * @module
 */
import { Hono } from "hono";
import { type Env, requireAuth } from "../core/auth.ts";
import type { HubServices } from "../core/services.ts";
import { CONTENT_TYPES } from "./exposition.ts";
import { scrape } from "./service.ts";
import { firingCount, liveJobCounts } from "./store.ts";

/** The `/metrics` route. */
export function metricsRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  app.get("/metrics", requireAuth(s.verifier, "metrics"), (c) => {
    const format = /application\/openmetrics-text/i.test(c.req.header("accept") ?? "")
      ? "openmetrics"
      : "prometheus";
    const body = scrape({
      metrics: s.metrics,
      startedAt: s.startedAt,
      nodes: () => s.fleet.list(),
      sseClients: () => s.sse.clients,
      sseDropped: () => s.sse.dropped,
      agentSessions: () => s.agents.size,
      terminals: () => s.terminals.size,
      jobs: () => liveJobCounts(s.db),
      alertsFiring: () => firingCount(s.db),
      ingestRefused: () => s.nodes.gate.refused,
    }, format);
    return c.body(body, 200, {
      "content-type": CONTENT_TYPES[format],
      "cache-control": "no-store",
    });
  });
  return app;
}
