/**
 * The SQL of alerts: firing and resolved rows (history), silences by rule and subject, and
 * webhook deliveries.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type {
  AlertInfo,
  AlertListQuery,
  DeliveryInfo,
  DeliveryState,
} from "../../shared/protocol/mod.ts";
import type { FireSpec } from "./engine.ts";

interface AlertRow {
  id: number;
  key: string;
  rule: string;
  kind: AlertInfo["kind"];
  severity: AlertInfo["severity"];
  state: AlertInfo["state"];
  node_id: string | null;
  subject: string | null;
  message: string;
  value: number | null;
  threshold: number | null;
  fired_at: number;
  resolved_at: number | null;
  acked_at: number | null;
  acked_by: string | null;
  s_until: number | null;
  s_by: string | null;
}

const SELECT = `SELECT a.*, s.until AS s_until, s.by_name AS s_by FROM alerts a
  LEFT JOIN alert_silences s ON s.key = a.key AND s.until > ?`;

function info(r: AlertRow): AlertInfo {
  return {
    id: String(r.id),
    rule: r.rule,
    kind: r.kind,
    severity: r.severity,
    state: r.state,
    node_id: r.node_id,
    subject: r.subject,
    message: r.message,
    value: r.value,
    threshold: r.threshold,
    fired_at: r.fired_at,
    resolved_at: r.resolved_at,
    acked_at: r.acked_at,
    acked_by: r.acked_by,
    silenced_until: r.s_until,
    silenced_by: r.s_by,
  };
}

/** Inserts a firing alert (inside a write); `undefined` when its key already fires. */
export function insertFiring(db: Database, spec: FireSpec, now: number): AlertInfo | undefined {
  const row = db.get<{ id: number }>(
    `INSERT INTO alerts (key, rule, kind, severity, state, node_id, subject, message, value,
       threshold, fired_at) VALUES (?, ?, ?, ?, 'firing', ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING RETURNING id`,
    spec.key,
    spec.rule,
    spec.kind,
    spec.severity,
    spec.node_id,
    spec.subject,
    spec.message,
    spec.value,
    spec.threshold,
    now,
  );
  return row ? getAlert(db, row.id, now) : undefined;
}

/** Resolves the firing alert of `key` (inside a write); `undefined` when none fires. */
export function resolveFiring(
  db: Database,
  key: string,
  value: number | null,
  message: string,
  now: number,
): AlertInfo | undefined {
  const row = db.get<{ id: number }>(
    `UPDATE alerts SET state = 'resolved', resolved_at = ?, value = coalesce(?, value),
       message = message || ' — resolved: ' || ?
     WHERE key = ? AND state = 'firing' RETURNING id`,
    now,
    value,
    message,
    key,
  );
  return row ? getAlert(db, row.id, now) : undefined;
}

/** Keys and last values of every firing alert. */
export function firingKeys(db: Database): { key: string; value: number | null }[] {
  return db.all("SELECT key, value FROM alerts WHERE state = 'firing'");
}

/** One alert. */
export function getAlert(db: Database, id: number, now = Date.now()): AlertInfo | undefined {
  const r = db.get<AlertRow>(`${SELECT} WHERE a.id = ?`, now, id);
  return r ? info(r) : undefined;
}

/** The key of an alert. */
export function alertKeyOf(db: Database, id: number): string | undefined {
  return db.get<{ key: string }>("SELECT key FROM alerts WHERE id = ?", id)?.key;
}

/** Alerts newest first, filtered. */
export function listAlerts(db: Database, q: AlertListQuery, now = Date.now()): AlertInfo[] {
  const where: string[] = [];
  const params: (string | number)[] = [now];
  if (q.state) {
    where.push("a.state = ?");
    params.push(q.state);
  }
  if (q.node) {
    where.push("a.node_id = ?");
    params.push(q.node);
  }
  if (q.rule) {
    where.push("a.rule = ?");
    params.push(q.rule);
  }
  if (q.cursor) {
    where.push("a.id < ?");
    params.push(q.cursor);
  }
  const sql = `${SELECT} ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY a.id DESC LIMIT ?`;
  return db.all<AlertRow>(sql, ...params, q.limit).map(info);
}

/** Every firing alert (the canvas cards show them). */
export function listFiring(db: Database, now = Date.now()): AlertInfo[] {
  return db.all<AlertRow>(`${SELECT} WHERE a.state = 'firing' ORDER BY a.id`, now).map(info);
}

/** Acknowledges an alert (inside a write); false when there is none. */
export function ackAlert(db: Database, id: number, by: string, now: number): boolean {
  return db.run(
    "UPDATE alerts SET acked_at = coalesce(acked_at, ?), acked_by = coalesce(acked_by, ?) WHERE id = ?",
    now,
    by,
    id,
  ).changes > 0;
}

/** Silences a key until `until` (0 lifts it), inside a write. */
export function setSilence(
  db: Database,
  key: string,
  until: number,
  by: string,
  now: number,
): void {
  if (until <= now) {
    db.run("DELETE FROM alert_silences WHERE key = ?", key);
    return;
  }
  db.run(
    `INSERT INTO alert_silences (key, until, by_name, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET until = excluded.until, by_name = excluded.by_name,
       created_at = excluded.created_at`,
    key,
    until,
    by,
    now,
  );
}

/** Whether `key` is silenced at `now`. */
export function isSilenced(db: Database, key: string, now: number): boolean {
  return db.get("SELECT 1 AS x FROM alert_silences WHERE key = ? AND until > ?", key, now) !==
    undefined;
}

/** Prunes resolved alerts, finished deliveries and expired silences older than `before`. */
export function pruneAlerts(db: Database, before: number, now: number): number {
  let n = db.run("DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?", before).changes;
  n += db.run(
    "DELETE FROM alert_deliveries WHERE state IN ('delivered', 'failed') AND updated_at < ?",
    before,
  ).changes;
  db.run("DELETE FROM alert_silences WHERE until < ?", now);
  return n;
}

interface DeliveryRow {
  id: number;
  webhook: string;
  alert_id: number | null;
  event: string;
  payload: string;
  state: DeliveryState;
  attempts: number;
  next_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/** A delivery with its stored payload, as the sender needs it. */
export interface StoredDelivery {
  info: DeliveryInfo;
  payload: string;
  next_at: number | null;
}

function delivery(r: DeliveryRow): StoredDelivery {
  return {
    info: {
      id: String(r.id),
      webhook: r.webhook,
      alert_id: r.alert_id === null ? null : String(r.alert_id),
      event: r.event,
      state: r.state,
      attempts: r.attempts,
      last_status: r.last_status,
      last_error: r.last_error,
      created_at: r.created_at,
      updated_at: r.updated_at,
    },
    payload: r.payload,
    next_at: r.next_at,
  };
}

/** Queues a delivery (inside a write). */
export function insertDelivery(
  db: Database,
  d: { webhook: string; alert_id: number | null; event: string; payload: string },
  now: number,
): StoredDelivery {
  const r = db.get<DeliveryRow>(
    `INSERT INTO alert_deliveries (webhook, alert_id, event, payload, state, next_at, created_at,
       updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?) RETURNING *`,
    d.webhook,
    d.alert_id,
    d.event,
    d.payload,
    now,
    now,
    now,
  )!;
  return delivery(r);
}

/** Records an attempt's outcome (inside a write). */
export function updateDelivery(
  db: Database,
  id: number,
  u: {
    state: DeliveryState;
    attempts: number;
    next_at: number | null;
    last_status: number | null;
    last_error: string | null;
  },
  now: number,
): StoredDelivery | undefined {
  const r = db.get<DeliveryRow>(
    `UPDATE alert_deliveries SET state = ?, attempts = ?, next_at = ?, last_status = ?,
       last_error = ?, updated_at = ? WHERE id = ? RETURNING *`,
    u.state,
    u.attempts,
    u.next_at,
    u.last_status,
    u.last_error,
    now,
    id,
  );
  return r ? delivery(r) : undefined;
}

/** Deliveries still to send (after a restart too). */
export function openDeliveries(db: Database): StoredDelivery[] {
  return db.all<DeliveryRow>(
    "SELECT * FROM alert_deliveries WHERE state IN ('pending', 'retrying') ORDER BY id",
  ).map(delivery);
}

/** Deliveries newest first, optionally of one webhook. */
export function listDeliveries(
  db: Database,
  webhook: string | undefined,
  limit: number,
): DeliveryInfo[] {
  const rows = webhook
    ? db.all<DeliveryRow>(
      "SELECT * FROM alert_deliveries WHERE webhook = ? ORDER BY id DESC LIMIT ?",
      webhook,
      limit,
    )
    : db.all<DeliveryRow>("SELECT * FROM alert_deliveries ORDER BY id DESC LIMIT ?", limit);
  return rows.map((r) => delivery(r).info);
}

/** Per webhook: delivered, failed and open counts, and the newest delivery. */
export function webhookCounts(
  db: Database,
  webhook: string,
): { delivered: number; failed: number; pending: number; last: DeliveryInfo | null } {
  const counts = db.all<{ state: DeliveryState; n: number }>(
    "SELECT state, count(*) AS n FROM alert_deliveries WHERE webhook = ? GROUP BY state",
    webhook,
  );
  const n = (s: DeliveryState) => counts.find((c) => c.state === s)?.n ?? 0;
  const last = db.get<DeliveryRow>(
    "SELECT * FROM alert_deliveries WHERE webhook = ? ORDER BY id DESC LIMIT 1",
    webhook,
  );
  return {
    delivered: n("delivered"),
    failed: n("failed"),
    pending: n("pending") + n("retrying"),
    last: last ? delivery(last).info : null,
  };
}

/** One delivery with its payload. */
export function getDelivery(db: Database, id: number): StoredDelivery | undefined {
  const r = db.get<DeliveryRow>("SELECT * FROM alert_deliveries WHERE id = ?", id);
  return r ? delivery(r) : undefined;
}
