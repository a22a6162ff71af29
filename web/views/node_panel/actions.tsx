/**
 * What an admin can do to the node from its panel: show its jobs, release or re-assign it when
 * it is a roamer, remove it from the fleet (after a confirm), open a terminal, and the node
 * actions through its agent (restart, cleanup with its dry run, recovery now). Viewers see none
 * of this.
 *
 * @module
 */
import type { NodeSummary } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { jobFilter, roamers } from "../../state/queue.ts";
import { isAdmin } from "../../state/session.ts";
import { act, go, selectedNode } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { confirmDialog } from "../../ui/modal.tsx";
import { Section } from "./section.tsx";
import { OpenTerminalButton } from "../terminal/open_button.tsx";
import {
  nodeActionsBlocked,
  NodeActionStatus,
  openCleanupDialog,
  restartAgent,
  runRecovery,
} from "./node_actions.tsx";
import { backupBlocked, openBackupDialog } from "../../state/backups.ts";

/** The actions block; renders nothing for a viewer. */
export function Actions({ node }: { node: NodeSummary }) {
  if (!isAdmin.value) return null;
  const roamer = roamers.value[node.id];
  const id = node.id;
  const blocked = nodeActionsBlocked(node);

  const showJobs = () => {
    jobFilter.value = { node: id };
    go("jobs");
  };
  const release = () =>
    void act(
      `Release requested for ${node.name}`,
      () => api.releaseRoamer(id),
    );
  const remove = async () => {
    const ok = await confirmDialog({
      title: `Remove ${node.name} from the fleet?`,
      body: (
        <p>
          The hub forgets <b>{node.name}</b>{" "}
          with its metric history, and revokes its node token so its agent can no longer report. A
          node listed in <code>fleet.yml</code> comes back, empty, when the hub reloads it.
        </p>
      ),
      confirm: "Remove node",
      danger: true,
    });
    if (!ok) return;
    const done = await act(
      `Removed ${node.name}`,
      () => api.removeNode(id),
    );
    if (done && selectedNode.value === id) selectedNode.value = null;
  };

  return (
    <Section title="Actions" icon="more" testid="panel-actions">
      <div class="panel-actions">
        <button type="button" onClick={showJobs} data-testid="action-show-jobs">
          <Icon name="jobs" size={15} /> Show jobs
        </button>
        {roamer
          ? (
            <>
              <button
                type="button"
                onClick={release}
                disabled={roamer.state === "IDLE" || roamer.release_requested}
                title={roamer.state === "IDLE" ? "already idle in the pool" : "return to the pool"}
                data-testid="action-release"
              >
                <Icon name="release" size={15} /> Release
              </button>
              <button type="button" onClick={() => go("roamers")} data-testid="action-assign">
                <Icon name="roamers" size={15} /> Assign…
              </button>
            </>
          )
          : null}
        <span class="spacer" />
        <button type="button" class="danger" onClick={remove} data-testid="action-remove">
          <Icon name="trash" size={15} /> Remove from fleet
        </button>
      </div>
      {/* Control actions: the terminal (exec runs from the canvas selection). */}
      <div class="panel-actions extra" data-testid="panel-actions-extra">
        <OpenTerminalButton node={node} />
        <button
          type="button"
          disabled={backupBlocked.value !== null}
          title={backupBlocked.value ?? "Back up this node's config, a volume or a path"}
          onClick={() => openBackupDialog([id])}
          data-testid="action-backup"
        >
          <Icon name="backups" size={15} /> Back up…
        </button>
      </div>
      {/* Node actions through the agent's control channel. */}
      <div class="panel-actions extra" data-testid="panel-node-actions">
        <button
          type="button"
          disabled={blocked !== null}
          title={blocked ?? "Show what a cleanup would free (dry run), then run it"}
          onClick={() => openCleanupDialog(id, node.name)}
          data-testid="action-cleanup"
        >
          <Icon name="trash" size={15} /> Cleanup…
        </button>
        <button
          type="button"
          disabled={blocked !== null}
          title={blocked ?? "Run the boot recovery steps now"}
          onClick={() => void runRecovery(id, node.name)}
          data-testid="action-recover"
        >
          <Icon name="retry" size={15} /> Run recovery
        </button>
        <button
          type="button"
          disabled={blocked !== null}
          title={blocked ?? "Restart the agent (it reconnects within seconds)"}
          onClick={() => void restartAgent(id, node.name)}
          data-testid="action-restart-agent"
        >
          <Icon name="refresh" size={15} /> Restart agent
        </button>
      </div>
      <NodeActionStatus id={id} />
    </Section>
  );
}
