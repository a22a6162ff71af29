/**
 * The Services tab: every live service of the swarm with its replicas (running / desired, as a
 * bar), its tasks' outcomes (failed red, complete grey "stopped"), drift from its catalog
 * definition, a rolling update's state and an action in flight; a row opens to its tasks. Admins
 * scale, update, restart and stop; everyone reads logs.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { SwarmService } from "../../../shared/protocol/mod.ts";
import { isAdmin } from "../../state/session.ts";
import {
  converged,
  loadServices,
  openServices,
  pending,
  type PendingAction,
  serviceDetails,
  swarmErrors,
  swarmServices,
  toggleService,
} from "../../state/swarm.ts";
import { Icon } from "../../ui/icon.tsx";
import { replicaTone } from "./task_chip.tsx";
import { TaskTable } from "./task_table.tsx";
import { ScaleDialog, UpdateDialog } from "./service_dialogs.tsx";
import { ServiceLogs } from "./service_logs.tsx";
import { restartService, stopService } from "./service_actions.ts";
import { openTab } from "./swarm_tabs.ts";

type Dialog = { kind: "scale" | "update" | "logs"; s: SwarmService };

function Replicas({ s }: { s: SwarmService }) {
  const desired = s.replicas_desired;
  const p = pending.value[s.name];
  // On its way (an action in flight) is amber, not red; a batch service whose tasks all ended
  // well is grey, like its tasks.
  const tone = p?.state === "working" && s.replicas_running < (desired ?? 0)
    ? "wait"
    : s.replicas_running === 0 && s.tasks_complete > 0 && !s.tasks_failed
    ? "off"
    : replicaTone(s.replicas_running, desired);
  const pct = desired ? Math.min(100, (s.replicas_running / desired) * 100) : 0;
  return (
    <div class={`sw-replicas tone-${tone}`} data-testid="replicas">
      <span class="num">
        <b data-testid="replicas-running">{s.replicas_running}</b>
        <span class="mute">/{desired ?? "global"}</span>
      </span>
      {desired !== null
        ? (
          <div class="sw-rbar">
            <i style={{ width: `${pct}%` }} />
          </div>
        )
        : null}
    </div>
  );
}

function TaskCounts({ s }: { s: SwarmService }) {
  return (
    <span class="sw-counts">
      {s.tasks_failed
        ? (
          <span
            class="chip state tone-bad"
            data-testid="failed-count"
            title="tasks that exited non-zero"
          >
            <i class="state-dot" />
            {s.tasks_failed} failed
          </span>
        )
        : null}
      {s.tasks_complete
        ? (
          <span class="chip state tone-off" title="tasks that exited 0: stopped, not failed">
            <i class="state-dot" />
            {s.tasks_complete} stopped
          </span>
        )
        : null}
      {!s.tasks_failed && !s.tasks_complete ? <span class="mute">—</span> : null}
    </span>
  );
}

function Progress({ p, s }: { p: PendingAction; s: SwarmService }) {
  if (p.state === "done") {
    return (
      <span class="sw-progress done" data-testid="service-progress" data-state="done">
        <Icon name="check" size={13} />{" "}
        {p.action === "scale" ? `scaled to ${p.target}` : `${p.action} done`}
      </span>
    );
  }
  if (p.state === "stuck") {
    return (
      <span
        class="sw-progress stuck"
        data-testid="service-progress"
        data-state="stuck"
        title={`${p.label} · ${p.detail}`}
      >
        <Icon name="alert" size={13} /> {p.label} · {p.detail}
      </span>
    );
  }
  const target = p.target ?? s.replicas_desired ?? 0;
  return (
    <span class="sw-progress working" data-testid="service-progress" data-state="working">
      <span class="spinner small" /> {p.label}
      {target ? <span class="mute num">· {s.replicas_running}/{target}</span> : null}
    </span>
  );
}

function Status({ s }: { s: SwarmService }) {
  const p = pending.value[s.name];
  return (
    <div class="sw-status">
      {p ? <Progress p={p} s={s} /> : null}
      {s.drift
        ? (
          <button
            type="button"
            class="chip sw-drift"
            data-testid="drift-chip"
            title="The live service differs from its catalog definition: open the diff"
            onClick={(e) => {
              e.stopPropagation();
              openTab("catalog", s.catalog ?? s.name);
            }}
          >
            <Icon name="alert" size={11} /> drift
          </button>
        )
        : null}
      {s.update_state && s.update_state !== "completed"
        ? (
          <span
            class={`chip sw-update ${s.update_state}`}
            title={s.update_message ?? s.update_state}
            data-testid="update-state"
          >
            update {s.update_state.replace("_", " ")}
          </span>
        )
        : null}
      {!p && !s.drift && (!s.update_state || s.update_state === "completed")
        ? <span class="mute">—</span>
        : null}
    </div>
  );
}

function ServiceRow({ s, open, onDialog }: {
  s: SwarmService;
  open: boolean;
  onDialog: (d: Dialog) => void;
}) {
  const admin = isAdmin.value;
  const detail = serviceDetails.value[s.name];
  const stop = (e: Event) => e.stopPropagation();
  return (
    <>
      <tr
        class={open ? "clickable open" : "clickable"}
        data-testid="service-row"
        data-service={s.name}
        data-running={s.replicas_running}
        data-desired={s.replicas_desired ?? ""}
        onClick={() => toggleService(s.name)}
        tabIndex={0}
        onKeyDown={(e) => {
          if (e.key === "Enter") toggleService(s.name);
        }}
      >
        <td class="sw-name">
          <span class={open ? "sw-caret open" : "sw-caret"}>
            <Icon name="chevron-down" size={14} />
          </span>
          <b>{s.name}</b>
          {s.stack ? <span class="chip sw-stack" title="stack">{s.stack}</span> : null}
          {s.mode !== "replicated"
            ? <span class="chip sw-mode" title="service mode">{s.mode}</span>
            : null}
          {s.catalog
            ? (
              <button
                type="button"
                class="chip sw-cat"
                title="Open its catalog definition"
                onClick={(e) => {
                  stop(e);
                  openTab("catalog", s.catalog);
                }}
              >
                catalog
              </button>
            )
            : null}
        </td>
        <td class="sw-image">
          <code class="image" title={s.image}>{s.image.replace(/@sha256:[a-f0-9]+$/, "")}</code>
        </td>
        <td>
          <Replicas s={s} />
        </td>
        <td>
          <TaskCounts s={s} />
        </td>
        <td>
          <Status s={s} />
        </td>
        <td class="actions-cell" onClick={stop}>
          {admin && s.replicas_desired !== null && s.mode === "replicated"
            ? (
              <button
                type="button"
                onClick={() => onDialog({ kind: "scale", s })}
                data-testid="service-scale"
              >
                Scale
              </button>
            )
            : null}
          {admin
            ? (
              <button
                type="button"
                onClick={() => onDialog({ kind: "update", s })}
                data-testid="service-update"
              >
                Update
              </button>
            )
            : null}
          <button
            type="button"
            onClick={() => onDialog({ kind: "logs", s })}
            data-testid="service-logs"
          >
            Logs
          </button>
          {admin
            ? (
              <>
                <button
                  type="button"
                  class="ghost icon"
                  title="Restart: recreate every task"
                  aria-label="Restart"
                  onClick={() => void restartService(s.name)}
                  data-testid="service-restart"
                >
                  <Icon name="refresh" size={15} />
                </button>
                <button
                  type="button"
                  class="ghost icon sw-stop"
                  title={s.catalog
                    ? "Stop: remove from the swarm (the catalog keeps its definition)"
                    : "Stop: remove from the swarm"}
                  aria-label="Stop"
                  onClick={() => void stopService(s.name, !!s.catalog)}
                  data-testid="service-stop"
                >
                  <Icon name="stop" size={15} />
                </button>
              </>
            )
            : null}
        </td>
      </tr>
      {open
        ? (
          <tr class="sw-detail-row">
            <td colSpan={6}>
              {detail ? <TaskTable d={detail} /> : (
                <div class="mute sw-loading">
                  <span class="spinner small" /> Reading tasks…
                </div>
              )}
            </td>
          </tr>
        )
        : null}
    </>
  );
}

/** The services tab. */
export function ServicesTab() {
  const dialog = useSignal<Dialog | null>(null);
  const query = useSignal("");
  const problems = useSignal(false);
  const list = swarmServices.value;
  const err = swarmErrors.value.services;
  if (!list) {
    return err
      ? (
        <div class="card empty-state table-empty" data-state="error">
          <Icon name="alert" size={26} />
          <h3>Could not read the services</h3>
          <p class="error-text">{err}</p>
          <button type="button" onClick={() => void loadServices()}>Try again</button>
        </div>
      )
      : (
        <div class="card empty-state table-empty" data-state="loading">
          <span class="spinner" /> Reading the swarm's services…
        </div>
      );
  }
  const q = query.value.trim().toLowerCase();
  const troubled = (s: SwarmService) => !!s.tasks_failed || !!s.drift || !converged(s);
  const shown = list.filter((s) =>
    (!q || s.name.toLowerCase().includes(q) || s.image.toLowerCase().includes(q) ||
      (s.stack ?? "").toLowerCase().includes(q)) && (!problems.value || troubled(s))
  );
  const sorted = shown.sort((a, b) =>
    (a.stack ?? "").localeCompare(b.stack ?? "") || a.name.localeCompare(b.name)
  );
  const d = dialog.value;
  return (
    <div data-testid="services-tab">
      {list.length > 1
        ? (
          <div class="filter-bar">
            <Icon name="search" size={15} />
            <input
              type="search"
              placeholder="Filter by name, image or stack"
              value={query.value}
              onInput={(e) => (query.value = (e.target as HTMLInputElement).value)}
              aria-label="Filter services"
            />
            <label class="inline sw-only-problems">
              <input
                type="checkbox"
                checked={problems.value}
                onChange={(e) => (problems.value = (e.target as HTMLInputElement).checked)}
              />
              only failing, drifted or not converged
            </label>
            <span class="filter-count mute">
              <span class="num">{sorted.length}</span> of <span class="num">{list.length}</span>
              {" "}
              services
            </span>
          </div>
        )
        : null}
      {err
        ? (
          <div class="inline-error" role="alert">
            <Icon name="alert" size={14} /> {err}
          </div>
        )
        : null}
      <div class="card table-card">
        {sorted.length
          ? (
            <table class="grid sw-service-table">
              <thead>
                <tr>
                  <th>Service</th>
                  <th>Image</th>
                  <th>Replicas</th>
                  <th>Ended tasks</th>
                  <th>Status</th>
                  <th class="actions-cell" />
                </tr>
              </thead>
              <tbody>
                {sorted.map((s) => (
                  <ServiceRow
                    key={s.id}
                    s={s}
                    open={openServices.value.has(s.name)}
                    onDialog={(x) => (dialog.value = x)}
                  />
                ))}
              </tbody>
            </table>
          )
          : list.length
          ? (
            <div class="empty-state table-empty" data-state="empty">
              <Icon name="filter" size={26} />
              <h3>No services match</h3>
              <button
                type="button"
                onClick={() => {
                  query.value = "";
                  problems.value = false;
                }}
              >
                Clear the filter
              </button>
            </div>
          )
          : (
            <div class="empty-state table-empty" data-state="empty">
              <Icon name="swarm" size={30} />
              <h3>No services run in the swarm</h3>
              <p>Deploy a definition from the Catalog tab, or a compose file from Stacks.</p>
              <button type="button" onClick={() => openTab("catalog")}>Open the catalog</button>
            </div>
          )}
      </div>
      {d?.kind === "scale" ? <ScaleDialog s={d.s} onClose={() => (dialog.value = null)} /> : null}
      {d?.kind === "update" ? <UpdateDialog s={d.s} onClose={() => (dialog.value = null)} /> : null}
      {d?.kind === "logs"
        ? <ServiceLogs name={d.s.name} onClose={() => (dialog.value = null)} />
        : null}
    </div>
  );
}
