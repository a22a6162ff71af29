/**
 * How alerts read in the UI: severity tones, the subject line, and what a delivery's state says.
 *
 * @module
 */
import type { AlertInfo, DeliveryInfo } from "../../../shared/protocol/mod.ts";
import type { Tone } from "../../ui/state_chip.tsx";

/** The tone of a severity. */
export function severityTone(s: AlertInfo["severity"]): Tone {
  return s === "critical" ? "bad" : s === "warning" ? "wait" : "active";
}

/** The tone of a delivery state. */
export function deliveryTone(s: DeliveryInfo["state"]): Tone {
  return s === "delivered" ? "ok" : s === "failed" ? "bad" : "wait";
}

/** What the alert is about: `agx-01 · GPU`, or the rule's scope. */
export function alertTarget(a: AlertInfo): string {
  return [a.node_id, a.subject].filter(Boolean).join(" · ") || "fleet";
}

/** Worst severity first, then newest. */
export function byUrgency(a: AlertInfo, b: AlertInfo): number {
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  return rank[a.severity] - rank[b.severity] || Number(b.id) - Number(a.id);
}
