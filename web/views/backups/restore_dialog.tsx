/**
 * The restore dialog: onto which node (its own by default), into which directory (the original
 * place by default), the picked paths; "Dry run" lists what would be written without writing,
 * "Restore" runs it and follows its progress from the stream until it ends.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { BackupInfo, RestoreInfo } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { nodeIds } from "../../state/fleet.ts";
import { restores } from "../../state/backups.ts";
import { formatBytes } from "../../state/format.ts";
import { toast } from "../../state/ui.ts";
import { FormError, Modal } from "../../ui/modal.tsx";
import { progressShare, targetText } from "./backup_format.ts";

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;

/** Restores `paths` (none: everything) of `backup`. */
export function RestoreDialog({ backup, paths, onClose }: {
  backup: BackupInfo;
  paths: string[];
  onClose: () => void;
}) {
  const node = useSignal(backup.node_id);
  const to = useSignal("");
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const plan = useSignal<RestoreInfo | null>(null);
  const running = useSignal<string | null>(null);

  const body = (dry: boolean) => ({
    ...(node.value !== backup.node_id ? { node: node.value } : {}),
    ...(to.value.trim() ? { to: to.value.trim() } : {}),
    ...(paths.length ? { paths } : {}),
    dry_run: dry,
  });

  const run = async (dry: boolean) => {
    busy.value = true;
    error.value = null;
    try {
      const r = await api.restoreBackup(backup.id, body(dry));
      if (dry) {
        plan.value = r;
        if (r.state !== "done") error.value = r.error;
      } else {
        running.value = r.id;
        restores.value = { ...restores.value, [r.id]: r };
      }
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };

  const live = running.value ? restores.value[running.value] : null;
  useEffect(() => {
    if (!live || live.state === "running") return;
    // Ended: say so once and keep the result on screen.
    running.value = null;
    plan.value = live;
    if (live.state === "done") {
      toast(
        `Restored ${live.files ?? 0} file${
          live.files === 1 ? "" : "s"
        } into ${live.to} on ${live.node_id}`,
        "ok",
      );
    } else error.value = live.error ?? `restore ${live.state}`;
  }, [live?.state]);
  const share = progressShare(live?.progress);

  return (
    <Modal
      title={`Restore backup #${backup.id}`}
      subtitle={`${backup.node_id} · ${targetText(backup)}${
        paths.length ? ` · ${paths.length} path(s)` : " · everything"
      }`}
      onClose={onClose}
      testid="restore-dialog"
      wide
      footer={
        <>
          <button type="button" class="ghost" onClick={onClose}>Close</button>
          <button
            type="button"
            disabled={busy.value || !!running.value}
            onClick={() => void run(true)}
            data-testid="restore-dry-run"
          >
            Dry run
          </button>
          <button
            type="button"
            class="danger"
            disabled={busy.value || !!running.value}
            onClick={() => void run(false)}
            data-testid="restore-run"
          >
            {running.value ? "Restoring…" : "Restore"}
          </button>
        </>
      }
    >
      <div class="form-grid">
        <label>
          Onto node
          <select
            value={node.value}
            onChange={(e) => (node.value = value(e))}
            data-testid="restore-node"
          >
            {nodeIds.value.map((id) => <option key={id} value={id}>{id}</option>)}
          </select>
        </label>
        <label>
          Into directory
          <input
            class="mono"
            placeholder={backup.target.kind === "volume"
              ? `the volume ${backup.target.name}`
              : "the original place"}
            value={to.value}
            onInput={(e) => (to.value = value(e))}
            data-testid="restore-to"
          />
        </label>
      </div>
      {paths.length
        ? (
          <div class="restore-paths">
            {paths.slice(0, 12).map((p) => <code key={p}>{p}</code>)}
            {paths.length > 12 ? <span class="mute">+{paths.length - 12} more</span> : null}
          </div>
        )
        : null}
      <p class="mute small-print">
        Nothing is written outside the directory; every chunk's hash is checked before its bytes
        land. Files there with the same names are replaced.
      </p>
      {live && live.state === "running"
        ? (
          <div class="restore-progress" data-testid="restore-progress">
            <div class="bar">
              <i style={{ width: `${Math.round((share ?? 0) * 100)}%` }} />
            </div>
            <span class="mute">
              {formatBytes(live.progress?.bytes ?? 0)}
              {live.progress?.total_bytes ? ` of ${formatBytes(live.progress.total_bytes)}` : ""}
              {" · "}
              {live.progress?.files ?? 0} files
            </span>
          </div>
        )
        : null}
      {plan.value
        ? (
          <div class="restore-plan" data-testid="restore-plan" data-state={plan.value.state}>
            <div class="plan-head">
              <b>{plan.value.dry_run ? "Would write" : "Wrote"}</b> {plan.value.files ?? 0} files,
              {" "}
              {formatBytes(plan.value.bytes)} into <code>{plan.value.to}</code> on{" "}
              {plan.value.node_id}
            </div>
            <ul>
              {plan.value.written.slice(0, 200).map((w) => <li key={w}>{w}</li>)}
            </ul>
          </div>
        )
        : null}
      <FormError message={error.value} />
    </Modal>
  );
}
