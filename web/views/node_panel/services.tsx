/**
 * The node's listening services and established connections, read from its agent on opening
 * the panel (and on Refresh; `/proc/net` plus the owning process where the agent may read it),
 * and its latest WAN check with a button to run one (admins). No polling: a finished WAN check
 * arrives as a `network.scan` event.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { NetworkScan, NodeConnections, SocketEntry } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { nodeSignal } from "../../state/fleet.ts";
import { formatTime } from "../../state/format.ts";
import { isAdmin } from "../../state/session.ts";
import { act } from "../../state/ui.ts";
import { onEvent } from "../../state/stream.ts";
import { Icon } from "../../ui/icon.tsx";
import { WanTargets } from "../network/scans/scan_result.tsx";
import { Quiet, Section } from "./section.tsx";

const SHOWN = 12;

const addr = (a: string, p: number) => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);

function SocketRows({ list, remote }: { list: SocketEntry[]; remote: boolean }) {
  const all = useSignal(false);
  const shown = all.value ? list : list.slice(0, SHOWN);
  return (
    <>
      <table class="grid svc-table">
        <tbody>
          {shown.map((s, i) => (
            <tr key={i} data-testid={remote ? "conn-row" : "listen-row"} data-port={s.local_port}>
              <td class="mono svc-proto">{s.proto}</td>
              <td class="mono">
                {remote
                  ? `${addr(s.local, s.local_port)} → ${addr(s.remote, s.remote_port)}`
                  : addr(s.local, s.local_port)}
              </td>
              <td class="svc-proc">
                {s.process ?? <span class="muted">?</span>}
                {s.pid ? <span class="muted svc-pid">· {s.pid}</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.length > SHOWN
        ? (
          <button type="button" class="link" onClick={() => (all.value = !all.value)}>
            {all.value ? "show fewer" : `show all ${list.length}`}
          </button>
        )
        : null}
    </>
  );
}

/** The Services & connections section of the node panel. */
export function Services({ id }: { id: string }) {
  const conns = useSignal<NodeConnections | null>(null);
  const error = useSignal<string | null>(null);
  const loading = useSignal(false);
  const wan = useSignal<NetworkScan | null>(null);
  const control = nodeSignal(id)?.value.control ?? false;

  const load = () => {
    if (!control) return;
    loading.value = true;
    api.nodeConnections(id).then((c) => {
      conns.value = c;
      error.value = null;
    }).catch((err) => (error.value = (err as Error).message))
      .finally(() => (loading.value = false));
  };
  useEffect(() => {
    load();
    api.latestNetworkScan(id, "wan").then((s) => (wan.value = s)).catch(() => {});
    return onEvent("network.scan", (e) => {
      if (e.scan.node_id !== id || e.scan.kind !== "wan" || e.scan.state === "running") return;
      api.latestNetworkScan(id, "wan").then((s) => (wan.value = s)).catch(() => {});
    });
  }, [id, control]);

  const c = conns.value;
  const w = wan.value;
  return (
    <Section
      title="Services & connections"
      icon="net"
      testid="panel-services"
      tools={
        <button
          type="button"
          class="ghost icon"
          aria-label="Refresh services"
          title="Read the node's sockets again"
          disabled={!control || loading.value}
          onClick={load}
        >
          {loading.value ? <span class="spinner small" /> : <Icon name="refresh" size={14} />}
        </button>
      }
    >
      {!control
        ? <Quiet>The agent is not on its control channel: sockets cannot be read now.</Quiet>
        : error.value
        ? <p class="inline-error">{error.value}</p>
        : !c
        ? <Quiet>Reading sockets…</Quiet>
        : (
          <>
            <h4 class="svc-sub">
              Listening <span class="svc-count">{c.listening.length}</span>
            </h4>
            {c.listening.length
              ? <SocketRows list={c.listening} remote={false} />
              : <Quiet>Nothing listens.</Quiet>}
            <h4 class="svc-sub">
              Established <span class="svc-count">{c.established.length}</span>
            </h4>
            {c.established.length
              ? <SocketRows list={c.established} remote />
              : <Quiet>No connections.</Quiet>}
            {Object.keys(c.other).length
              ? (
                <p class="svc-other muted">
                  {Object.entries(c.other).map(([k, v]) => `${v} ${k}`).join(" · ")}
                </p>
              )
              : null}
            {!c.processes_complete
              ? (
                <p class="svc-other muted">
                  Some processes could not be read: run the agent as root to see every owner.
                </p>
              )
              : null}
          </>
        )}
      <h4 class="svc-sub">
        WAN{" "}
        {w ? <span class="muted">checked {formatTime(w.finished_at ?? w.created_at)}</span> : null}
      </h4>
      {w?.result?.kind === "wan"
        ? <WanTargets r={w.result} compact />
        : w?.error
        ? <p class="inline-error">{w.error}</p>
        : <Quiet>No WAN check yet.</Quiet>}
      {isAdmin.value && control
        ? (
          <button
            type="button"
            class="small"
            data-testid="wan-check"
            onClick={() => void act("WAN check started", () => api.wanCheck({ node: id }))}
          >
            <Icon name="activity" size={12} /> Check WAN
          </button>
        )
        : null}
    </Section>
  );
}
