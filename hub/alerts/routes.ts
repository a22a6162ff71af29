/**
 * Alerts over HTTP: list and read (admin, viewer), acknowledge, silence and test-send a webhook
 * (admin; the service audits them). The behaviour is in `service.ts`.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { AlertListQuery, AlertSilence } from "../../shared/protocol/mod.ts";
import { type Env, requireAuth } from "../core/auth.ts";
import type { HubServices } from "../core/services.ts";
import { validate } from "../core/validate.ts";

const IdParam = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
const NameParam = z.object({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/) });
const DeliveryQuery = z.strictObject({
  webhook: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

/** Routes of the alerts feature. */
export function alertRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");

  app.get("/alerts", read, validate("query", AlertListQuery), (c) => {
    return c.json(s.alerts.list(c.req.valid("query")));
  });
  app.get("/alerts/config", read, (c) => c.json(s.alerts.configInfo()));
  app.get("/alerts/deliveries", read, validate("query", DeliveryQuery), (c) => {
    const q = c.req.valid("query");
    return c.json(s.alerts.deliveries(q.webhook, q.limit));
  });
  app.get("/alerts/:id", read, validate("param", IdParam), (c) => {
    return c.json(s.alerts.get(c.req.valid("param").id));
  });
  app.post("/alerts/:id/ack", admin, validate("param", IdParam), async (c) => {
    return c.json(await s.alerts.ack(c.req.valid("param").id, c.get("principal")));
  });
  app.post(
    "/alerts/:id/silence",
    admin,
    validate("param", IdParam),
    validate("json", AlertSilence),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await s.alerts.silence(id, c.req.valid("json").for_s, c.get("principal")));
    },
  );
  app.post("/alerts/webhooks/:name/test", admin, validate("param", NameParam), async (c) => {
    return c.json(await s.alerts.testSend(c.req.valid("param").name, c.get("principal")), 202);
  });
  return app;
}
