/**
 * Recent scans, newest first: what ran from which node, by whom, and how it ended — a running
 * one with its live progress bar (from `network.scan` events), a finished one with what it
 * found and whether its time limit stopped it. A click opens its result.
 *
 * @module
 */
import type { NetworkScan } from "../../../../shared/protocol/mod.ts";
import { formatTime } from "../../../state/format.ts";
import { openScan, scans, showScan } from "../../../state/network_scans.ts";

const KIND: Record<NetworkScan["kind"], string> = {
  lan: "LAN",
  port: "Ports",
  wan: "WAN",
};

function found(s: NetworkScan): string {
  const n = s.progress.found;
  if (s.kind === "lan") return `${n} host${n === 1 ? "" : "s"}`;
  if (s.kind === "port") return `${n} open`;
  return `${n}/${s.progress.total} ok`;
}

/** The state cell: progress while running, else the outcome. */
export function ScanState({ s }: { s: NetworkScan }) {
  if (s.state === "running") {
    const pct = s.progress.total ? (100 * s.progress.probed) / s.progress.total : 0;
    return (
      <div class="netscan-progress" data-testid="scan-progress">
        <div class="bar">
          <i style={{ width: `${pct}%` }} />
        </div>
        <span>{s.progress.total ? `${s.progress.probed}/${s.progress.total}` : "starting"}</span>
      </div>
    );
  }
  const tone = s.state === "failed" ? "bad" : s.stopped === "time_limit" ? "warn" : "ok";
  const text = s.state === "failed"
    ? "failed"
    : s.stopped === "time_limit"
    ? "stopped at time limit"
    : s.state;
  return <span class={`chip netscan-${tone}`} title={s.error ?? undefined}>{text}</span>;
}

/** The list. */
export function ScanList() {
  const list = scans.value;
  const open = openScan.value?.id;
  if (list.length === 0) {
    return <p class="table-empty">No scans yet: run one above.</p>;
  }
  return (
    <div class="card table-card netscan-list">
      <table class="grid" data-testid="scan-list">
        <thead>
          <tr>
            <th>Tool</th>
            <th>From</th>
            <th>Target</th>
            <th>State</th>
            <th class="right">Found</th>
            <th>By</th>
            <th class="right">Started</th>
          </tr>
        </thead>
        <tbody>
          {list.map((s) => (
            <tr
              key={s.id}
              class={`clickable${s.id === open ? " selected" : ""}`}
              tabIndex={0}
              onClick={() => void showScan(s.id)}
              onKeyDown={(e) => e.key === "Enter" && void showScan(s.id)}
              data-testid="scan-row"
              data-scan-id={s.id}
              data-state={s.state}
            >
              <td>{KIND[s.kind]}</td>
              <td>{s.node_id}</td>
              <td class="mono">{s.target}</td>
              <td>
                <ScanState s={s} />
              </td>
              <td class="right">{s.state === "failed" ? "—" : found(s)}</td>
              <td>{s.by}</td>
              <td class="right">{formatTime(s.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
