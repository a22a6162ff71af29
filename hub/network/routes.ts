/**
 * The network tools' HTTP routes: LAN scans, port scans and WAN checks from a node (admin; each
 * audited), the stored scans (read), cancelling one, and a node's sockets (read). Each handler
 * validates, calls `NetworkScans` and answers.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  LanScanRequest,
  NodeId,
  PortScanRequest,
  ScanListQuery,
  WanCheckRequest,
} from "../../shared/protocol/mod.ts";
import { type Env, requireAuth } from "../core/auth.ts";
import type { HubServices } from "../core/services.ts";
import { validate } from "../core/validate.ts";

const ScanParam = z.object({ id: z.string().regex(/^[a-z0-9-]{1,64}$/, "id: a scan id") });
const NodeParam = z.object({ id: NodeId });
const LatestQuery = z.strictObject({ kind: z.enum(["lan", "port", "wan"]) });

/** Routes of the network tools. */
export function networkRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");

  app.post("/network/scans", admin, validate("json", LanScanRequest), async (c) => {
    const body = c.req.valid("json");
    const scan = await s.network.lan(body, c.get("principal"));
    return c.json(scan, body.wait ? 200 : 202);
  });

  app.post("/network/port-scans", admin, validate("json", PortScanRequest), async (c) => {
    const body = c.req.valid("json");
    const scan = await s.network.port(body, c.get("principal"));
    return c.json(scan, body.wait ? 200 : 202);
  });

  app.post("/network/wan-checks", admin, validate("json", WanCheckRequest), async (c) => {
    const body = c.req.valid("json");
    const scan = await s.network.wan(body, c.get("principal"));
    return c.json(scan, body.wait ? 200 : 202);
  });

  app.get("/network/scans", read, validate("query", ScanListQuery), (c) => {
    return c.json(s.network.list(c.req.valid("query")));
  });

  app.get("/network/scans/:id", read, validate("param", ScanParam), (c) => {
    return c.json(s.network.get(c.req.valid("param").id));
  });

  app.post("/network/scans/:id/cancel", admin, validate("param", ScanParam), async (c) => {
    return c.json(await s.network.cancel(c.req.valid("param").id, c.get("principal")));
  });

  app.get(
    "/nodes/:id/network/latest",
    read,
    validate("param", NodeParam),
    validate("query", LatestQuery),
    (c) => c.json(s.network.latest(c.req.valid("param").id, c.req.valid("query").kind)),
  );

  app.get("/nodes/:id/connections", read, validate("param", NodeParam), async (c) => {
    return c.json(await s.network.connections(c.req.valid("param").id));
  });

  return app;
}
