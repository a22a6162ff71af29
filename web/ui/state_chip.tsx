/**
 * State chips for jobs and roamers, coloured like the canvas: green ok / running, cyan active,
 * amber transitional or waiting, red failed, grey cancelled or idle. Transitional states pulse
 * gently so a wall screen shows what is moving. The tone helpers are exported for rows and bars
 * that colour themselves the same way.
 *
 * @module
 */
import type { JobState, RoamerState } from "../../shared/protocol/mod.ts";
import { Icon } from "./icon.tsx";

/** A colour family (`.tone-<name>` in CSS). */
export type Tone = "ok" | "active" | "wait" | "bad" | "off";

const JOB_TONES: Record<JobState, Tone> = {
  pending: "wait",
  claimed: "active",
  running: "ok",
  done: "ok",
  failed: "bad",
  cancelled: "off",
};
const JOB_MOVING: ReadonlySet<JobState> = new Set(["claimed", "running"]);

const ROAMER_TONES: Record<RoamerState, Tone> = {
  IDLE: "off",
  ASSIGNED: "active",
  PROVISIONING: "wait",
  RUNNING: "ok",
  CLEANUP: "wait",
  FAILED: "bad",
};
const ROAMER_MOVING: ReadonlySet<RoamerState> = new Set(["ASSIGNED", "PROVISIONING", "CLEANUP"]);

/** The tone of a job state. */
export function jobTone(s: JobState): Tone {
  return JOB_TONES[s] ?? "off";
}

/** The tone of a roamer state. */
export function roamerTone(s: RoamerState): Tone {
  return ROAMER_TONES[s] ?? "off";
}

function Chip({ tone, moving, label, testid, check }: {
  tone: Tone;
  moving: boolean;
  label: string;
  testid: string;
  check?: boolean;
}) {
  return (
    <span class={`chip state tone-${tone}${moving ? " moving" : ""}`} data-testid={testid}>
      {check
        ? (
          <span class="state-check">
            <Icon name="check" size={11} />
          </span>
        )
        : <i class="state-dot" />}
      {label}
    </span>
  );
}

/** A job's state: `pending`, `running`, `done` … */
export function JobStateChip({ state }: { state: JobState }) {
  return (
    <Chip
      tone={jobTone(state)}
      moving={JOB_MOVING.has(state)}
      label={state}
      testid="job-state"
      check={state === "done"}
    />
  );
}

/** A roamer's state: `IDLE`, `PROVISIONING`, `RUNNING` … */
export function RoamerStateChip({ state }: { state: RoamerState }) {
  return (
    <Chip
      tone={roamerTone(state)}
      moving={ROAMER_MOVING.has(state)}
      label={state}
      testid="roamer-state"
    />
  );
}
