/**
 * The canvas layout and the template list the UI needs: `GET/PUT /api/v1/layout` (positions per
 * user token kind — a viewer may arrange its own wall screen, which changes nothing in the fleet)
 * and `GET /api/v1/templates`.
 *
 * @module
 */
import { Hono } from "hono";
import { Layout, type TemplateInfo } from "../../shared/protocol/mod.ts";
import { type Principal, requireAuth } from "../auth.ts";
import { getLayout, putLayout } from "../store/layouts.ts";
import type { HubServices } from "../services.ts";
import { validate } from "./validate.ts";

/** Routes for the layout and templates. */
export function layoutRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  const read = requireAuth(s.verifier, "read");

  app.get("/layout", read, (c) => c.json(getLayout(s.db, c.get("principal").kind)));

  app.put("/layout", read, validate("json", Layout), async (c) => {
    const layout = c.req.valid("json");
    const kind = c.get("principal").kind;
    await s.db.write((tx) => putLayout(tx, kind, layout, Date.now()));
    return c.json({ saved: Object.keys(layout.positions).length });
  });

  app.get("/templates", read, (c) => {
    const list: TemplateInfo[] = Object.entries(s.config.inventory.templates).map(([name, t]) => ({
      name,
      executor: t.executor ?? (t.image ? "docker" : "process"),
      image: t.image ?? null,
      command: t.command ?? null,
      gpu: t.gpu,
      startup_s: t.startup_s ?? null,
      timeout_s: t.timeout === undefined ? null : Math.round(t.timeout / 1000),
    }));
    return c.json(list.sort((a, b) => a.name.localeCompare(b.name)));
  });

  return app;
}
