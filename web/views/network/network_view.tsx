/**
 * The Network view: every node's link to the hub, worst first — control-channel round trip
 * (last and mean of the window), ping loss, the agent's own probe of the hub, rx/tx rates and a
 * sparkline of the last hour's round trips — live from `link.quality` events; the network tools
 * (scans) below. The sparkline shows the last hour by minute until the live readings cover five
 * minutes, then those. Clicking a row opens the node's panel.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { NodeLink } from "../../../shared/protocol/mod.ts";
import { linkGrade } from "../../../shared/link_rank.ts";
import {
  linkSeries,
  linksError,
  linksVersion,
  linksWorstFirst,
  loadLinkHistory,
  loadLinks,
  pingInfo,
} from "../../state/network.ts";
import { nodeSignal } from "../../state/fleet.ts";
import { formatBitRate } from "../../state/format.ts";
import { selectedNode } from "../../state/ui.ts";
import { Sparkline } from "../../ui/sparkline.tsx";
import { ScansPanel } from "./scans_panel.tsx";

const GRADE_COLOUR = {
  good: "var(--green)",
  fair: "var(--amber)",
  poor: "var(--red)",
  down: "var(--mute)",
} as const;

function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`;
}

function pct(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return v === 0 ? "0 %" : v < 10 ? `${v.toFixed(1)} %` : `${Math.round(v)} %`;
}

function lossClass(v: number | null | undefined): string {
  return v === null || v === undefined ? "mute" : v >= 5 ? "bad" : v > 0 ? "warn" : "ok";
}

function LinkRow({ l }: { l: NodeLink }) {
  const n = nodeSignal(l.node_id)?.value;
  const grade = linkGrade(l);
  const s = linkSeries(l.node_id);
  return (
    <tr
      class={`clickable grade-${grade}${selectedNode.value === l.node_id ? " selected" : ""}`}
      data-testid="link-row"
      data-node={l.node_id}
      data-grade={grade}
      onClick={() => (selectedNode.value = l.node_id)}
    >
      <td class="link-node">
        <span class={`dot ${n?.status ?? "pending"}`} />
        <span class="name">{n?.name ?? l.node_id}</span>
        {n?.cluster ? <span class="mute cluster">{n.cluster}</span> : null}
      </td>
      <td>
        <span class={`grade ${grade}`} data-testid="link-grade">{grade}</span>
      </td>
      <td class="num" data-testid="link-rtt" title="last ping · mean of the window">
        {l.connected ? ms(l.rtt_ms) : "—"}
        {l.connected && l.rtt_avg_ms !== null
          ? <span class="sub">avg {ms(l.rtt_avg_ms)}</span>
          : null}
      </td>
      <td
        class={`num ${lossClass(l.loss_pct)}`}
        data-testid="link-loss"
        title={`${l.pings} pings in the window`}
      >
        {l.connected ? pct(l.loss_pct) : "—"}
      </td>
      <td class="num" data-testid="link-probe" title="the agent's own probe of the hub">
        {ms(l.probe_rtt_ms)}
        {l.probe_loss_pct !== null
          ? (
            <span class={`sub ${lossClass(l.probe_loss_pct)}`}>
              {pct(l.probe_loss_pct)} lost
            </span>
          )
          : null}
      </td>
      <td class="num">{formatBitRate(l.rx_bps)}</td>
      <td class="num">{formatBitRate(l.tx_bps)}</td>
      <td class="spark">
        {s && s.rtt.some((v) => v !== null)
          ? (
            <Sparkline
              values={s.rtt}
              ts={s.minutes ? s.ts : undefined}
              windowMs={s.minutes ? 3600_000 : undefined}
              min={0}
              height={26}
              color={GRADE_COLOUR[grade]}
              data-testid="link-spark"
            />
          )
          : <span class="mute">no data</span>}
      </td>
    </tr>
  );
}

/** Rows drawn until asked for all: the worst links are the ones that matter at 1,000 nodes. */
const ROWS = 100;

/** The Network view. */
export function NetworkView() {
  void linksVersion.value;
  const [all, setAll] = useState(false);
  const links = linksWorstFirst();
  const shown = all ? links : links.slice(0, ROWS);
  useEffect(() => void loadLinks(), []);
  const ids = shown.map((l) => l.node_id).join(",");
  useEffect(() => {
    if (ids) void loadLinkHistory(ids.split(","));
  }, [ids]);
  const counts = { good: 0, fair: 0, poor: 0, down: 0 };
  for (const l of links) counts[linkGrade(l)]++;
  const info = pingInfo.value;
  return (
    <div class="view network-view" data-testid="network-view">
      <div class="view-head">
        <div>
          <h2>Network</h2>
          <p class="view-sub">
            Hub ↔ node links, worst first. {info
              ? `The hub pings every agent every ${
                info.ping_ms / 1000
              } s; a ping not answered within ${info.ping_timeout_ms / 1000} s counts as lost.`
              : null}
          </p>
        </div>
        <div class="grade-counts" data-testid="grade-counts">
          {(["poor", "fair", "good", "down"] as const).map((g) => (
            <span class={`grade ${g}`} title={`${counts[g]} ${g}`}>
              {counts[g]} {g}
            </span>
          ))}
        </div>
      </div>
      {linksError.value ? <div class="inline-error" role="alert">{linksError.value}</div> : null}
      <div class="card table-card link-card">
        {links.length === 0
          ? (
            <div class="empty-state table-empty" data-state="empty">
              No nodes yet: links appear as agents connect.
            </div>
          )
          : (
            <table class="grid link-table" data-testid="link-table">
              <thead>
                <tr>
                  <th>Node</th>
                  <th>Link</th>
                  <th class="num">Round trip</th>
                  <th class="num">Ping loss</th>
                  <th class="num">Agent → hub</th>
                  <th class="num">Rx</th>
                  <th class="num">Tx</th>
                  <th>Round trip, recent</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((l) => <LinkRow key={l.node_id} l={l} />)}
              </tbody>
            </table>
          )}
        {links.length > ROWS
          ? (
            <div class="load-more">
              <button
                type="button"
                onClick={() => setAll(!all)}
                data-testid="links-all"
              >
                {all ? `Show the worst ${ROWS}` : `Show all ${links.length}`}
              </button>
            </div>
          )
          : null}
      </div>
      <ScansPanel />
    </div>
  );
}
