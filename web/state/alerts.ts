/**
 * Alerts in the browser: every firing alert (for the canvas cards and the nav badge), the
 * Alerts view's history page, and the webhooks with their last deliveries. Loaded once after
 * login and on every resync, then kept current by the stream's `alert.*` events; nothing polls.
 *
 * @module
 */
import { computed, signal } from "@preact/signals";
import type { AlertConfigInfo, AlertInfo, DeliveryInfo } from "../../shared/protocol/mod.ts";
import { api } from "./api.ts";

/** Firing alerts by id. */
export const firingAlerts = signal<ReadonlyMap<string, AlertInfo>>(new Map());
/** The newest alerts (firing and resolved), newest first, as the history list shows them. */
export const alertHistory = signal<AlertInfo[]>([]);
/** Rules and webhooks in force, with delivery counts. */
export const alertConfig = signal<AlertConfigInfo | null>(null);
/** The newest webhook deliveries, newest first. */
export const deliveries = signal<DeliveryInfo[]>([]);
/** Why loading failed, if it did. */
export const alertsError = signal<string | null>(null);

/** How many history rows the view keeps. */
const HISTORY_ROWS = 200;
const DELIVERY_ROWS = 50;

/** Firing alerts per node id (cards read theirs). */
export const firingByNode = computed(() => {
  const by = new Map<string, AlertInfo[]>();
  for (const a of firingAlerts.value.values()) {
    if (!a.node_id) continue;
    const list = by.get(a.node_id) ?? [];
    list.push(a);
    by.set(a.node_id, list);
  }
  return by;
});

/** Firing alerts nobody acknowledged yet (the nav badge). */
export const unackedCount = computed(() =>
  [...firingAlerts.value.values()].filter((a) => a.acked_at === null).length
);

/** Loads firing alerts, history, config and deliveries (after login and each resync). */
export async function loadAlerts(): Promise<void> {
  try {
    const [firing, history, config, recent] = await Promise.all([
      api.alerts({ state: "firing", limit: 1000 }),
      api.alerts({ limit: HISTORY_ROWS }),
      api.alertConfig(),
      api.alertDeliveries({ limit: DELIVERY_ROWS }),
    ]);
    firingAlerts.value = new Map(firing.alerts.map((a) => [a.id, a]));
    alertHistory.value = history.alerts;
    alertConfig.value = config;
    deliveries.value = recent;
    alertsError.value = null;
  } catch (err) {
    alertsError.value = (err as Error).message;
  }
}

/** Applies an `alert.firing`, `alert.resolved` or `alert.updated` event. */
export function applyAlert(alert: AlertInfo): void {
  const firing = new Map(firingAlerts.value);
  if (alert.state === "firing") firing.set(alert.id, alert);
  else firing.delete(alert.id);
  firingAlerts.value = firing;
  const list = alertHistory.value.filter((a) => a.id !== alert.id);
  const at = list.findIndex((a) => Number(a.id) < Number(alert.id));
  list.splice(at < 0 ? list.length : at, 0, alert);
  alertHistory.value = list.slice(0, HISTORY_ROWS);
}

/** Applies an `alert.delivery` event (and the webhook's counts). */
export function applyDelivery(d: DeliveryInfo): void {
  const prev = deliveries.value.find((x) => x.id === d.id);
  deliveries.value = [d, ...deliveries.value.filter((x) => x.id !== d.id)]
    .sort((a, b) => Number(b.id) - Number(a.id)).slice(0, DELIVERY_ROWS);
  const config = alertConfig.value;
  if (!config) return;
  const count = (s: DeliveryInfo["state"] | undefined, k: "delivered" | "failed" | "pending") =>
    s === undefined ? 0 : k === "pending" ? +(s === "pending" || s === "retrying") : +(s === k);
  alertConfig.value = {
    ...config,
    webhooks: config.webhooks.map((w) =>
      w.name !== d.webhook ? w : {
        ...w,
        last: !w.last || Number(d.id) >= Number(w.last.id) ? d : w.last,
        delivered: w.delivered + count(d.state, "delivered") - count(prev?.state, "delivered"),
        failed: w.failed + count(d.state, "failed") - count(prev?.state, "failed"),
        pending: w.pending + count(d.state, "pending") - count(prev?.state, "pending"),
      }
    ),
  };
}

/** Silence lengths the view offers (seconds). */
export const SILENCE_CHOICES: readonly { label: string; s: number }[] = [
  { label: "15 min", s: 900 },
  { label: "1 hour", s: 3600 },
  { label: "4 hours", s: 4 * 3600 },
  { label: "24 hours", s: 86_400 },
  { label: "7 days", s: 7 * 86_400 },
];

/** Acknowledges an alert (the stream brings the change to every browser). */
export function ackAlert(id: string): Promise<AlertInfo> {
  return api.ackAlert(id);
}

/** Silences an alert's rule and subject for `s` seconds (0 lifts it). */
export function silenceAlert(id: string, s: number): Promise<AlertInfo> {
  return api.silenceAlert(id, s);
}

/** Sends a test notification to a webhook. */
export function testWebhook(name: string): Promise<DeliveryInfo> {
  return api.testWebhook(name);
}
