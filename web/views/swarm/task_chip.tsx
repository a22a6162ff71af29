/**
 * A swarm task's phase as a chip, coloured like every other state in the UI: running green, on
 * its way amber and pulsing, a batch task that exited 0 (`complete`) grey as *stopped*, a
 * non-zero exit (`failed`) red, shut down grey. Also the tone of a service's replica count.
 *
 * @module
 */
import type { SwarmTaskPhase } from "../../../shared/protocol/mod.ts";
import type { Tone } from "../../ui/state_chip.tsx";

const TONES: Record<SwarmTaskPhase, Tone> = {
  pending: "wait",
  running: "ok",
  complete: "off",
  failed: "bad",
  shutdown: "off",
};

/** The tone of a task phase. */
export function taskTone(phase: SwarmTaskPhase): Tone {
  return TONES[phase] ?? "off";
}

/** What the operator reads: `complete` is a batch task that ended well, so it shows *stopped*. */
export function taskLabel(phase: SwarmTaskPhase, state: string): string {
  if (phase === "complete") return "stopped";
  // Docker's own word while it moves (preparing, starting …) says more than "pending".
  return phase === "pending" ? state : phase;
}

/** A task chip; `state` is Docker's own state, `title` explains it (exit code, error). */
export function TaskChip({ phase, state, title }: {
  phase: SwarmTaskPhase;
  state: string;
  title?: string;
}) {
  return (
    <span
      class={`chip state tone-${taskTone(phase)}${phase === "pending" ? " moving" : ""}`}
      data-testid="task-state"
      data-phase={phase}
      data-state={state}
      title={title ?? state}
    >
      <i class="state-dot" />
      {taskLabel(phase, state)}
    </span>
  );
}

/** The tone of `running/desired` replicas: all up green, some amber, none (of some) red. */
export function replicaTone(running: number, desired: number | null): Tone {
  if (desired === null) return running ? "ok" : "off";
  if (desired === 0) return "off";
  if (running >= desired) return "ok";
  return running === 0 ? "bad" : "wait";
}
