/**
 * `POST /api/v1/ingest` (node token): stores a batch of samples durably and acknowledges the
 * highest seq (refusing seqs beyond the node's window, placing samples from a skewed clock on the
 * hub's time), and `GET /api/v1/agent/self`: which node a token belongs to.
 *
 * @module
 */
import { Hono } from "hono";
import { type IngestAck, IngestBatch } from "../../shared/protocol/mod.ts";
import { type Principal, requireAuth } from "../auth.ts";
import { Forbidden } from "../errors.ts";
import { storeBatch } from "../store/samples.ts";
import { getNodeRow } from "../store/nodes.ts";
import { skewSeconds } from "../live/node_status.ts";
import type { HubServices } from "../services.ts";
import { validate } from "./validate.ts";

/** Routes for agents pushing samples. */
export function ingestRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  const asNode = requireAuth(s.verifier, "node");

  app.post("/ingest", asNode, validate("json", IngestBatch), async (c) => {
    const batch = c.req.valid("json");
    const principal = c.get("principal");
    if (batch.node_id !== principal.node_id) {
      throw new Forbidden(
        `this token belongs to node ${principal.node_id}, not ${batch.node_id}: ` +
          "a node may only push its own samples",
      );
    }
    // The receive time: skew is measured against it and stored beside each sample (recv_ts).
    const now = Date.now();
    const policy = {
      maxSkewMs: s.config.maxClockSkewMs,
      rawRetentionMs: s.config.rawRetentionMs,
      rollupRetentionMs: s.config.rollupRetentionMs,
    };
    const stored = await s.db.write((tx) => storeBatch(tx, batch, now, policy));
    s.fleet.ingested(stored, now);
    const ack: IngestAck = {
      node_id: stored.node_id,
      acked_seq: stored.acked_seq,
      stored: stored.stored,
      duplicates: stored.duplicates,
      last_seq: stored.last_seq,
      unknown_keys: stored.unknown_keys,
      clock_skew_s: skewSeconds(stored.clock_skew_ms),
    };
    return c.json(ack);
  });

  app.get("/agent/self", asNode, (c) => {
    const nodeId = c.get("principal").node_id!;
    return c.json({ node_id: nodeId, last_seq: getNodeRow(s.db, nodeId)?.last_seq ?? 0 });
  });

  return app;
}
