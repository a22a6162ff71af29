/**
 * The tasks of one service, newest first: slot, node (a fleet node opens its panel), state chip
 * (running green, complete grey "stopped", failed red), desired state, exit code, Docker's error
 * or message, and age. Shown under the service's row while it is open, re-read live.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { SwarmServiceDetail, SwarmTask } from "../../../shared/protocol/mod.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatTime } from "../../state/format.ts";
import { selectedNode } from "../../state/ui.ts";
import { TaskChip } from "./task_chip.tsx";

const SHOWN = 30;

function NodeCell({ t }: { t: SwarmTask }) {
  const name = t.node_hostname ?? t.node_id?.slice(0, 10);
  if (!name) return <span class="mute">unassigned</span>;
  if (!t.fleet_node_id) return <span>{name}</span>;
  const id = t.fleet_node_id;
  return (
    <button
      type="button"
      class="link"
      onClick={(e) => {
        e.stopPropagation();
        selectedNode.value = id;
      }}
      title="Open the node's panel"
    >
      {name}
    </button>
  );
}

function chipTitle(t: SwarmTask): string {
  const parts = [`docker state: ${t.state}`];
  if (t.exit_code !== null) parts.push(`exit ${t.exit_code}`);
  if (t.phase === "complete") parts.push("a batch task that ended well: stopped, not failed");
  return parts.join(" · ");
}

/** The task table of `d`; tasks the swarm shut down (replaced, scaled away) show on demand. */
export function TaskTable({ d }: { d: SwarmServiceDetail }) {
  const history = useSignal(false);
  if (!d.tasks.length) {
    return <p class="sw-no-tasks mute">No tasks yet: the swarm has not scheduled this service.</p>;
  }
  const hidden = history.value ? 0 : d.tasks.filter((t) => t.phase === "shutdown").length;
  const tasks = d.tasks.filter((t) => history.value || t.phase !== "shutdown").slice(0, SHOWN);
  const toggle = hidden || history.value
    ? (
      <button
        type="button"
        class="link sw-history"
        onClick={(e) => {
          e.stopPropagation();
          history.value = !history.value;
        }}
      >
        {history.value
          ? "Hide shut-down tasks"
          : `Show ${hidden} shut-down task${hidden === 1 ? "" : "s"}`}
      </button>
    )
    : null;
  if (!tasks.length) {
    return (
      <p class="sw-no-tasks mute">
        No current tasks. {toggle}
      </p>
    );
  }
  return (
    <>
      <table class="grid sw-task-table" data-testid="task-table" data-service={d.name}>
        <thead>
          <tr>
            <th>Task</th>
            <th>Node</th>
            <th>State</th>
            <th>Desired</th>
            <th class="right">Exit</th>
            <th>Error / message</th>
            <th class="right">Since</th>
          </tr>
        </thead>
        <tbody>
          {tasks.map((t) => (
            <tr
              key={t.id}
              data-testid="task-row"
              data-task-id={t.id}
              data-phase={t.phase}
              class={`phase-${t.phase}`}
            >
              <td class="num mono-cell">
                {t.slot !== null ? `${d.name}.${t.slot}` : d.name}
                <span class="mute">· {t.id.slice(0, 8)}</span>
              </td>
              <td>
                <NodeCell t={t} />
              </td>
              <td>
                <TaskChip phase={t.phase} state={t.state} title={chipTitle(t)} />
              </td>
              <td class="mute">{t.desired_state}</td>
              <td class={`num right${t.exit_code ? " bad-text" : ""}`} data-testid="task-exit">
                {t.exit_code ?? <span class="mute">—</span>}
              </td>
              <td class="sw-task-msg">
                {t.error
                  ? <span class="bad-text" data-testid="task-error" title={t.error}>{t.error}</span>
                  : <span class="mute" title={t.message}>{t.message}</span>}
              </td>
              <td class="num right" title={formatTime(t.updated_at)}>
                {formatAge(t.updated_at, now.value)} ago
              </td>
            </tr>
          ))}
        </tbody>
        {d.tasks.length - hidden > SHOWN
          ? (
            <tfoot>
              <tr>
                <td colSpan={7} class="mute">
                  {d.tasks.length - hidden - SHOWN} older tasks not shown
                </td>
              </tr>
            </tfoot>
          )
          : null}
      </table>
      {toggle}
    </>
  );
}
