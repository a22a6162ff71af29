/**
 * The roamer pool: every roamer with its live state (pushed by `roamer.state` events through the
 * `roamers` signal — no polling), its node's health, its assignment and the admin's actions:
 * Assign… (enabled on IDLE roamers; a busy one says why) opens the assign dialog, Release hands
 * it back to the pool.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { RoamerState } from "../../shared/protocol/mod.ts";
import { ROAMER_STATES } from "../../shared/protocol/enums.ts";
import { api } from "../state/api.ts";
import { isAdmin } from "../state/session.ts";
import { loadRoamers, queueError, roamers } from "../state/queue.ts";
import { act } from "../state/ui.ts";
import { Icon } from "../ui/icon.tsx";
import { confirmDialog } from "../ui/modal.tsx";
import { RoamerStateChip } from "../ui/state_chip.tsx";
import { RoamerRow } from "./roamers/roamer_row.tsx";
import { AssignDialog } from "./roamers/assign_dialog.tsx";

// Where each state's count stands: busy roamers first, the idle pool last. A record, so a state
// added to the protocol fails the type check until it has a place.
const COUNT_ORDER: Record<RoamerState, number> = {
  RUNNING: 0,
  PROVISIONING: 1,
  ASSIGNED: 2,
  CLEANUP: 3,
  FAILED: 4,
  IDLE: 5,
};
const STATES = [...ROAMER_STATES].sort((a, b) => COUNT_ORDER[a] - COUNT_ORDER[b]);

const EXAMPLE = `roamers:
  nodes: [agx-04, agx-05, agx-06]`;

async function release(id: string, state: RoamerState): Promise<void> {
  if (state === "RUNNING" || state === "PROVISIONING") {
    const ok = await confirmDialog({
      title: `Release ${id}?`,
      body: "The roamer stops taking jobs for its assignment, cleans up and returns to the pool.",
      confirm: "Release",
      danger: true,
    });
    if (!ok) return;
  }
  await act(
    `Release of ${id} requested`,
    () => api.releaseRoamer(id),
  );
}

/** The roamers view. */
export function RoamersView() {
  const loaded = useSignal(Object.keys(roamers.peek()).length > 0);
  const assigning = useSignal<string | null>(null);
  useEffect(() => {
    void loadRoamers().finally(() => (loaded.value = true));
  }, []);
  const list = Object.values(roamers.value).sort((a, b) =>
    a.node_id.localeCompare(b.node_id, undefined, { numeric: true })
  );
  const admin = isAdmin.value;

  if (!list.length) {
    if (!loaded.value) {
      return (
        <div class="view empty" data-testid="roamers-view" data-state="loading">
          <span class="spinner" />
          Loading the roamer pool…
        </div>
      );
    }
    if (queueError.value) {
      return (
        <div class="view empty" data-testid="roamers-view" data-state="error">
          <Icon name="alert" size={28} />
          <h2>Could not load the roamer pool</h2>
          <p class="error-text">{queueError.value}</p>
          <button type="button" onClick={() => void loadRoamers()}>Try again</button>
        </div>
      );
    }
    return (
      <div class="view empty" data-testid="roamers-view" data-state="empty">
        <Icon name="roamers" size={32} />
        <h2>The roamer pool is empty</h2>
        <p>
          Roamers are spare nodes lent to a cluster when its queue grows, then cleaned and returned.
          List them in fleet.yml:
        </p>
        <pre class="snippet">{EXAMPLE}</pre>
      </div>
    );
  }

  const counts = new Map<RoamerState, number>();
  for (const r of list) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return (
    <div class="view" data-testid="roamers-view" data-state="ready">
      <div class="view-head">
        <div>
          <h2>Roamer pool</h2>
          <p class="view-sub">
            <span class="num">{list.length}</span>{" "}
            roamers — lent to clusters when their queues grow, cleaned and returned when done.
          </p>
        </div>
        <div class="state-counts" data-testid="roamer-counts">
          {STATES.filter((s) => counts.get(s)).map((s) => (
            <span class="state-count" key={s}>
              <RoamerStateChip state={s} />
              <b class="num">{counts.get(s)}</b>
            </span>
          ))}
        </div>
      </div>
      <div class="card table-card">
        <table class="grid roamer-table">
          <thead>
            <tr>
              <th>Node</th>
              <th>State</th>
              <th>Assignment</th>
              <th>Mode</th>
              <th>Detail</th>
              {admin ? <th class="actions-cell" /> : null}
            </tr>
          </thead>
          <tbody>
            {list.map((r) => (
              <RoamerRow
                key={r.node_id}
                r={r}
                onAssign={admin ? () => (assigning.value = r.node_id) : undefined}
                onRelease={admin ? () => void release(r.node_id, r.state) : undefined}
              />
            ))}
          </tbody>
        </table>
      </div>
      {assigning.value && admin
        ? <AssignDialog nodeId={assigning.value} onClose={() => (assigning.value = null)} />
        : null}
    </div>
  );
}
