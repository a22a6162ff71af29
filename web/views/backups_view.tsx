/**
 * The Backups view: where the repository is and the schedules, every running backup with its
 * live progress (files, bytes, chunks new/reused, rate, ETA), and the list of backups (size, new
 * bytes, duration, state — only `done` is good). A good backup opens in the snapshot browser,
 * from which files are restored; an admin starts backups, verifies them, snapshots the hub's
 * database. Live through `backup.*` stream events.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { BackupInfo } from "../../shared/protocol/mod.ts";
import {
  ageText,
  backupBlocked,
  backupProgress,
  backups,
  backupsError,
  backupStatus,
  loadBackups,
  openBackupDialog,
} from "../state/backups.ts";
import { api } from "../state/api.ts";
import { now } from "../state/clock.ts";
import { formatBytes, formatTime } from "../state/format.ts";
import { isAdmin } from "../state/session.ts";
import { act } from "../state/ui.ts";
import { Icon } from "../ui/icon.tsx";
import { backupTone, progressShare, seconds, targetText } from "./backups/backup_format.ts";
import { SnapshotBrowser } from "./backups/snapshot_browser.tsx";

function StateChip({ state }: { state: string }) {
  return (
    <span
      class={`chip state tone-${backupTone(state)}${state === "running" ? " moving" : ""}`}
      data-testid="backup-state"
    >
      <i class="state-dot" />
      {state}
    </span>
  );
}

function Running({ b }: { b: BackupInfo }) {
  const p = backupProgress.value[b.id] ?? b.progress;
  const share = progressShare(p);
  return (
    <div class="backup-running card" data-testid="backup-running" data-backup-id={b.id}>
      <div class="run-head">
        <span class="node">{b.node_id}</span>
        <span class="mute">{targetText(b)}</span>
        <span class="spacer" />
        <span class="pct">
          {b.queued
            ? "waiting for a slot"
            : share === null
            ? "scanning…"
            : `${Math.round(share * 100)}%`}
        </span>
      </div>
      <div class="bar big">
        <i style={{ width: `${Math.round((share ?? 0) * 100)}%` }} />
      </div>
      <div class="run-stats" data-testid="backup-progress">
        <span>
          <b>{formatBytes(p?.bytes ?? 0)}</b>
          {p?.total_bytes ? ` of ${formatBytes(p.total_bytes)}` : ""}
        </span>
        <span>
          <b>{p?.files ?? 0}</b> files
        </span>
        <span>
          chunks <b class="new">{p?.chunks_new ?? 0}</b> new · <b>{p?.chunks_reused ?? 0}</b> reused
        </span>
        <span>
          <b>{formatBytes(p?.uploaded_bytes ?? 0)}</b> uploaded
        </span>
        <span>
          <b>{formatBytes(p?.rate_bps ?? 0)}/s</b>
        </span>
        <span>ETA {seconds(p?.eta_s)}</span>
        {isAdmin.value
          ? (
            <button
              type="button"
              class="ghost small"
              onClick={() => void act(`Cancel backup #${b.id}`, () => api.cancelBackup(b.id))}
            >
              Cancel
            </button>
          )
          : null}
      </div>
    </div>
  );
}

function Row({ b, selected, onOpen }: {
  b: BackupInfo;
  selected: boolean;
  onOpen: (b: BackupInfo) => void;
}) {
  const good = b.state === "done" || b.state === "partial";
  return (
    <tr
      data-testid="backup-row"
      data-backup-id={b.id}
      data-state={b.state}
      class={`${selected ? "selected " : ""}${good ? "clickable" : ""}`}
      onClick={() => good && onOpen(b)}
    >
      <td class="num id">#{b.id}</td>
      <td>
        <StateChip state={b.state} />
        {b.verify_ok === false
          ? <span class="chip bad-verify" title={b.verify_detail ?? ""}>verify failed</span>
          : null}
        {b.verify_ok === true
          ? <span class="chip ok-verify" title={b.verify_detail ?? ""}>verified</span>
          : null}
      </td>
      <td class="node">{b.node_id}</td>
      <td class="what" title={b.error ?? b.note ?? ""}>
        <span>{targetText(b)}</span>
        {b.note ? <span class="mute">— {b.note}</span> : null}
        {b.error ? <div class="err" data-testid="backup-error">{b.error}</div> : null}
      </td>
      <td class="num right">{formatBytes(b.size_b)}</td>
      <td class="num right">{b.new_b === null ? "—" : formatBytes(b.new_b)}</td>
      <td class="num right">{b.duration_ms === null ? "—" : seconds(b.duration_ms / 1000)}</td>
      <td class="num right" title={formatTime(b.started_at)}>
        {ageText(now.value - b.started_at)} ago
      </td>
      <td class="right actions">
        <div class="row-actions">
          {good
            ? (
              <button
                type="button"
                class="ghost small"
                onClick={(e) => (e.stopPropagation(), onOpen(b))}
                data-testid="backup-browse"
              >
                Browse
              </button>
            )
            : null}
          {good && isAdmin.value
            ? (
              <button
                type="button"
                class="ghost small"
                onClick={(e) => {
                  e.stopPropagation();
                  void act(`Verify backup #${b.id}`, async () => {
                    const r = await api.verifyBackup(b.id);
                    if (!r.ok) throw new Error(r.detail);
                  });
                }}
              >
                Verify
              </button>
            )
            : null}
        </div>
      </td>
    </tr>
  );
}

function StatusLine({ empty }: { empty: boolean }) {
  const s = backupStatus.value;
  if (!s) return null;
  if (!s.configured) {
    // An empty list explains it in full (with the steps) instead.
    if (empty) return null;
    return (
      <div class="inline-error" role="alert" data-testid="backup-unconfigured">
        <Icon name="alert" size={14} /> S3 is not configured: set <code>s3:</code> in fleet.yml or
        {" "}
        <code>FLEET_S3_ENDPOINT</code>, <code>FLEET_S3_ACCESS_KEY</code>,{" "}
        <code>FLEET_S3_SECRET_KEY</code> and restart the hub.
      </div>
    );
  }
  return (
    <div class="backup-status">
      <span class="chip">
        <Icon name="disk" size={12} /> {s.endpoint}/{s.bucket}
      </span>
      {s.encrypted
        ? <span class="chip enc">encrypted</span>
        : <span class="chip">not encrypted</span>}
      {s.schedules.map((x) => (
        <span
          class="chip sched"
          key={x.name}
          title={`${x.cron} · ${x.targets.join(", ")} · keep ${JSON.stringify(x.keep)}`}
        >
          <Icon name="clock" size={12} /> {x.name}
          {x.next_at ? <span class="mute">· next {formatTime(x.next_at)}</span> : null}
        </span>
      ))}
      {s.hub_db.cron
        ? (
          <span class="chip sched">
            hub db {s.hub_db.next_at
              ? <span class="mute">· next {formatTime(s.hub_db.next_at)}</span>
              : null}
          </span>
        )
        : null}
    </div>
  );
}

/** The empty list while S3 is not configured: how to configure it (the steps for admins). */
function Unconfigured({ admin }: { admin: boolean }) {
  return (
    <div class="empty-state table-empty" data-state="unconfigured" data-testid="backup-setup">
      <Icon name="backups" size={30} />
      <h3>Backups need an S3 bucket</h3>
      {admin
        ? (
          <>
            <p>
              Give the hub an S3 endpoint (Ceph RGW, MinIO, AWS) in{" "}
              <code>fleet.yml</code>, or the same as <code>FLEET_S3_*</code>{" "}
              environment variables, then restart the hub:
            </p>
            <pre class="snippet">{S3_SNIPPET}</pre>
          </>
        )
        : <p>An admin has to configure S3 on the hub before any backup can run.</p>}
    </div>
  );
}

const S3_SNIPPET = `s3:                          # in fleet.yml, or the environment:
  endpoint: http://10.0.0.10:9000   # FLEET_S3_ENDPOINT
  bucket: fleet-backups             # FLEET_S3_BUCKET
  access_key: fleet                 # FLEET_S3_ACCESS_KEY
  secret_key: change-me             # FLEET_S3_SECRET_KEY`;

/** The Backups view. */
export function BackupsView() {
  const open = useSignal<BackupInfo | null>(null);
  useEffect(() => void loadBackups(), []);
  const list = backups.value;
  const running = list.filter((b) => b.state === "running");
  const admin = isAdmin.value;
  const blocked = backupBlocked.value;
  return (
    <div class="view backups-view" data-testid="backups-view">
      <div class="backups-main">
        <div class="view-head">
          <div>
            <h2>Backups</h2>
            <p class="view-sub">
              Incremental, deduplicated snapshots in S3 · only <b>done</b> is a good backup.
            </p>
          </div>
          {admin
            ? (
              <div class="head-actions">
                <button
                  type="button"
                  disabled={blocked !== null}
                  title={blocked ?? "Snapshot the hub's own database to S3 now"}
                  onClick={() => void act("Hub database saved to S3", () => api.backupHubDb())}
                  data-testid="backup-hub-db"
                >
                  Back up hub DB
                </button>
                <button
                  type="button"
                  class="primary"
                  disabled={blocked !== null}
                  title={blocked ?? "Back up nodes' configs, volumes or paths"}
                  onClick={() => openBackupDialog()}
                  data-testid="new-backup"
                >
                  <Icon name="plus" size={14} /> New backup
                </button>
              </div>
            )
            : null}
        </div>
        <StatusLine empty={!list.length} />
        {backupsError.value
          ? (
            <div class="inline-error" role="alert">
              <Icon name="alert" size={14} /> {backupsError.value}
            </div>
          )
          : null}
        {running.length
          ? (
            <section class="running-list">
              <h3 class="section-title">Running ({running.length})</h3>
              {running.map((b) => <Running key={b.id} b={b} />)}
            </section>
          )
          : null}
        <div class="card table-card">
          {list.length
            ? (
              <table class="grid backup-table">
                <thead>
                  <tr>
                    <th>Backup</th>
                    <th>State</th>
                    <th>Node</th>
                    <th>Target</th>
                    <th class="right">Size</th>
                    <th class="right">New</th>
                    <th class="right">Took</th>
                    <th class="right">Started</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {list.map((b) => (
                    <Row
                      key={b.id}
                      b={b}
                      selected={open.value?.id === b.id}
                      onOpen={(x) => (open.value = x)}
                    />
                  ))}
                </tbody>
              </table>
            )
            : blocked
            ? <Unconfigured admin={admin} />
            : (
              <div class="empty-state table-empty" data-state="empty">
                <Icon name="backups" size={30} />
                <h3>No backups yet</h3>
                {admin
                  ? (
                    <>
                      <p>Back up a node's config, a Docker volume or any path; or from a shell:</p>
                      <pre class="snippet">fleet-hub backup create --all</pre>
                    </>
                  )
                  : <p>An admin starts backups here or on a schedule in fleet.yml.</p>}
              </div>
            )}
        </div>
      </div>
      {open.value
        ? (
          <SnapshotBrowser
            key={open.value.id}
            backup={open.value}
            onClose={() => (open.value = null)}
          />
        )
        : null}
    </div>
  );
}
