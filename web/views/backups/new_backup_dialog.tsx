/**
 * "New backup": which nodes (preset when opened from a card), and what to copy — the node's
 * config dir, a Docker volume, the swarm state or any path. Starting it shows the Backups view,
 * where its progress runs live.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { BackupTarget } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { nodeIds } from "../../state/fleet.ts";
import { backupDialogFor } from "../../state/backups.ts";
import { go, toast } from "../../state/ui.ts";
import { FormError, Modal } from "../../ui/modal.tsx";

type Kind = BackupTarget["kind"];

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;

/** The dialog, shown while `backupDialogFor` is set (mounted once by the app shell). */
export function NewBackupDialogHost() {
  const preset = backupDialogFor.value;
  if (preset === null) return null;
  return <NewBackupDialog key={preset.join(",")} preset={preset} />;
}

function NewBackupDialog({ preset }: { preset: string[] }) {
  const all = useSignal(false);
  const nodes = useSignal<string[]>(preset);
  const kind = useSignal<Kind>("config");
  const path = useSignal("/etc/fleet");
  const volume = useSignal("");
  const note = useSignal("");
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const close = () => (backupDialogFor.value = null);

  const target = (): BackupTarget => {
    switch (kind.value) {
      case "volume":
        return { kind: "volume", name: volume.value.trim() };
      case "swarm":
        return { kind: "swarm" };
      case "config":
        return { kind: "config", path: path.value.trim() || "/etc/fleet" };
      default:
        return { kind: "path", path: path.value.trim() };
    }
  };

  const start = async () => {
    if (!all.value && !nodes.value.length) {
      error.value = "Pick at least one node (or all nodes).";
      return;
    }
    busy.value = true;
    error.value = null;
    try {
      const r = await api.createBackup({
        ...(all.value ? { all: true as const } : { nodes: nodes.value }),
        targets: [target()],
        ...(note.value.trim() ? { note: note.value.trim() } : {}),
      });
      const refused = r.backups.filter((b) => b.state === "failed");
      if (refused.length === r.backups.length) {
        error.value = refused.map((b) => `${b.node_id}: ${b.error}`).join("\n");
        return;
      }
      toast(
        `Backup started on ${r.backups.length - refused.length} node(s)` +
          (refused.length ? `; ${refused.length} refused` : ""),
        refused.length ? "error" : "ok",
      );
      close();
      go("backups");
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };

  const toggle = (id: string) => {
    nodes.value = nodes.value.includes(id)
      ? nodes.value.filter((n) => n !== id)
      : [...nodes.value, id];
  };

  return (
    <Modal
      title="New backup"
      subtitle={all.value
        ? "every node of the fleet"
        : nodes.value.length
        ? nodes.value.join(", ")
        : "pick the nodes"}
      onClose={close}
      onSubmit={() => void start()}
      testid="backup-dialog"
      wide
      footer={
        <>
          <button type="button" class="ghost" onClick={close}>Cancel</button>
          <button type="submit" class="primary" disabled={busy.value} data-testid="backup-start">
            {busy.value ? "Starting…" : "Start backup"}
          </button>
        </>
      }
    >
      <div class="form-grid">
        <label>
          What
          <select
            value={kind.value}
            onChange={(e) => {
              kind.value = value(e) as Kind;
              if (kind.value === "config" && !path.value) path.value = "/etc/fleet";
            }}
            data-testid="backup-kind"
          >
            <option value="config">Config directory</option>
            <option value="volume">Docker volume</option>
            <option value="path">A path</option>
            <option value="swarm">Swarm state (managers; stops the engine briefly)</option>
          </select>
        </label>
        {kind.value === "volume"
          ? (
            <label>
              Volume
              <input
                placeholder="pgdata"
                value={volume.value}
                onInput={(e) => (volume.value = value(e))}
                data-testid="backup-volume"
              />
            </label>
          )
          : kind.value === "swarm"
          ? <span />
          : (
            <label>
              Path on the node
              <input
                class="mono"
                placeholder="/srv/data"
                value={path.value}
                onInput={(e) => (path.value = value(e))}
                data-testid="backup-path"
              />
            </label>
          )}
      </div>
      <div class="backup-nodes">
        <label class="check">
          <input
            type="checkbox"
            checked={all.value}
            onChange={(e) => (all.value = (e.currentTarget as HTMLInputElement).checked)}
          />
          All nodes
        </label>
        {all.value ? null : (
          <div class="node-picks" data-testid="backup-nodes">
            {nodeIds.value.map((id) => (
              <button
                type="button"
                key={id}
                class={nodes.value.includes(id) ? "pick on" : "pick"}
                onClick={() => toggle(id)}
              >
                {id}
              </button>
            ))}
          </div>
        )}
      </div>
      <label>
        Note (optional)
        <input
          placeholder="before the driver upgrade"
          value={note.value}
          onInput={(e) => (note.value = value(e))}
        />
      </label>
      <FormError message={error.value} />
    </Modal>
  );
}
