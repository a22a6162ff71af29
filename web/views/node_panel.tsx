/**
 * The details panel of one node, at the right of the current view: header with status and
 * "last seen", live sparklines, history chart, per-core CPU, memory, disks, network, GPUs,
 * sensors, containers, recent jobs and (for admins) actions. It follows the node's signal, so
 * every sample refreshes it; the close button or Escape closes it (`selectedNode = null`).
 *
 * @module
 */
import { useEffect } from "preact/hooks";
import { nodeSignal } from "../state/fleet.ts";
import { selectedNode } from "../state/ui.ts";
import { Icon } from "../ui/icon.tsx";
import { Actions } from "./node_panel/actions.tsx";
import { Containers } from "./node_panel/containers.tsx";
import { CpuCores } from "./node_panel/cpu_cores.tsx";
import { Gpus } from "./node_panel/gpus.tsx";
import { PanelHeader } from "./node_panel/header.tsx";
import { History } from "./node_panel/history.tsx";
import { LiveSparks } from "./node_panel/live_sparks.tsx";
import { Network } from "./node_panel/network.tsx";
import { LinkSection } from "./node_panel/link.tsx";
import { RecentJobs } from "./node_panel/recent_jobs.tsx";
import { Services } from "./node_panel/services.tsx";
import { PowerRails, Temps } from "./node_panel/sensors.tsx";
import { Disks, Memory } from "./node_panel/storage.tsx";
import { NodeAlerts } from "./alerts/node_alerts.tsx";

function close(): void {
  selectedNode.value = null;
}

/** Escape closes the panel, unless a dialog is open or the key was meant for a field. */
function useEscape(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape" || e.defaultPrevented) return;
      if (document.querySelector(".modal-back")) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) {
        return;
      }
      close();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);
}

/** The node is gone (removed, or a stale id). */
function Missing({ id }: { id: string }) {
  return (
    <aside class="panel node-panel" data-testid="node-panel" data-node-id={id}>
      <div class="panel-missing empty-state">
        <Icon name="alert" size={28} />
        <p>
          Node <code>{id}</code> is not in the fleet any more.
        </p>
        <button type="button" onClick={close} data-testid="panel-close">Close</button>
      </div>
    </aside>
  );
}

/** The details panel of one node. */
export function NodePanel({ id }: { id: string }) {
  useEscape();
  const sig = nodeSignal(id);
  if (!sig) return <Missing id={id} />;
  const node = sig.value;
  const s = node.last_sample;
  return (
    <aside
      class={`panel node-panel ${node.status}`}
      data-testid="node-panel"
      data-node-id={id}
      aria-label={`details of ${node.name}`}
    >
      <PanelHeader node={node} />
      <div class="panel-body">
        <NodeAlerts id={id} />
        <LiveSparks node={node} />
        <History key={id} id={id} />
        {s
          ? (
            <>
              <CpuCores sample={s} />
              <Memory sample={s} />
              <Gpus sample={s} />
              <Temps sample={s} />
              <PowerRails sample={s} />
              <Disks sample={s} />
              <Network sample={s} />
              <Containers sample={s} />
            </>
          )
          : (
            <div class="psec psec-quiet" data-testid="panel-no-sample">
              No sample yet: hardware, disks, network and containers appear with the first one.
            </div>
          )}
        <LinkSection key={`link-${id}`} id={id} />
        <RecentJobs key={id} id={id} />
        <Services key={`svc-${id}`} id={id} />
        <Actions node={node} />
      </div>
    </aside>
  );
}
