/**
 * The right-click menu of a node: the node's actions, admin ones only for admins.
 *
 * @module
 */
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import { nodeSignal } from "../../state/fleet.ts";
import { jobFilter, loadJobs, roamers } from "../../state/queue.ts";
import { isAdmin } from "../../state/session.ts";
import { act, go, selectedNode, selection } from "../../state/ui.ts";
import { api } from "../../state/api.ts";
import { runCommandOn } from "../../state/exec.ts";
import { backupBlocked, openBackupDialog } from "../../state/backups.ts";
import { openTerminal } from "../terminal/terminal_state.ts";
import { terminalBlocked } from "../terminal/open_button.tsx";
import {
  nodeActionsBlocked,
  openCleanupDialog,
  restartAgent,
  runRecovery,
} from "../node_panel/node_actions.tsx";
import { swarmRoles } from "../../state/swarm.ts";
import { nodeAction } from "../swarm/node_actions.ts";

/** One menu entry. */
interface Item {
  label: string;
  run: () => void;
  danger?: boolean;
  testid?: string;
  /** Why the entry is greyed out (shown as its tooltip). */
  disabled?: string | null;
}

/** A menu at (x, y) for node `id`. */
export function ContextMenu(
  { id, x, y, onClose, onCenter }: {
    id: string;
    x: number;
    y: number;
    onClose: () => void;
    onCenter: (id: string) => void;
  },
) {
  const el = useRef<HTMLDivElement>(null);
  // Keep the whole menu on screen: open upwards / leftwards when the pointer is near an edge.
  useLayoutEffect(() => {
    const m = el.current;
    if (!m) return;
    const r = m.getBoundingClientRect();
    const left = Math.max(8, Math.min(x, innerWidth - r.width - 8));
    const top = y + r.height + 8 > innerHeight ? Math.max(8, y - r.height) : y;
    m.style.left = `${left}px`;
    m.style.top = `${top}px`;
  }, [x, y]);
  useEffect(() => {
    const close = (e: Event) => {
      if (e instanceof KeyboardEvent && e.key !== "Escape") return;
      onClose();
    };
    addEventListener("pointerdown", close);
    addEventListener("keydown", close);
    addEventListener("wheel", close);
    return () => {
      removeEventListener("pointerdown", close);
      removeEventListener("keydown", close);
      removeEventListener("wheel", close);
    };
  }, [onClose]);
  const n = nodeSignal(id)?.value;
  if (!n) return null;
  const r = roamers.value[id];
  const items: Item[] = [
    { label: "Open details", run: () => (selectedNode.value = id), testid: "menu-details" },
    { label: "Center on node", run: () => onCenter(id) },
    {
      label: selection.value.has(id) ? "Remove from selection" : "Add to selection",
      run: () => {
        const s = new Set(selection.value);
        if (s.has(id)) s.delete(id);
        else s.add(id);
        selection.value = s;
      },
    },
    {
      label: "Show jobs",
      run: () => {
        jobFilter.value = { node: id };
        void loadJobs();
        go("jobs");
      },
    },
    { label: "Copy node id", run: () => void navigator.clipboard?.writeText(id) },
  ];
  if (isAdmin.value) {
    items.push({
      label: selection.value.size > 1 && selection.value.has(id)
        ? `Run command on ${selection.value.size} selected…`
        : "Run command…",
      testid: "menu-run-command",
      run: () => runCommandOn(selection.value.has(id) ? selection.value : [id]),
    });
  }
  if (isAdmin.value && r) {
    if (r.state === "IDLE") items.push({ label: "Assign roamer…", run: () => go("roamers", id) });
    else if (r.state !== "CLEANUP") {
      items.push({
        label: "Release roamer",
        testid: "menu-release",
        run: () => void act(`Release ${id}`, () => api.releaseRoamer(id)),
      });
    }
  }
  const sw = swarmRoles.value[id];
  if (isAdmin.value && sw) {
    items.push(
      sw.availability === "active"
        ? {
          label: "Drain (swarm)…",
          testid: "menu-swarm-drain",
          run: () => void nodeAction(sw, "drain"),
        }
        : {
          label: "Activate (swarm)",
          testid: "menu-swarm-activate",
          run: () => void nodeAction(sw, "activate"),
        },
    );
  }
  if (isAdmin.value) {
    items.push({
      label: "Back up…",
      testid: "menu-backup",
      disabled: backupBlocked.value,
      run: () => openBackupDialog(selection.value.has(id) ? [...selection.value] : [id]),
    });
  }
  if (isAdmin.value) {
    items.push({
      label: "Open terminal",
      testid: "menu-terminal",
      disabled: terminalBlocked(n),
      run: () => openTerminal(id),
    });
  }
  if (isAdmin.value) {
    // Through the agent's control channel, and only when the agent offers node actions.
    const blocked = nodeActionsBlocked(n);
    items.push(
      {
        label: "Cleanup…",
        testid: "menu-cleanup",
        disabled: blocked,
        run: () => openCleanupDialog(id, n.name),
      },
      {
        label: "Run recovery now",
        testid: "menu-recover",
        disabled: blocked,
        run: () => void runRecovery(id, n.name),
      },
      {
        label: "Restart agent…",
        testid: "menu-restart-agent",
        disabled: blocked,
        run: () => void restartAgent(id, n.name),
      },
    );
  }
  if (isAdmin.value) {
    items.push({
      label: "Remove from fleet…",
      danger: true,
      run: () => {
        if (
          confirm(
            `Remove ${n.name} from the fleet? Its history stays; it reappears if its agent pushes again.`,
          )
        ) {
          void act(`Remove ${id}`, () => api.removeNode(id));
        }
      },
    });
  }
  return (
    <div
      ref={el}
      class="context-menu"
      style={{ left: `${x}px`, top: `${y}px` }}
      onPointerDown={(e) => e.stopPropagation()}
      data-testid="context-menu"
      role="menu"
    >
      <div class="cm-title">
        <span class={`dot ${n.status}`} /> {n.name}
      </div>
      {items.map((it) => (
        <button
          type="button"
          role="menuitem"
          class={it.danger ? "cm-item danger" : "cm-item"}
          data-testid={it.testid}
          disabled={!!it.disabled}
          title={it.disabled ?? undefined}
          onClick={() => {
            onClose();
            it.run();
          }}
        >
          {it.label}
        </button>
      ))}
    </div>
  );
}
