/**
 * The network tools panel, shown in the Network view: run a LAN scan, a port scan or a WAN check
 * from a node, follow it live, and read what it found (hosts outside the fleet can be onboarded
 * from here). Scans come from the hub's list and stay current through the stream.
 *
 * @module
 */
import { useEffect } from "preact/hooks";
import { loadScans, scansError } from "../../state/network_scans.ts";
import { Icon } from "../../ui/icon.tsx";
import { ScanForm } from "./scans/scan_form.tsx";
import { ScanList } from "./scans/scan_list.tsx";
import { ScanResultView } from "./scans/scan_result.tsx";

/** Properties of {@link ScansPanel}. */
export interface ScansPanelProps {
  /** Preselects the node the tools run from. */
  nodeId?: string;
}

/** The scans panel (LAN scan, port scan, WAN check). */
export function ScansPanel({ nodeId }: ScansPanelProps = {}) {
  useEffect(() => void loadScans(), []);
  return (
    <section class="netscan" data-testid="network-scans">
      <header class="netscan-head">
        <Icon name="search" size={16} />
        <h2>Network tools</h2>
        <span class="muted">
          LAN and port scans, WAN checks — run from a node, bounded, audited
        </span>
      </header>
      <ScanForm nodeId={nodeId} />
      {scansError.value ? <p class="inline-error">{scansError.value}</p> : null}
      <ScanResultView />
      <ScanList />
    </section>
  );
}
