/**
 * The Alerts view: what fires now (acknowledge, silence), the history, and the webhooks with
 * their delivery status and a test send. Live through the stream's `alert.*` events
 * (`state/alerts.ts`); nothing polls.
 *
 * @module
 */
import { useEffect } from "preact/hooks";
import {
  alertConfig,
  alertHistory,
  alertsError,
  firingAlerts,
  loadAlerts,
  unackedCount,
} from "../../state/alerts.ts";
import { Icon } from "../../ui/icon.tsx";
import { FiringList } from "./firing_list.tsx";
import { HistoryTable } from "./history_table.tsx";
import { WebhooksPanel } from "./webhooks_panel.tsx";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The alerts view. */
export function AlertsView() {
  useEffect(() => void loadAlerts(), []);
  const firing = [...firingAlerts.value.values()];
  const config = alertConfig.value;
  return (
    <div class="view alerts-view" data-testid="alerts-view">
      <div class="view-head">
        <div>
          <h2>Alerts</h2>
          <p class="view-sub">
            {firing.length} firing · {unackedCount.value} not acknowledged · {config
              ? `${plural(config.rules.length, "rule")}, ${
                plural(config.webhooks.length, "webhook")
              }`
              : "…"}
          </p>
        </div>
      </div>
      {alertsError.value
        ? (
          <div class="inline-error" role="alert">
            <Icon name="alert" size={14} /> {alertsError.value}
          </div>
        )
        : null}
      <div class="alerts-layout">
        <div class="alerts-main">
          <h3 class="section-title">Firing now</h3>
          <FiringList alerts={firing} />
          <HistoryTable alerts={alertHistory.value} />
        </div>
        {config ? <WebhooksPanel config={config} /> : null}
      </div>
    </div>
  );
}
