/**
 * Swarm node operations shared by the Nodes tab and the canvas card's menu: drain and demote ask
 * first (saying what moves), every outcome is toasted and the nodes are re-read.
 *
 * @module
 */
import type { SwarmNode, SwarmNodeAction } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { loadNodes, refreshNow } from "../../state/swarm.ts";
import { toast } from "../../state/ui.ts";
import { confirmDialog } from "../../ui/modal.tsx";

/** Drains or activates (…) node `n`, asking first where tasks move; toasts the outcome. */
export async function nodeAction(n: SwarmNode, action: SwarmNodeAction): Promise<boolean> {
  if (action === "drain" || action === "demote") {
    const ok = await confirmDialog({
      title: `${action === "drain" ? "Drain" : "Demote"} ${n.hostname}?`,
      body: action === "drain"
        ? `Its ${n.tasks_running} running task${
          n.tasks_running === 1 ? "" : "s"
        } stop here and the swarm reschedules them on other nodes; it takes no new ones until activated.`
        : "It stays in the swarm as a worker and no longer votes in the managers' quorum.",
      confirm: action === "drain" ? "Drain" : "Demote",
      danger: action === "drain",
    });
    if (!ok) return false;
  }
  try {
    await api.swarmNodeAction(n.id, action);
    toast(`${n.hostname}: ${action} done`, "ok");
    await loadNodes();
    refreshNow();
    return true;
  } catch (err) {
    toast(`${action} ${n.hostname} failed: ${(err as Error).message}`, "error");
    return false;
  }
}
