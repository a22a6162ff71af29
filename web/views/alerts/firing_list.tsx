/**
 * The alerts firing now, worst first: what, where, since when, who acknowledged it and until when
 * it is silenced, with Acknowledge and Silence (admins). A click on the node opens its details.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { AlertInfo } from "../../../shared/protocol/mod.ts";
import { formatAge, now } from "../../state/clock.ts";
import { ackAlert, SILENCE_CHOICES, silenceAlert } from "../../state/alerts.ts";
import { isAdmin } from "../../state/session.ts";
import { act, selectedNode } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { alertTarget, byUrgency, severityTone } from "./alert_format.ts";

function SilenceMenu({ alert }: { alert: AlertInfo }) {
  const open = useSignal(false);
  const silenced = alert.silenced_until !== null && alert.silenced_until > now.value;
  return (
    <div class="silence-menu">
      <button
        type="button"
        class="ghost"
        onClick={() => (open.value = !open.value)}
        data-testid="alert-silence"
      >
        <Icon name="clock" size={13} /> {silenced ? "Silenced" : "Silence"}
        <Icon name="chevron-down" size={12} />
      </button>
      {open.value
        ? (
          <div class="silence-choices" role="menu">
            {SILENCE_CHOICES.map((c) => (
              <button
                type="button"
                role="menuitem"
                data-silence={c.s}
                onClick={() => {
                  open.value = false;
                  void act(
                    `Notifications for ${alert.rule} on ${
                      alertTarget(alert)
                    } silenced for ${c.label}`,
                    () => silenceAlert(alert.id, c.s),
                  );
                }}
              >
                {c.label}
              </button>
            ))}
            {silenced
              ? (
                <button
                  type="button"
                  role="menuitem"
                  class="lift"
                  onClick={() => {
                    open.value = false;
                    void act("Silence lifted", () => silenceAlert(alert.id, 0));
                  }}
                >
                  Lift the silence
                </button>
              )
              : null}
          </div>
        )
        : null}
    </div>
  );
}

function FiringRow({ alert }: { alert: AlertInfo }) {
  const t = now.value;
  const silenced = alert.silenced_until !== null && alert.silenced_until > t;
  return (
    <div
      class={`firing-row tone-${severityTone(alert.severity)}${alert.acked_at ? " acked" : ""}`}
      data-testid="firing-alert"
      data-alert-id={alert.id}
      data-rule={alert.rule}
      data-node-id={alert.node_id ?? ""}
    >
      <span class="sev-bar" />
      <div class="firing-main">
        <div class="firing-title">
          <span class="chip state sev">
            <i class="state-dot" />
            {alert.severity}
          </span>
          <b>{alert.rule}</b>
          {alert.node_id
            ? (
              <button
                type="button"
                class="node-link"
                onClick={() => (selectedNode.value = alert.node_id)}
              >
                {alertTarget(alert)}
              </button>
            )
            : <span class="mute">{alertTarget(alert)}</span>}
        </div>
        <div class="firing-msg">{alert.message}</div>
        <div class="firing-meta mute">
          <span>firing for {formatAge(alert.fired_at, t)}</span>
          {alert.acked_at
            ? (
              <span class="acked-by" data-testid="acked-by">
                <Icon name="check" size={12} /> acknowledged by {alert.acked_by}{" "}
                {formatAge(alert.acked_at, t)} ago
              </span>
            )
            : null}
          {silenced
            ? (
              <span class="silenced" data-testid="silenced">
                <Icon name="clock" size={12} /> silenced for {formatAge(t, alert.silenced_until!)}
                {" "}
                by {alert.silenced_by}
              </span>
            )
            : null}
        </div>
      </div>
      {isAdmin.value
        ? (
          <div class="firing-actions">
            {alert.acked_at ? null : (
              <button
                type="button"
                onClick={() => void act(`${alert.rule} acknowledged`, () => ackAlert(alert.id))}
                data-testid="alert-ack"
              >
                <Icon name="check" size={13} /> Acknowledge
              </button>
            )}
            <SilenceMenu alert={alert} />
          </div>
        )
        : null}
    </div>
  );
}

/** The firing alerts. */
export function FiringList({ alerts }: { alerts: AlertInfo[] }) {
  if (alerts.length === 0) {
    return (
      <div class="all-clear" data-testid="all-clear">
        <Icon name="check" size={20} />
        <div>
          <b>All clear</b>
          <span class="mute">No rule is firing. Resolved alerts stay in the history below.</span>
        </div>
      </div>
    );
  }
  return (
    <div class="firing-list">
      {[...alerts].sort(byUrgency).map((a) => <FiringRow key={a.id} alert={a} />)}
    </div>
  );
}
