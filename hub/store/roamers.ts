/**
 * The `roamers` table: each roamer's state and assignment. Transitions are guarded by the state
 * they start from, so an illegal one changes nothing and the caller can answer 409.
 *
 * @module
 */
import type { Database } from "./db.ts";
import type { AssignMode, RoamerState } from "../../shared/protocol/mod.ts";

/** A row of `roamers`. */
export interface RoamerRow {
  node_id: string;
  state: RoamerState;
  cluster: string | null;
  template: string | null;
  mode: AssignMode | null;
  until: number | null;
  assigned_by: string | null;
  assigned_at: number | null;
  release_requested: number;
  state_at: number;
  detail: string | null;
}

/**
 * Which reported states may follow which (the agent drives PROVISIONING → RUNNING → CLEANUP →
 * IDLE; the hub drives IDLE → ASSIGNED and releases).
 */
export const REPORTED_FROM: Record<string, readonly RoamerState[]> = {
  PROVISIONING: ["ASSIGNED", "PROVISIONING"],
  RUNNING: ["PROVISIONING"],
  CLEANUP: ["ASSIGNED", "PROVISIONING", "RUNNING"],
  IDLE: ["CLEANUP"],
  FAILED: ["ASSIGNED", "PROVISIONING", "RUNNING", "CLEANUP"],
};

/** Creates rows for roamers not yet known (from fleet.yml). */
export function ensureRoamers(db: Database, ids: readonly string[], now: number): void {
  for (const id of ids) {
    db.run(
      "INSERT OR IGNORE INTO roamers (node_id, state, state_at) VALUES (?, 'IDLE', ?)",
      id,
      now,
    );
  }
}

/** Every roamer row. */
export function listRoamerRows(db: Database): RoamerRow[] {
  return db.all<RoamerRow>("SELECT * FROM roamers ORDER BY node_id");
}

/** One roamer row. */
export function getRoamerRow(db: Database, id: string): RoamerRow | undefined {
  return db.get<RoamerRow>("SELECT * FROM roamers WHERE node_id = ?", id);
}

/** IDLE → ASSIGNED; `undefined` unless the roamer was IDLE. */
export function assignRoamer(
  db: Database,
  id: string,
  a: {
    cluster: string | null;
    template: string | null;
    mode: AssignMode;
    until: number | null;
    by: string;
  },
  now: number,
): RoamerRow | undefined {
  return db.get<RoamerRow>(
    `UPDATE roamers SET state = 'ASSIGNED', cluster = ?, template = ?, mode = ?, until = ?,
            assigned_by = ?, assigned_at = ?, release_requested = 0, state_at = ?, detail = NULL
     WHERE node_id = ? AND state = 'IDLE' RETURNING *`,
    a.cluster,
    a.template,
    a.mode,
    a.until,
    a.by,
    now,
    now,
    id,
  );
}

/**
 * Releases a roamer: one that never started goes straight back to IDLE (so does a FAILED one,
 * which is the operator's acknowledgement); one that is provisioning or running is asked to clean
 * up. `undefined` when there is nothing to release.
 */
export function releaseRoamer(
  db: Database,
  id: string,
  reason: string,
  now: number,
): RoamerRow | undefined {
  return db.get<RoamerRow>(
    `UPDATE roamers SET
       state = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN 'IDLE' ELSE state END,
       cluster = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN NULL ELSE cluster END,
       template = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN NULL ELSE template END,
       mode = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN NULL ELSE mode END,
       release_requested = CASE WHEN state IN ('PROVISIONING', 'RUNNING') THEN 1 ELSE 0 END,
       state_at = CASE WHEN state IN ('ASSIGNED', 'FAILED') THEN ? ELSE state_at END,
       detail = ?
     WHERE node_id = ? AND (state IN ('ASSIGNED', 'FAILED')
       OR (state IN ('PROVISIONING', 'RUNNING') AND release_requested = 0))
     RETURNING *`,
    now,
    reason,
    id,
  );
}

/** A state the roamer reports; `undefined` when the transition is not allowed from its state. */
export function reportRoamer(
  db: Database,
  id: string,
  state: RoamerState,
  detail: string | null,
  now: number,
): RoamerRow | undefined {
  const from = REPORTED_FROM[state] ?? [];
  const idle = state === "IDLE";
  return db.get<RoamerRow>(
    `UPDATE roamers SET state = ?, state_at = ?, detail = ?,
       release_requested = CASE WHEN ? THEN 0 ELSE release_requested END,
       cluster = CASE WHEN ? THEN NULL ELSE cluster END,
       template = CASE WHEN ? THEN NULL ELSE template END,
       mode = CASE WHEN ? THEN NULL ELSE mode END
     WHERE node_id = ? AND state IN (SELECT value FROM json_each(?)) RETURNING *`,
    state,
    now,
    detail,
    idle ? 1 : 0,
    idle ? 1 : 0,
    idle ? 1 : 0,
    idle ? 1 : 0,
    id,
    JSON.stringify(from),
  );
}
