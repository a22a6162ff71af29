/**
 * Backups as the UI shows them: the newest backups, live progress of running ones, restores,
 * and the status (S3, schedules, each node's last good backup and whether it is stale). Loaded
 * once after login and kept current by `backup.*` stream events; no polling.
 *
 * @module
 */
import { computed, signal } from "@preact/signals";
import type {
  BackupInfo,
  BackupProgress,
  BackupStatus,
  RestoreInfo,
} from "../../shared/protocol/mod.ts";
import { api } from "./api.ts";
import { now } from "./clock.ts";
import { onEvent, onResync } from "./stream.ts";

/** The newest backups, newest first. */
export const backups = signal<BackupInfo[]>([]);
/** Live progress by backup id (running ones only). */
export const backupProgress = signal<Record<string, BackupProgress>>({});
/** Restores started in this session, by id. */
export const restores = signal<Record<string, RestoreInfo>>({});
/** S3, schedules and each node's last good backup. */
export const backupStatus = signal<BackupStatus | null>(null);
export const backupsError = signal<string | null>(null);

/** Why no backup can start now (S3 is not configured), or null when it can (or is not known yet). */
export const backupBlocked = computed<string | null>(() =>
  backupStatus.value && !backupStatus.value.configured
    ? "S3 is not configured (set s3: in fleet.yml or FLEET_S3_*, then restart the hub)"
    : null
);

/** Nodes uploading right now (the canvas draws backup particles on their edges). */
export const uploadingNodes = computed<ReadonlySet<string>>(() =>
  new Set(backups.value.filter((b) => b.state === "running" && !b.queued).map((b) => b.node_id))
);

/** Per node, the longest gap its schedules allow between good backups (ms). */
const allowedGap = computed<Map<string, number>>(() => {
  const out = new Map<string, number>();
  for (const s of backupStatus.value?.schedules ?? []) {
    if (s.interval_ms === null) continue;
    for (const n of s.nodes) out.set(n, Math.min(out.get(n) ?? Infinity, s.interval_ms));
  }
  return out;
});

/**
 * Per node, when its last good backup finished (from the status, then from live events), and
 * whether that is older than its schedules allow. Staleness follows the clock while the page
 * stays open, as the hub computes it: the schedule's longest gap plus an hour for the backup.
 */
export const lastGoodBackup = computed<Record<string, { at: number | null; stale: boolean }>>(
  () => {
    const last: Record<string, number | null> = {};
    for (const [id, n] of Object.entries(backupStatus.value?.nodes ?? {})) {
      last[id] = n.last_good_at;
    }
    for (const b of backups.value) {
      if (b.state !== "done" || b.finished_at === null) continue;
      if ((last[b.node_id] ?? 0) < b.finished_at) last[b.node_id] = b.finished_at;
    }
    const t = now.value;
    const out: Record<string, { at: number | null; stale: boolean }> = {};
    for (const [id, at] of Object.entries(last)) {
      const gap = allowedGap.value.get(id);
      out[id] = { at, stale: gap !== undefined && (at === null || t - at > gap + 3_600_000) };
    }
    return out;
  },
);

/** Events that arrived while a load was in flight, per load (its answer may predate them). */
const inFlight = new Set<Map<string, BackupInfo>>();

/** `list` with `b` in its place (newest first). */
function upsert(list: BackupInfo[], b: BackupInfo): BackupInfo[] {
  return [b, ...list.filter((x) => x.id !== b.id)].sort((x, y) => Number(y.id) - Number(x.id))
    .slice(0, 500);
}

/** Re-reads the list and the status. */
export async function loadBackups(): Promise<void> {
  const seen = new Map<string, BackupInfo>();
  inFlight.add(seen);
  try {
    const [list, status] = await Promise.all([api.backups({ limit: 200 }), api.backupStatus()]);
    let merged = list.backups;
    for (const b of seen.values()) merged = upsert(merged, b);
    backups.value = merged;
    backupStatus.value = status;
    const live: Record<string, BackupProgress> = {};
    for (const b of list.backups) if (b.progress) live[b.id] = b.progress;
    backupProgress.value = live;
    backupsError.value = null;
  } catch (err) {
    backupsError.value = (err as Error).message;
  } finally {
    inFlight.delete(seen);
  }
}

let started = false;

/** Loads once and follows the stream (call after login). */
export function startBackupState(): void {
  void loadBackups();
  if (started) return;
  started = true;
  onResync(() => void loadBackups());
  onEvent("backup.state", (e) => {
    const b = e.backup;
    for (const seen of inFlight) seen.set(b.id, b);
    backups.value = upsert(backups.value, b);
    if (b.state !== "running" && backupProgress.value[b.id]) {
      const { [b.id]: _gone, ...others } = backupProgress.value;
      backupProgress.value = others;
    }
  });
  onEvent("backup.progress", (e) => {
    backupProgress.value = { ...backupProgress.value, [e.backup_id]: e.progress };
  });
  onEvent("backup.restore", (e) => {
    restores.value = { ...restores.value, [e.restore.id]: e.restore };
  });
}

/** How long ago, short: `40s`, `12m`, `5h`, `3d`. */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** Nodes the "New backup" dialog is open for (null: closed). Any view may open it. */
export const backupDialogFor = signal<string[] | null>(null);

/** Opens the "New backup" dialog for `nodes` (empty: the operator picks). */
export function openBackupDialog(nodes: string[] = []): void {
  backupDialogFor.value = nodes;
}
