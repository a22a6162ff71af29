/**
 * Alert history: firing and resolved alerts, newest first, filtered by state; each row says what
 * fired, where, when it fired and resolved (and so for how long), and who acknowledged it.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { AlertInfo } from "../../../shared/protocol/mod.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatTime } from "../../state/format.ts";
import { selectedNode } from "../../state/ui.ts";
import { alertTarget, severityTone } from "./alert_format.ts";

type Filter = "all" | "firing" | "resolved";

/** The history table. */
export function HistoryTable({ alerts }: { alerts: AlertInfo[] }) {
  const filter = useSignal<Filter>("all");
  const shown = filter.value === "all" ? alerts : alerts.filter((a) => a.state === filter.value);
  return (
    <div class="card table-card alert-history">
      <div class="history-head">
        <h3>History</h3>
        <div class="segmented" role="tablist">
          {(["all", "firing", "resolved"] as const).map((f) => (
            <button
              type="button"
              role="tab"
              class={filter.value === f ? "on" : ""}
              aria-selected={filter.value === f}
              onClick={() => (filter.value = f)}
              data-filter={f}
            >
              {f}
            </button>
          ))}
        </div>
      </div>
      {shown.length === 0
        ? (
          <div class="empty-state table-empty mute">
            No alerts {filter.value === "all" ? "yet" : filter.value}.
          </div>
        )
        : (
          <table class="grid" data-testid="alert-history">
            <thead>
              <tr>
                <th>state</th>
                <th>rule</th>
                <th>on</th>
                <th>message</th>
                <th>fired</th>
                <th>lasted</th>
                <th>acknowledged</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((a) => (
                <tr key={a.id} data-alert-id={a.id} data-state={a.state}>
                  <td>
                    <span
                      class={`chip state tone-${
                        a.state === "firing" ? severityTone(a.severity) : "off"
                      }`}
                    >
                      <i class="state-dot" />
                      {a.state}
                    </span>
                  </td>
                  <td>
                    <b>{a.rule}</b>
                    <div class="mute small">{a.severity}</div>
                  </td>
                  <td>
                    {a.node_id
                      ? (
                        <button
                          type="button"
                          class="node-link"
                          onClick={() => (selectedNode.value = a.node_id)}
                        >
                          {alertTarget(a)}
                        </button>
                      )
                      : <span class="mute">{alertTarget(a)}</span>}
                  </td>
                  <td class="msg">{a.message}</td>
                  <td class="when">{formatTime(a.fired_at)}</td>
                  <td class="num">
                    {a.resolved_at
                      ? formatAge(a.fired_at, a.resolved_at)
                      : `${formatAge(a.fired_at, now.value)}…`}
                  </td>
                  <td class="mute">{a.acked_by ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
    </div>
  );
}
