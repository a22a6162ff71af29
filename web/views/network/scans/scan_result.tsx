/**
 * The result of one scan: the hosts a LAN scan found (IP, MAC, vendor, name, open ports, the
 * fleet node or an Onboard button), a port scan's ports (state, round trip, banner) or a WAN
 * check's timings per target. Says when the time limit stopped the scan and how far it got.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type {
  LanHost,
  LanScanResult,
  NetworkScan,
  PortScanResult,
  WanCheckResult,
} from "../../../../shared/protocol/mod.ts";
import { api } from "../../../state/api.ts";
import { isAdmin } from "../../../state/session.ts";
import { act } from "../../../state/ui.ts";
import { openScan } from "../../../state/network_scans.ts";
import { Icon } from "../../../ui/icon.tsx";
import { ScanState } from "./scan_list.tsx";
import { OnboardDialog } from "./onboard_dialog.tsx";

const ms = (v: number | null) =>
  v === null ? "—" : `${v < 1 ? v.toFixed(2) : v < 10 ? v.toFixed(1) : Math.round(v)} ms`;

function LanHosts({ r }: { r: LanScanResult }) {
  const onboarding = useSignal<LanHost | null>(null);
  const admin = isAdmin.value;
  return (
    <>
      <table class="grid" data-testid="lan-hosts">
        <thead>
          <tr>
            <th>Address</th>
            <th>MAC</th>
            <th>Vendor</th>
            <th>Name</th>
            <th>Open ports</th>
            <th class="right">RTT</th>
            <th>Fleet</th>
          </tr>
        </thead>
        <tbody>
          {r.hosts.map((h) => (
            <tr key={h.ip} data-testid="lan-host" data-ip={h.ip}>
              <td class="mono">
                {h.ip}
                <div class="sub muted">{h.seen.join(" · ")}</div>
              </td>
              <td class="mono">{h.mac ?? "—"}</td>
              <td>{h.vendor ?? <span class="muted">{h.mac ? "unknown / local" : "—"}</span>}</td>
              <td>{h.name ?? <span class="muted">—</span>}</td>
              <td class="mono">{h.ports.length ? h.ports.join(", ") : "—"}</td>
              <td class="right">{ms(h.rtt_ms)}</td>
              <td>
                {h.seen.includes("self")
                  ? <span class="chip">scanning node</span>
                  : h.fleet_node
                  ? <span class="chip netscan-ok">{h.fleet_node}</span>
                  : admin
                  ? (
                    <button
                      type="button"
                      class="small"
                      onClick={() => (onboarding.value = h)}
                      data-testid="onboard"
                    >
                      <Icon name="plus" size={12} /> Onboard…
                    </button>
                  )
                  : <span class="muted">not in fleet</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {onboarding.value
        ? <OnboardDialog host={onboarding.value} onClose={() => (onboarding.value = null)} />
        : null}
    </>
  );
}

function Ports({ r }: { r: PortScanResult }) {
  const closed = useSignal(false);
  // What answered comes first; closed ports (usually most of them) only on request.
  const shown = r.ports.filter((p) => p.state !== "closed" || closed.value);
  return (
    <>
      <p class="netscan-counts">
        <span class="chip netscan-ok">{r.counts.open} open</span>
        <button
          type="button"
          class={`chip netscan-toggle${closed.value ? " on" : ""}`}
          onClick={() => (closed.value = !closed.value)}
          title={closed.value ? "hide closed ports" : "list closed ports too"}
        >
          {r.counts.closed} closed
        </button>
        <span class="chip netscan-warn">{r.counts.filtered} filtered</span>
        <span class="muted">{r.host}{r.host !== r.ip ? ` (${r.ip})` : ""}</span>
      </p>
      <table class="grid" data-testid="port-results">
        <thead>
          <tr>
            <th>Port</th>
            <th>State</th>
            <th class="right">RTT</th>
            <th>Banner</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((p) => (
            <tr key={p.port} data-testid="port-row" data-port={p.port} data-state={p.state}>
              <td class="mono">{p.port}</td>
              <td>
                <span class={`chip netscan-${p.state}`}>{p.state}</span>
              </td>
              <td class="right">{ms(p.rtt_ms)}</td>
              <td class="mono netscan-banner">{p.banner ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 ? <p class="muted netscan-note">Every probed port is closed.</p> : null}
    </>
  );
}

/** A WAN check's targets (also used by the node panel). */
export function WanTargets({ r, compact }: { r: WanCheckResult; compact?: boolean }) {
  if (compact) {
    return (
      <table class="grid svc-table" data-testid="wan-results">
        <tbody>
          {r.targets.map((t) => (
            <tr key={t.name} data-testid="wan-row" data-ok={String(t.ok)} title={t.target}>
              <td>
                <i class={`dot ${t.ok ? "online" : "offline"}`} /> {t.name}
              </td>
              <td class="right mono">
                {t.ok
                  ? `${ms((t.dns_ms ?? 0) + (t.tcp_ms ?? 0) + (t.http_ms ?? 0))}`
                  : <span class="netscan-warn-text">{t.error ?? "failed"}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return (
    <table class="grid" data-testid="wan-results">
      <thead>
        <tr>
          <th>Target</th>
          <th class="right">DNS</th>
          <th class="right">TCP</th>
          <th class="right">HTTP</th>
          <th>Result</th>
        </tr>
      </thead>
      <tbody>
        {r.targets.map((t) => (
          <tr key={t.name} data-testid="wan-row" data-ok={String(t.ok)}>
            <td>
              {t.name}
              <div class="sub muted mono">{t.target}</div>
            </td>
            <td class="right">{ms(t.dns_ms)}</td>
            <td class="right">{ms(t.tcp_ms)}</td>
            <td class="right">
              {t.http_status !== null ? `${t.http_status} · ${ms(t.http_ms)}` : "—"}
            </td>
            <td>
              {t.ok
                ? <span class="chip netscan-ok">reachable</span>
                : <span class="chip netscan-bad" title={t.error ?? ""}>{t.error ?? "failed"}</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function summary(s: NetworkScan): string {
  const r = s.result;
  if (!r) return "";
  const secs = `${(r.elapsed_ms / 1000).toFixed(1)} s`;
  if (r.kind === "lan") {
    const how = r.method === "ping" ? "ping sweep" : "TCP sweep";
    return `${how} of ${r.probed}/${r.total} addresses in ${secs}`;
  }
  if (r.kind === "port") return `${r.probed}/${r.total} ports in ${secs}`;
  return `${r.targets.length} targets in ${secs}`;
}

/** The open scan's result. */
export function ScanResultView() {
  const s = openScan.value;
  if (!s) return null;
  const r = s.result;
  return (
    <section class="card netscan-result" data-testid="scan-result" data-scan-id={s.id}>
      <header class="netscan-result-head">
        <h3>
          {s.kind === "lan" ? "LAN scan" : s.kind === "port" ? "Port scan" : "WAN check"}{" "}
          <span class="mono">{s.target}</span> <span class="muted">from {s.node_id}</span>
        </h3>
        <ScanState s={s} />
        <span class="muted">{summary(s)}</span>
        <span class="grow" />
        {s.state === "running" && isAdmin.value
          ? (
            <button
              type="button"
              class="small danger"
              onClick={() => void act("Scan stopped", () => api.cancelNetworkScan(s.id))}
            >
              <Icon name="stop" size={12} /> Stop
            </button>
          )
          : null}
        <button
          type="button"
          class="ghost icon"
          aria-label="Close result"
          onClick={() => (openScan.value = null)}
        >
          <Icon name="close" size={14} />
        </button>
      </header>
      {s.error ? <p class="inline-error">{s.error}</p> : null}
      {r?.kind === "lan" && r.note ? <p class="muted netscan-note">{r.note}</p> : null}
      {r?.stopped === "time_limit"
        ? (
          <p class="netscan-note netscan-warn-text">
            Stopped at its time limit: what was probed before it is shown; raise time_limit_s or
            narrow the range to see the rest.
          </p>
        )
        : null}
      {s.state === "running"
        ? <p class="muted">Running — results appear when it ends.</p>
        : r?.kind === "lan"
        ? <LanHosts r={r} />
        : r?.kind === "port"
        ? <Ports r={r} />
        : r?.kind === "wan"
        ? <WanTargets r={r} />
        : null}
    </section>
  );
}
