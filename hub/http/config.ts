/**
 * `POST /api/v1/config/reload` (admin): re-reads fleet.yml and applies its inventory and
 * templates without a restart (SIGHUP does the same). An invalid file is refused with every
 * problem named by line and key; the running config stays.
 *
 * @module
 */
import { Hono } from "hono";
import { type Principal, requireAuth } from "../auth.ts";
import { BadInput } from "../errors.ts";
import { ConfigError } from "../../shared/yaml_config.ts";
import type { HubServices } from "../services.ts";

/** Routes for the configuration. */
export function configRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  app.post("/config/reload", requireAuth(s.verifier, "admin"), async (c) => {
    try {
      return c.json({ reloaded: true, ...(await s.reload()) });
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
