/**
 * The alerts firing on one node, at the top of its details panel: severity, rule, message and
 * how long it has fired; a link opens the Alerts view. Nothing when none fires.
 *
 * @module
 */
import { firingByNode } from "../../state/alerts.ts";
import { formatAge, now } from "../../state/clock.ts";
import { go } from "../../state/ui.ts";
import { Section } from "../node_panel/section.tsx";
import { severityTone } from "./alert_format.ts";

/** The node's firing alerts. */
export function NodeAlerts({ id }: { id: string }) {
  const alerts = firingByNode.value.get(id) ?? [];
  if (!alerts.length) return null;
  return (
    <Section
      title="Alerts"
      icon="alerts"
      note={`${alerts.length} firing`}
      testid="panel-alerts"
      tools={
        <button type="button" class="ghost small" onClick={() => go("alerts")}>
          Open alerts
        </button>
      }
    >
      <ul class="node-alerts">
        {alerts.map((a) => (
          <li key={a.id} class={`tone-${severityTone(a.severity)}${a.acked_at ? " acked" : ""}`}>
            <span class="chip state">
              <i class="state-dot" />
              {a.severity}
            </span>
            <div>
              <b>{a.rule}</b>
              <span class="mute">· {formatAge(a.fired_at, now.value)}</span>
              {a.acked_by ? <span class="mute">· acknowledged by {a.acked_by}</span> : null}
              <div class="node-alert-msg">{a.message}</div>
            </div>
          </li>
        ))}
      </ul>
    </Section>
  );
}
