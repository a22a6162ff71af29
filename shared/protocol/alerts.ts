/**
 * Alerts: what a rule raised, its acknowledgement and silence, webhook deliveries, and the stream
 * events (`alert.firing`, `alert.resolved`, `alert.updated`, `alert.delivery`).
 *
 * @module
 */
import { z } from "zod";
import { ALERT_KINDS, ALERT_SEVERITIES, ALERT_STATES, DELIVERY_STATES } from "./enums.ts";

/** What a rule watches. */
export const AlertKind = z.enum(ALERT_KINDS);
export type AlertKind = z.infer<typeof AlertKind>;
/** How loud an alert is. */
export const AlertSeverity = z.enum(ALERT_SEVERITIES);
export type AlertSeverity = z.infer<typeof AlertSeverity>;
/** `firing` until its condition clears (with hysteresis), then `resolved` (kept as history). */
export const AlertState = z.enum(ALERT_STATES);
export type AlertState = z.infer<typeof AlertState>;
/** Where one webhook delivery stands. */
export const DeliveryState = z.enum(DELIVERY_STATES);
export type DeliveryState = z.infer<typeof DeliveryState>;

/** One alert: a rule's condition on one subject (a node's sensor, mount, GPU; a cluster …). */
export const AlertInfo = z.object({
  id: z.string(),
  rule: z.string(),
  kind: AlertKind,
  severity: AlertSeverity,
  state: AlertState,
  node_id: z.string().nullable(),
  /** The sensor, mount, GPU index, cluster or roamer state the alert is about. */
  subject: z.string().nullable(),
  /** What a person reads: `agx-01 GPU at 91.5 °C (above 85 °C for 30 s)`. */
  message: z.string(),
  /** The reading that fired it, and the newest one while firing. */
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  fired_at: z.number(),
  resolved_at: z.number().nullable(),
  acked_at: z.number().nullable(),
  acked_by: z.string().nullable(),
  /** Notifications for this rule and subject are held back until then (history is kept). */
  silenced_until: z.number().nullable(),
  silenced_by: z.string().nullable(),
});
export type AlertInfo = z.infer<typeof AlertInfo>;

/** `GET /api/v1/alerts` query. */
export const AlertListQuery = z.strictObject({
  state: AlertState.optional(),
  node: z.string().min(1).max(64).optional(),
  rule: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Alerts older than this id (the previous page's `next_cursor`). */
  cursor: z.coerce.number().int().positive().optional(),
});
export type AlertListQuery = z.infer<typeof AlertListQuery>;

/** `GET /api/v1/alerts` answer, newest first. */
export const AlertPage = z.object({
  alerts: z.array(AlertInfo),
  next_cursor: z.string().nullable(),
});
export type AlertPage = z.infer<typeof AlertPage>;

/** `POST /api/v1/alerts/:id/silence` body. */
export const AlertSilence = z.strictObject({
  /** How long notifications stay held back (60 s – 30 d); 0 lifts the silence. */
  for_s: z.number().int().min(0).max(30 * 86_400).refine((s) => s === 0 || s >= 60, {
    message: "a silence lasts at least 60 s (or 0 to lift it)",
  }),
});
export type AlertSilence = z.infer<typeof AlertSilence>;

/** A rule as fleet.yml sets it, for the UI and MCP. */
export const AlertRuleInfo = z.object({
  name: z.string(),
  kind: AlertKind,
  severity: AlertSeverity,
  description: z.string(),
});
export type AlertRuleInfo = z.infer<typeof AlertRuleInfo>;

/** One attempt series of sending one alert event to one webhook. */
export const DeliveryInfo = z.object({
  id: z.string(),
  webhook: z.string(),
  alert_id: z.string().nullable(),
  /** `firing`, `resolved` or `test`. */
  event: z.string(),
  state: DeliveryState,
  attempts: z.number().int(),
  /** HTTP status of the last attempt (null: no answer). */
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type DeliveryInfo = z.infer<typeof DeliveryInfo>;

/** A webhook of fleet.yml and how its deliveries go (never its URL's secrets or its key). */
export const WebhookInfo = z.object({
  name: z.string(),
  /** Scheme, host and port only: a URL's path may hold a secret (Slack, Discord). */
  target: z.string(),
  format: z.enum(["json", "slack", "discord"]),
  signed: z.boolean(),
  delivered: z.number().int(),
  failed: z.number().int(),
  pending: z.number().int(),
  last: DeliveryInfo.nullable(),
});
export type WebhookInfo = z.infer<typeof WebhookInfo>;

/** `GET /api/v1/alerts/config` answer: the rules and webhooks in force. */
export const AlertConfigInfo = z.object({
  rules: z.array(AlertRuleInfo),
  webhooks: z.array(WebhookInfo),
});
export type AlertConfigInfo = z.infer<typeof AlertConfigInfo>;

/** An alert started or stopped firing, or was acknowledged or silenced. */
export const AlertFiringEvent = z.object({ type: z.literal("alert.firing"), alert: AlertInfo });
export const AlertResolvedEvent = z.object({ type: z.literal("alert.resolved"), alert: AlertInfo });
export const AlertUpdatedEvent = z.object({ type: z.literal("alert.updated"), alert: AlertInfo });
/** A webhook delivery changed state (sent, retrying, failed). */
export const AlertDeliveryEvent = z.object({
  type: z.literal("alert.delivery"),
  delivery: DeliveryInfo,
});
