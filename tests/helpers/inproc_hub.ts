/**
 * The hub built in process (no socket, no subprocess) for fast route tests driven with Hono's
 * `app.request()`: a temp data dir with a fleet.yml and a dist dir, the services from the
 * composition root, and a close that ends everything they started.
 *
 * @module
 */
import { join } from "node:path";
import type { Hono } from "hono";
import { buildServices } from "../../hub/core/serve.ts";
import { buildApp } from "../../hub/core/app.ts";
import { loadHubConfig } from "../../hub/core/config.ts";
import type { HubServices } from "../../hub/core/services.ts";

/** The origin requests are addressed to (and the `Origin` a same-origin page sends). */
export const ORIGIN = "http://hub.test";

/** A hub in process. */
export interface InProcessHub {
  services: HubServices;
  app: Hono;
  dir: string;
  fleetYml: string;
  adminToken: string;
}

/** Builds the hub on a temp data dir; a reload re-reads `fleetYml` as `serve`'s does. */
export async function openInProcessHub(prefix: string, fleetYml: string): Promise<InProcessHub> {
  const dir = await Deno.makeTempDir({ prefix });
  const file = join(dir, "fleet.yml");
  await Deno.writeTextFile(file, fleetYml);
  await Deno.mkdir(join(dir, "dist"));
  const flags = {
    "data-dir": join(dir, "data"),
    "dist-dir": join(dir, "dist"),
    config: file,
    port: "0",
    // No Docker engine: the join-token route answers 503 at once, whatever this machine has.
    "docker-socket": join(dir, "no-docker.sock"),
    "log-level": "error",
  };
  const config = await loadHubConfig(flags, {});
  const services = await buildServices(config, () => loadHubConfig(flags, {}));
  // Creates fleet.yml's roamer rows, as `serve` does before it listens.
  await services.roamers.start();
  const adminToken = (await Deno.readTextFile(join(config.dataDir, "admin.token"))).trim();
  return { services, app: buildApp(services), dir, fleetYml: file, adminToken };
}

/** Ends what the hub (and the routes called, e.g. a reload's autoscaler) started. */
export async function closeInProcessHub(hub: InProcessHub): Promise<void> {
  const { services } = hub;
  services.roamers.stop();
  services.terminals.closeAll();
  await services.execs.shutdown();
  services.agents.stop();
  services.sse.close();
  await services.swarm.shutdown();
  await services.verifier.flushUsage();
  services.db.close();
  await Deno.remove(hub.dir, { recursive: true });
}

/** Sends a request to the app in process (JSON body when given). */
export async function send(
  app: Hono,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<Response> {
  const h = new Headers(headers);
  if (body !== undefined) h.set("content-type", "application/json");
  return await app.request(ORIGIN + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
