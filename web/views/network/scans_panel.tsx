/**
 * The network tools panel: LAN scans, port scans and WAN checks run from a node.
 *
 * @module
 */

/** Properties of {@link ScansPanel}. */
export interface ScansPanelProps {
  /** Preselects the node the tools run from. */
  nodeId?: string;
}

/** The scans panel (LAN scan, port scan, WAN check). */
export function ScansPanel(_p: ScansPanelProps = {}) {
  return (
    <section class="netscan" data-testid="network-scans">
      <h2>Network tools</h2>
    </section>
  );
}
