/**
 * Words and numbers of the Backups view: state tones, progress shares, target names.
 *
 * @module
 */
import type { BackupInfo, BackupProgress, BackupState } from "../../../shared/protocol/mod.ts";
import type { Tone } from "../../ui/state_chip.tsx";

const TONES: Record<BackupState, Tone> = {
  running: "active",
  done: "ok",
  partial: "wait",
  failed: "bad",
  cancelled: "off",
  interrupted: "bad",
  pruned: "off",
};

/** The tone of a backup state (only `done` is a good backup). */
export function backupTone(s: string): Tone {
  return TONES[s as BackupState] ?? "off";
}

/** Share done (0–1) of a progress tick, or null while the total is unknown. */
export function progressShare(p: BackupProgress | null | undefined): number | null {
  if (!p || !p.total_bytes) return null;
  return Math.max(0, Math.min(1, p.bytes / p.total_bytes));
}

/** Seconds as `42s`, `3m 10s`, `1h 5m`. */
export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return "—";
  const v = Math.round(s);
  if (v < 60) return `${v}s`;
  if (v < 3600) return `${Math.floor(v / 60)}m ${v % 60}s`;
  return `${Math.floor(v / 3600)}h ${Math.floor((v % 3600) / 60)}m`;
}

/** What a backup copied, for a table cell. */
export function targetText(b: Pick<BackupInfo, "target">): string {
  const t = b.target;
  switch (t.kind) {
    case "volume":
      return `volume ${t.name}`;
    case "config":
      return `config ${t.path}`;
    case "swarm":
      return "swarm state";
    case "path":
      return t.path;
  }
}
