/**
 * Words and colours of batch exec states, shared by the panes, the progress line and the history:
 * green exit 0, red non-zero or error, amber timed out, grey offline / cancelled / interrupted,
 * cyan while running.
 *
 * @module
 */
import type { Tone } from "../../ui/state_chip.tsx";

/** Pane kinds (see `paneKind`): `ok` and `failed` split `exited` by exit code. */
export const KIND_ORDER = [
  "running",
  "ok",
  "failed",
  "timed_out",
  "error",
  "cancelled",
  "interrupted",
  "offline",
] as const;

const TONES: Record<string, Tone> = {
  running: "active",
  ok: "ok",
  failed: "bad",
  error: "bad",
  timed_out: "wait",
  cancelled: "off",
  interrupted: "off",
  offline: "off",
};

const LABELS: Record<string, string> = {
  running: "running",
  ok: "ok",
  failed: "failed",
  error: "error",
  timed_out: "timed out",
  cancelled: "cancelled",
  interrupted: "interrupted",
  offline: "offline",
};

/** The tone of a pane kind. */
export function kindTone(kind: string): Tone {
  return TONES[kind] ?? "off";
}

/** A pane kind in words ("timed out"). */
export function kindLabel(kind: string): string {
  return LABELS[kind] ?? kind;
}

/** What a pane's chip says: `exit 0`, `exit 3`, `timed out`, `offline`, `running`. */
export function exitText(state: string, exitCode: number | null): string {
  if (state === "exited") return `exit ${exitCode ?? "?"}`;
  return kindLabel(state);
}

/** The tone of a whole run from its state and per-kind counts. */
export function runTone(state: string, by: Record<string, number>): Tone {
  if (state === "running") return "active";
  if (state === "cancelled" || state === "interrupted") return "off";
  if (by.failed || by.error) return "bad";
  if (by.timed_out) return "wait";
  return by.ok ? "ok" : "off";
}

/**
 * "850 ms", "12.4 s", "3 min 5 s". `ticking` (a clock that moves once a second) shows whole
 * seconds, so a running count never looks more precise than it is.
 */
export function formatElapsed(ms: number | null, ticking = false): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return "—";
  if (ticking && ms < 60_000) return `${Math.floor(ms / 1000)} s`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
