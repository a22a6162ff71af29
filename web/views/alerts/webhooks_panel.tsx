/**
 * Webhooks and rules of fleet.yml: per webhook its target (scheme, host and port only), body
 * format, whether it signs, its delivered / failed / pending counts and the last delivery with its
 * error, and a test send (admins); then the rules in force.
 *
 * @module
 */
import type { AlertConfigInfo, DeliveryInfo } from "../../../shared/protocol/mod.ts";
import { formatAge, now } from "../../state/clock.ts";
import { testWebhook } from "../../state/alerts.ts";
import { isAdmin } from "../../state/session.ts";
import { act } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { deliveryTone, severityTone } from "./alert_format.ts";

function LastDelivery({ d }: { d: DeliveryInfo | null }) {
  if (!d) return <span class="mute">nothing sent yet</span>;
  return (
    <div
      class="last-delivery"
      data-testid="last-delivery"
      data-state={d.state}
      data-event={d.event}
    >
      <span class={`chip state tone-${deliveryTone(d.state)}`}>
        <i class="state-dot" />
        {d.state}
      </span>
      <span class="mute">
        {d.event.replace("alert.", "")} · {d.attempts} attempt{d.attempts === 1 ? "" : "s"} ·{" "}
        {formatAge(d.updated_at, now.value)} ago
      </span>
      {d.last_error ? <div class="delivery-error error-text">{d.last_error}</div> : null}
    </div>
  );
}

/** Webhooks and rules. */
export function WebhooksPanel({ config }: { config: AlertConfigInfo }) {
  return (
    <div class="alerts-side">
      <div class="card side-card">
        <h3>Webhooks</h3>
        {config.webhooks.length === 0
          ? (
            <p class="mute">
              None configured: alerts show here and on the canvas only. Add{" "}
              <code>alerts.webhooks</code> to fleet.yml and reload.
            </p>
          )
          : config.webhooks.map((w) => (
            <div class="webhook" data-testid="webhook" data-webhook={w.name}>
              <div class="webhook-head">
                <b>{w.name}</b>
                <span class="chip kind">{w.format}</span>
                {w.signed
                  ? (
                    <span class="chip signed" title="X-Fleet-Signature: sha256=HMAC of the body">
                      signed
                    </span>
                  )
                  : null}
                <span class="spacer" />
                {isAdmin.value
                  ? (
                    <button
                      type="button"
                      class="ghost small"
                      data-testid="webhook-test"
                      onClick={() =>
                        void act(
                          `Test notification queued for ${w.name}`,
                          () => testWebhook(w.name),
                        )}
                    >
                      <Icon name="play" size={11} /> Send test
                    </button>
                  )
                  : null}
              </div>
              <code class="target">{w.target}</code>
              <div class="webhook-counts">
                <span class="ok-text">{w.delivered} delivered</span>
                <span class={w.failed ? "error-text" : "mute"}>{w.failed} failed</span>
                <span class={w.pending ? "warn-text" : "mute"}>{w.pending} pending</span>
              </div>
              <LastDelivery d={w.last} />
            </div>
          ))}
      </div>
      <div class="card side-card">
        <h3>Rules</h3>
        {config.rules.length === 0
          ? (
            <p class="mute">
              No rules: add <code>alerts.rules</code> to fleet.yml and reload.
            </p>
          )
          : (
            <ul class="rule-list">
              {config.rules.map((r) => (
                <li data-rule={r.name}>
                  <span class={`chip state tone-${severityTone(r.severity)}`}>
                    <i class="state-dot" />
                    {r.severity}
                  </span>
                  <div>
                    <b>{r.name}</b> <span class="mute">{r.kind}</span>
                    <div class="mute small">{r.description}</div>
                  </div>
                </li>
              ))}
            </ul>
          )}
      </div>
    </div>
  );
}
