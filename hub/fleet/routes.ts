/**
 * The fleet's HTTP routes: the snapshot and its live SSE stream, one node, its metrics history,
 * recovery reports, node removal, ingest from agents and the canvas layouts. Each handler
 * validates, calls the fleet's services (`service.ts`, `nodes.ts`) and answers.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import {
  type FleetSnapshot,
  IngestBatch,
  Layout,
  MetricsQuery,
  NodeId,
  RecoveryReport,
} from "../../shared/protocol/mod.ts";
import { VERSION } from "../../shared/version.ts";
import { callingNode, type Env, requireAuth } from "../core/auth.ts";
import type { HubServices } from "../core/services.ts";
import { usedAsParsed, validate } from "../core/validate.ts";
import { sampleTexts } from "./sample_text.ts";
import { Overloaded, refuse } from "./admission.ts";

const Params = z.object({ id: NodeId });

/** Routes of the fleet feature. */
export function fleetRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");
  const asNode = requireAuth(s.verifier, "node");

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

  app.get("/nodes/:id", read, validate("param", Params), (c) => {
    return c.json(s.nodes.summary(c.req.valid("param").id));
  });

  app.delete("/nodes/:id", admin, validate("param", Params), async (c) => {
    await s.nodes.remove(c.req.valid("param").id, c.get("principal"));
    return c.body(null, 204);
  });

  app.post(
    "/nodes/:id/recovery",
    asNode,
    validate("param", Params),
    validate("json", RecoveryReport),
    async (c) => {
      const caller = callingNode(c.get("principal"));
      const { id } = c.req.valid("param");
      return c.json(await s.nodes.reportRecovery(caller, id, c.req.valid("json")));
    },
  );

  app.get(
    "/nodes/:id/metrics",
    read,
    validate("param", Params),
    validate("query", MetricsQuery),
    (c) => c.json(s.nodes.metrics(c.req.valid("param").id, c.req.valid("query"))),
  );

  // Before the body is read: a batch beyond the in-flight bound costs neither memory nor parsing.
  const admit: MiddlewareHandler<Env> = async (c, next) => {
    const length = Number(c.req.header("content-length"));
    const bytes = length > 0 ? length : s.config.maxBodyBytes;
    try {
      s.nodes.gate.enter(bytes);
    } catch (error) {
      if (!(error instanceof Overloaded)) throw error;
      return refuse(c.req.raw, error);
    }
    try {
      await next();
    } finally {
      s.nodes.gate.leave(bytes);
    }
  };

  const checkBatch = validate("json", IngestBatch, { markAsParsed: true });
  app.post("/ingest", asNode, admit, checkBatch, async (c) => {
    const caller = callingNode(c.get("principal"));
    const batch = c.req.valid("json");
    // Each sample's own text from the body (already read), when zod did not rewrite the batch.
    const texts = usedAsParsed(batch) ? sampleTexts(await c.req.text()) : undefined;
    return c.json(await s.nodes.ingest(caller, batch, texts));
  });

  app.get("/agent/self", asNode, (c) => {
    const nodeId = callingNode(c.get("principal"));
    return c.json({ node_id: nodeId, last_seq: s.nodes.lastSeq(nodeId) });
  });

  app.get("/layout", read, (c) => c.json(s.nodes.layout(c.get("principal").kind)));

  // Not audited: a token kind's own canvas arrangement, which changes nothing in the fleet.
  app.put("/layout", read, validate("json", Layout), async (c) => {
    const saved = await s.nodes.saveLayout(c.get("principal").kind, c.req.valid("json"));
    return c.json({ saved });
  });

  return app;
}
