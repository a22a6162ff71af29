/**
 * The snapshot browser: a good backup's file tree, loaded a directory at a time from
 * `GET /api/v1/backups/:id/tree`. Directories open in place; ticking files or directories and
 * pressing Restore opens the restore dialog with them (nothing ticked: the whole snapshot).
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { BackupInfo, TreeEntry } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { formatBytes, formatTime } from "../../state/format.ts";
import { isAdmin } from "../../state/session.ts";
import { Icon } from "../../ui/icon.tsx";
import { targetText } from "./backup_format.ts";
import { RestoreDialog } from "./restore_dialog.tsx";

function mode(m: number): string {
  const bits = "rwxrwxrwx";
  let s = "";
  for (let i = 0; i < 9; i++) s += m & (1 << (8 - i)) ? bits[i] : "-";
  return s;
}

function Dir({ backup, path, depth, picked, onPick }: {
  backup: string;
  path: string;
  depth: number;
  picked: ReadonlySet<string>;
  onPick: (p: string) => void;
}) {
  const entries = useSignal<TreeEntry[] | null>(null);
  const error = useSignal<string | null>(null);
  const open = useSignal<ReadonlySet<string>>(new Set());
  useEffect(() => {
    api.backupTree(backup, { path }).then(
      (t) => (entries.value = t.entries),
      (e) => error.value = (e as Error).message,
    );
  }, [backup, path]);
  if (error.value) return <div class="inline-error small">{error.value}</div>;
  if (!entries.value) {
    return (
      <div class="tree-loading" style={{ paddingLeft: `${depth * 18 + 8}px` }}>
        <span class="spinner" />
      </div>
    );
  }
  const sorted = [...entries.value].sort((a, b) =>
    (a.type === "dir" ? 0 : 1) - (b.type === "dir" ? 0 : 1) || a.path.localeCompare(b.path)
  );
  return (
    <>
      {sorted.map((e) => {
        const name = e.path.split("/").pop()!;
        const isDir = e.type === "dir";
        const isOpen = open.value.has(e.path);
        return (
          <div key={e.path}>
            <div
              class={`tree-row${picked.has(e.path) ? " picked" : ""}`}
              data-testid="tree-row"
              data-path={e.path}
              style={{ paddingLeft: `${depth * 18 + 8}px` }}
            >
              <input
                type="checkbox"
                checked={picked.has(e.path)}
                onChange={() => onPick(e.path)}
                aria-label={`pick ${e.path}`}
              />
              <button
                type="button"
                class="tree-name"
                disabled={!isDir}
                onClick={() => {
                  const s = new Set(open.value);
                  if (s.has(e.path)) s.delete(e.path);
                  else s.add(e.path);
                  open.value = s;
                }}
              >
                {isDir
                  ? <span class={`caret${isOpen ? " open" : ""}`}>▸</span>
                  : <span class="caret" />}
                <Icon name={isDir ? "folder" : e.type === "symlink" ? "link" : "file"} size={14} />
                <span class="name">{name}</span>
                {e.target ? <span class="mute">→ {e.target}</span> : null}
              </button>
              <span class="mono mute perm">{mode(e.mode)}</span>
              <span class="num right size">{isDir ? "" : formatBytes(e.size)}</span>
              <span class="num right mute when">{formatTime(e.mtime)}</span>
            </div>
            {isDir && isOpen
              ? (
                <Dir
                  backup={backup}
                  path={e.path}
                  depth={depth + 1}
                  picked={picked}
                  onPick={onPick}
                />
              )
              : null}
          </div>
        );
      })}
      {!sorted.length ? <div class="mute tree-empty">empty directory</div> : null}
    </>
  );
}

/** The browser drawer of `backup`. */
export function SnapshotBrowser({ backup, onClose }: { backup: BackupInfo; onClose: () => void }) {
  const picked = useSignal<ReadonlySet<string>>(new Set());
  const restoring = useSignal(false);
  const onPick = (p: string) => {
    const s = new Set(picked.value);
    if (s.has(p)) s.delete(p);
    else s.add(p);
    picked.value = s;
  };
  return (
    <aside class="backup-drawer" data-testid="snapshot-browser">
      <div class="drawer-head">
        <div>
          <h3>
            <Icon name="backups" size={16} /> Backup #{backup.id}
          </h3>
          <p class="view-sub">
            {backup.node_id} · {targetText(backup)} · {formatTime(backup.finished_at)} ·{" "}
            {formatBytes(backup.size_b)} in {backup.files ?? 0} files
          </p>
        </div>
        <button type="button" class="ghost icon" onClick={onClose} title="Close">
          <Icon name="close" size={16} />
        </button>
      </div>
      <div class="tree card">
        <Dir backup={backup.id} path="" depth={0} picked={picked.value} onPick={onPick} />
      </div>
      {isAdmin.value
        ? (
          <div class="drawer-foot">
            <span class="mute">
              {picked.value.size
                ? `${picked.value.size} picked`
                : "Nothing picked: the whole snapshot"}
            </span>
            <button
              type="button"
              class="primary"
              onClick={() => (restoring.value = true)}
              data-testid="browser-restore"
            >
              Restore…
            </button>
          </div>
        )
        : null}
      {restoring.value
        ? (
          <RestoreDialog
            backup={backup}
            paths={[...picked.value]}
            onClose={() => (restoring.value = false)}
          />
        )
        : null}
    </aside>
  );
}
