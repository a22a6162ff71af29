/**
 * The node's network interfaces with their receive and send rates (bits per second, as links
 * are sold) and, on hover, the byte totals since boot.
 *
 * @module
 */
import type { Sample } from "../../../shared/protocol/mod.ts";
import { formatBitRate, formatBytes } from "../../state/format.ts";
import { Quiet, Section } from "./section.tsx";

/** Network interfaces with their rates. */
export function Network({ sample }: { sample: Sample }) {
  const net = sample.net ?? [];
  const rx = net.reduce((a, n) => a + n.rx_bps, 0);
  const tx = net.reduce((a, n) => a + n.tx_bps, 0);
  return (
    <Section
      title="Network"
      icon="net"
      note={net.length ? `↓ ${formatBitRate(rx)} · ↑ ${formatBitRate(tx)}` : undefined}
      testid="panel-net"
    >
      {net.length
        ? (
          <div class="rate-list">
            {net.map((n) => (
              <div class="rate-row" key={n.iface} data-testid="iface">
                <span class="mono">{n.iface}</span>
                <span class="rate rx" title={n.rx_b ? `${formatBytes(n.rx_b)} received` : "rx"}>
                  <i>↓</i>
                  {formatBitRate(n.rx_bps)}
                </span>
                <span class="rate tx" title={n.tx_b ? `${formatBytes(n.tx_b)} sent` : "tx"}>
                  <i>↑</i>
                  {formatBitRate(n.tx_bps)}
                </span>
              </div>
            ))}
          </div>
        )
        : <Quiet>No network interfaces reported.</Quiet>}
    </Section>
  );
}
