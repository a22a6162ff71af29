/**
 * `GET /api/v1/fleet` (snapshot) and `GET /api/v1/fleet/events` (the live SSE stream).
 *
 * @module
 */
import { Hono } from "hono";
import {
  type FleetSnapshot,
  type IngestAck,
  IngestBatch,
  Layout,
  MetricsQuery,
  type MetricsResponse,
  NodeId,
  RecoveryReport,
  type TemplateInfo,
} from "../../shared/protocol/mod.ts";
import { VERSION } from "../../shared/version.ts";
import { callingNode, type Env, requireAuth } from "../core/auth.ts";
import type { HubServices } from "../core/services.ts";
import { parseDuration } from "../../shared/duration.ts";
import { BadInput, Forbidden, NotFound } from "../core/errors.ts";
import {
  deleteNode,
  getLayout,
  getNodeRow,
  putLayout,
  seriesFromRaw,
  seriesFromRollups,
  setRecovery,
  storeBatch,
} from "./store.ts";
import { revokeNodeTokens } from "../core/store.ts";
import { validate } from "../core/validate.ts";
import { z } from "zod";
import { skewSeconds } from "./service.ts";

/** Routes for the fleet snapshot and stream. */
export function fleetRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");

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

  return app;
}

/** Most buckets one metrics answer may hold. */
const MAX_BUCKETS = 10_000;
/** Buckets aimed for when no step is given (about one per screen pixel of a wide chart). */
const AUTO_BUCKETS = 720;

/** Earliest time a query may name (2000-01-01): anything before is a typo or a unit mix-up. */
export const EARLIEST_QUERY_TIME = Date.UTC(2000, 0, 1);
/** How far past the hub's clock a query may reach (a browser's clock may run ahead). */
export const QUERY_FUTURE_MS = 86_400_000;

/**
 * Reads a time: ms since the epoch, ISO 8601, `now`, or `now-1h` / `-1h`. Refuses, naming
 * `field`, a time before 2000 or more than a day after `now`.
 */
export function parseTime(text: string, now: number, field: string): number {
  const t = text.trim();
  let parsed = Number.NaN;
  if (/^\d+$/.test(t)) parsed = Number(t);
  else if (t === "now") parsed = now;
  else {
    const rel = /^(?:now)?-(.+)$/.exec(t);
    const ms = rel ? parseDuration(rel[1]) : undefined;
    parsed = ms !== undefined ? now - ms : Date.parse(t);
  }
  if (Number.isNaN(parsed)) {
    throw new BadInput(`${field}: not a time: ${JSON.stringify(text)}`, [
      { path: field, message: "use ms since the epoch, ISO 8601, 'now' or a relative '-1h'" },
    ]);
  }
  if (!(parsed >= EARLIEST_QUERY_TIME && parsed <= now + QUERY_FUTURE_MS)) {
    throw new BadInput(
      `${field}: ${JSON.stringify(text)} is out of range: give a time after 2000-01-01 and ` +
        "at most a day from now",
      [{ path: field, message: "before 2000-01-01 or more than a day from now" }],
    );
  }
  return parsed;
}

const Params = z.object({ id: NodeId });

/** Routes for one node. */
export function nodeRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");

  const rowOr404 = (id: string) => {
    const row = getNodeRow(s.db, id);
    if (!row) throw new NotFound(`no node ${id}: see GET /api/v1/fleet for the known nodes`);
    return row;
  };

  app.get("/nodes/:id", read, validate("param", Params), (c) => {
    return c.json(s.fleet.summary(rowOr404(c.req.valid("param").id)));
  });

  app.delete("/nodes/:id", admin, validate("param", Params), async (c) => {
    const { id } = c.req.valid("param");
    rowOr404(id);
    const now = Date.now();
    const revoked = await s.db.write((tx) => {
      const ids = revokeNodeTokens(tx, id, now);
      deleteNode(tx, id);
      return ids;
    });
    s.verifier.invalidate();
    // Its agent's control socket (and anything else its tokens opened) ends now.
    for (const t of revoked) s.connections.closeToken(t, `node ${id} was deleted`);
    s.fleet.removed(id);
    return c.body(null, 204);
  });

  app.post(
    "/nodes/:id/recovery",
    requireAuth(s.verifier, "node"),
    validate("param", Params),
    validate("json", RecoveryReport),
    async (c) => {
      const { id } = c.req.valid("param");
      if (c.get("principal").node_id !== id) {
        throw new Forbidden(`this token belongs to node ${c.get("principal").node_id}, not ${id}`);
      }
      const steps = c.req.valid("json").steps;
      const recovery = { at: Date.now(), ok: steps.every((st) => st.ok), steps };
      await s.db.write((tx) => setRecovery(tx, id, recovery));
      s.bus.publish({ type: "node.recovery", node_id: id, recovery });
      return c.json(recovery);
    },
  );

  app.get(
    "/nodes/:id/metrics",
    read,
    validate("param", Params),
    validate("query", MetricsQuery),
    (c) => {
      const { id } = c.req.valid("param");
      rowOr404(id);
      const q = c.req.valid("query");
      const now = Date.now();
      const to = q.to === undefined ? now : parseTime(q.to, now, "to");
      let from = q.from === undefined ? to - 3_600_000 : parseTime(q.from, now, "from");
      if (from >= to) {
        throw new BadInput("from must be before to", [{ path: "from", message: "after to" }]);
      }
      // Nothing older than the longest retention is kept: start there, so the answer's range
      // and step describe data that can exist (a range wholly before it: one empty bucket).
      const kept = now - Math.max(s.config.rawRetentionMs, s.config.rollupRetentionMs);
      from = Math.min(Math.max(from, kept), to);
      const span = to - from;
      let stepS = q.step ?? Math.max(5, Math.ceil(span / 1000 / AUTO_BUCKETS));
      const rawCovers = from >= now - s.config.rawRetentionMs;
      const source = stepS < 60 && rawCovers ? "raw" : "rollup";
      if (source === "rollup") stepS = Math.max(60, Math.ceil(stepS / 60) * 60);
      const stepMs = stepS * 1000;
      // Align buckets to the step so consecutive requests line up.
      const start = Math.floor(from / stepMs) * stepMs;
      const buckets = Math.ceil((to - start) / stepMs);
      if (buckets > MAX_BUCKETS) {
        throw new BadInput(`${buckets} buckets is too many: raise step or shorten the range`, [
          { path: "step", message: `at most ${MAX_BUCKETS} buckets per answer` },
        ]);
      }
      const data = source === "raw"
        ? seriesFromRaw(s.db, id, start, to, stepMs)
        : seriesFromRollups(s.db, id, start, to, stepMs);
      const body: MetricsResponse = {
        node_id: id,
        from: start,
        to,
        step_s: stepS,
        source,
        ts: data.ts,
        series: data.series,
      };
      return c.json(body);
    },
  );

  return app;
}

/** Routes for agents pushing samples. */
export function ingestRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
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
    const nodeId = callingNode(c.get("principal"));
    return c.json({ node_id: nodeId, last_seq: getNodeRow(s.db, nodeId)?.last_seq ?? 0 });
  });

  return app;
}

/** Routes for the layout and templates. */
export function layoutRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
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
