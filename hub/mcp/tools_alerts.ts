/**
 * MCP tools of the alerts feature: list alerts (read-only), the rules and webhooks in force
 * (read-only), acknowledge an alert, silence its notifications for a while, and send a webhook a
 * test notification. Each calls the hub's HTTP API with the caller's token; the hub audits the
 * writes (marked `via: mcp`).
 *
 * @module
 */
import { z } from "zod";
import type { ApiClient } from "../../shared/api_client.ts";
import { ALERT_STATES } from "../../shared/protocol/enums.ts";
import { AlertInfo, AlertRuleInfo, DeliveryInfo, WebhookInfo } from "../../shared/protocol/mod.ts";
import type { AddTool } from "./server.ts";

const AlertRef = z.string().regex(/^[1-9][0-9]{0,15}$/, "an alert id (digits)").describe(
  "alert id as fleet_alerts_list returned it",
);

/** Registers the alert tools. */
export function registerAlertTools(add: AddTool, api: ApiClient): void {
  add({
    name: "fleet_alerts_list",
    title: "Alerts",
    description: "Alerts newest first: what fired (rule, node, sensor/mount), its message and " +
      "reading, when it fired and resolved, who acknowledged it and until when it is silenced. " +
      "state=firing lists what is wrong now.",
    input: {
      state: z.enum(ALERT_STATES).optional().describe("firing or resolved (default both)"),
      node: z.string().min(1).max(64).optional().describe("only this node's alerts"),
      rule: z.string().min(1).max(128).optional().describe("only this rule's alerts"),
      limit: z.number().int().min(1).max(500).default(50),
      cursor: z.string().max(32).optional().describe("next_cursor of the previous page"),
    },
    output: { alerts: z.array(AlertInfo), next_cursor: z.string().nullable() },
    readOnly: true,
    run: async (query) => {
      const page = await api.alerts(query);
      const firing = page.alerts.filter((a) => a.state === "firing").length;
      const newest = page.alerts[0];
      return {
        summary: `${page.alerts.length} alerts (${firing} firing)` +
          (newest ? `; newest: ${newest.state} ${newest.rule}: ${newest.message}` : ""),
        data: page,
      };
    },
  });

  add({
    name: "fleet_alert_config",
    title: "Alert rules and webhooks",
    description: "The alert rules of fleet.yml and the webhooks with their delivered, failed " +
      "and pending counts and last delivery (a failing receiver shows its error here).",
    input: {},
    output: { rules: z.array(AlertRuleInfo), webhooks: z.array(WebhookInfo) },
    readOnly: true,
    run: async () => {
      const config = await api.alertConfig();
      const failing = config.webhooks.filter((w) => w.last?.state === "failed").map((w) => w.name);
      return {
        summary: `${config.rules.length} rules, ${config.webhooks.length} webhooks` +
          (failing.length ? `; last delivery failed: ${failing.join(", ")}` : ""),
        data: config,
      };
    },
  });

  add({
    name: "fleet_alert_ack",
    title: "Acknowledge an alert",
    description: "Marks an alert as seen (by this token). It keeps firing until its condition " +
      "clears; acknowledging again changes nothing. Audited.",
    input: { alert: AlertRef },
    output: { alert: AlertInfo },
    readOnly: false,
    idempotent: true,
    run: async ({ alert }) => {
      const a = await api.ackAlert(alert);
      return {
        summary: `alert ${a.id} (${a.rule}) acknowledged by ${a.acked_by}`,
        data: { alert: a },
      };
    },
  });

  add({
    name: "fleet_alert_silence",
    title: "Silence an alert's notifications",
    description: "Stops webhook notifications for the alert's rule and subject (e.g. gpu-hot on " +
      "agx-01 GPU) for for_s seconds; it still fires, resolves and stays in the history. for_s " +
      "0 lifts the silence. Audited.",
    input: {
      alert: AlertRef,
      for_s: z.number().int().min(0).max(30 * 86_400).describe(
        "seconds, 60 to 2592000 (30 days); 0 lifts the silence",
      ),
    },
    output: { alert: AlertInfo },
    readOnly: false,
    idempotent: true,
    run: async ({ alert, for_s }) => {
      const a = await api.silenceAlert(alert, for_s);
      return {
        summary: a.silenced_until
          ? `notifications of ${a.rule} on ${a.node_id ?? "the fleet"} silenced until ${
            new Date(a.silenced_until).toISOString()
          }`
          : `silence of ${a.rule} lifted`,
        data: { alert: a },
      };
    },
  });

  add({
    name: "fleet_alert_webhook_test",
    title: "Send a webhook a test notification",
    description: "Queues a test notification to one webhook of fleet.yml; its delivery (with " +
      "retries) shows in fleet_alert_config. Audited.",
    input: { webhook: z.string().min(1).max(64).describe("webhook name from fleet_alert_config") },
    output: { delivery: DeliveryInfo },
    readOnly: false,
    run: async ({ webhook }) => {
      const d = await api.testWebhook(webhook);
      return { summary: `test notification ${d.id} queued for ${webhook}`, data: { delivery: d } };
    },
  });
}
