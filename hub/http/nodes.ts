/**
 * `GET /api/v1/nodes/:id`, `DELETE /api/v1/nodes/:id` and `GET /api/v1/nodes/:id/metrics`
 * (history from raw samples or 1-minute rollups, chosen by range and step).
 *
 * @module
 */
import { Hono } from "hono";
import {
  MetricsQuery,
  type MetricsResponse,
  NodeId,
  RecoveryReport,
} from "../../shared/protocol/mod.ts";
import { parseDuration } from "../../shared/duration.ts";
import { type Principal, requireAuth } from "../auth.ts";
import { BadInput, Forbidden, NotFound } from "../errors.ts";
import { deleteNode, getNodeRow, setRecovery } from "../store/nodes.ts";
import { seriesFromRaw, seriesFromRollups } from "../store/samples.ts";
import { revokeNodeTokens } from "../store/tokens.ts";
import type { HubServices } from "../services.ts";
import { validate } from "./validate.ts";
import { z } from "zod";

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
export function nodeRoutes(s: HubServices): Hono<{ Variables: { principal: Principal } }> {
  const app = new Hono<{ Variables: { principal: Principal } }>();
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
