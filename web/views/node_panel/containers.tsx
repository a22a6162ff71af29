/**
 * The containers of a node. While its agent holds the control channel the list comes from the
 * agent (`GET /api/v1/nodes/:id/containers`, stopped containers too) and every row has actions:
 * Logs (anyone), Restart, Stop and Remove (admins; each confirmed, Stop and Remove in red, and
 * the list re-read after). Without a channel, or when the agent runs without Docker, it falls
 * back to the latest sample's list, read-only. CPU and memory come from the sample either way.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { ContainerInfo, Sample } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { nodeSignal } from "../../state/fleet.ts";
import { formatBytes } from "../../state/format.ts";
import { isAdmin } from "../../state/session.ts";
import { selectedNode, toast } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { confirmDialog } from "../../ui/modal.tsx";
import { auditTouched } from "../audit/audit_state.ts";
import { ContainerLogs } from "./container_logs.tsx";
import { Quiet, Section } from "./section.tsx";

type Action = "restart" | "stop" | "remove";
type ContainerStat = NonNullable<Sample["containers"]>[number];

/** A row: the agent's entry or the sample's, with the sample's numbers when known. */
interface Row {
  id?: string;
  name: string;
  image: string;
  state: string;
  status?: string;
  cpu_pct?: number;
  mem_b?: number;
}

function stateTone(state: string): string {
  if (state === "running") return "ok";
  if (state === "restarting" || state === "paused" || state === "created") return "wait";
  if (state === "dead") return "bad";
  return "off";
}

function sortRows(list: Row[]): Row[] {
  return list.slice().sort((a, b) =>
    Number(b.state === "running") - Number(a.state === "running") || a.name.localeCompare(b.name)
  );
}

function merge(agent: ContainerInfo[], stats: ContainerStat[] | undefined): Row[] {
  const byId = new Map((stats ?? []).map((s) => [s.id ?? s.name, s]));
  return agent.map((c) => {
    const s = byId.get(c.id) ?? byId.get(c.name);
    return { ...c, cpu_pct: s?.cpu_pct, mem_b: s?.mem_b };
  });
}

/** How the routes name a container: its name (what the audit log then shows), else its id. */
function refOf(c: Row): string {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(c.name) ? c.name : c.id ?? c.name;
}

const VERB: Record<Action, string> = { restart: "Restarted", stop: "Stopped", remove: "Removed" };

function ContainerRow({ c, node, live, busy, onAct, onLogs }: {
  c: Row;
  node: string;
  live: boolean;
  busy: boolean;
  onAct: (c: Row, a: Action) => void;
  onLogs: (c: Row) => void;
}) {
  const admin = isAdmin.value;
  const running = c.state === "running";
  return (
    <div class="ctr" data-testid="container-row" data-name={c.name} data-state={c.state}>
      <span class={`ctr-state tone-${stateTone(c.state)}`} title={c.status ?? c.state}>
        {busy ? <span class="spinner small" /> : <i class="state-dot" />}
        {c.state}
      </span>
      <div class="ctr-main">
        <b class="ctr-name" title={c.id ? `${c.name} · ${c.id.slice(0, 12)}` : c.name}>{c.name}</b>
        <code class="ctr-image" title={c.image}>{c.image}</code>
      </div>
      <div class="ctr-use" title={c.status}>
        <span>{c.cpu_pct === undefined ? "—" : `${c.cpu_pct.toFixed(1)} %`}</span>
        <span class="mute">{c.mem_b === undefined ? "" : formatBytes(c.mem_b)}</span>
      </div>
      {live
        ? (
          <div class="ctr-actions" aria-label={`actions for ${c.name} on ${node}`}>
            <button
              type="button"
              class="ghost icon"
              title="Logs"
              onClick={() => onLogs(c)}
              data-testid="container-logs"
            >
              <Icon name="jobs" size={14} />
            </button>
            {admin
              ? (
                <>
                  <button
                    type="button"
                    class="ghost icon"
                    title="Restart"
                    disabled={busy}
                    onClick={() => onAct(c, "restart")}
                    data-testid="container-restart"
                  >
                    <Icon name="retry" size={14} />
                  </button>
                  <button
                    type="button"
                    class="ghost icon"
                    title={running ? "Stop" : "Already stopped"}
                    disabled={busy || !running}
                    onClick={() => onAct(c, "stop")}
                    data-testid="container-stop"
                  >
                    <Icon name="stop" size={14} />
                  </button>
                  <button
                    type="button"
                    class="ghost icon danger-icon"
                    title="Remove"
                    disabled={busy}
                    onClick={() => onAct(c, "remove")}
                    data-testid="container-remove"
                  >
                    <Icon name="trash" size={14} />
                  </button>
                </>
              )
              : null}
          </div>
        )
        : null}
    </div>
  );
}

function confirmText(c: Row, a: Action, nodeName: string) {
  if (a === "restart") {
    return {
      title: `Restart ${c.name}?`,
      body: (
        <p>
          The engine on <b>{nodeName}</b> stops <code>{c.name}</code>{" "}
          (SIGTERM, then SIGKILL after 10 s) and starts it again.
        </p>
      ),
      confirm: "Restart",
      danger: false,
    };
  }
  if (a === "stop") {
    return {
      title: `Stop ${c.name}?`,
      body: (
        <p>
          <code>{c.name}</code> on <b>{nodeName}</b>{" "}
          gets SIGTERM, then SIGKILL after 10 s. It stays on the node, stopped, until started or
          removed.
        </p>
      ),
      confirm: "Stop container",
      danger: true,
    };
  }
  return {
    title: `Remove ${c.name}?`,
    body: (
      <p>
        {c.state === "running"
          ? (
            <>
              <code>{c.name}</code> is <b>running</b> on{" "}
              <b>{nodeName}</b>: it is killed and removed with its writable layer.
            </>
          )
          : (
            <>
              <code>{c.name}</code> is removed from <b>{nodeName}</b> with its writable layer.
            </>
          )} Its image and named volumes stay.
      </p>
    ),
    confirm: "Remove container",
    danger: true,
  };
}

function NodeContainers({ id, sample }: { id: string; sample: Sample }) {
  const node = nodeSignal(id)?.value;
  const live = node?.control === true;
  const agentList = useSignal<ContainerInfo[] | null>(null);
  const loading = useSignal(false);
  const error = useSignal<{ status: number; message: string } | null>(null);
  const busy = useSignal<string | null>(null);
  const logs = useSignal<Row | null>(null);

  const load = async () => {
    loading.value = true;
    try {
      agentList.value = await api.containers(id);
      error.value = null;
    } catch (err) {
      const e = err as Error & { status?: number };
      error.value = { status: e.status ?? 0, message: e.message };
    } finally {
      loading.value = false;
    }
  };
  // Read from the agent when its channel is up (again), and when the samples show the set of
  // containers or their states changed (started or removed elsewhere): live, without polling.
  const shape = (sample.containers ?? []).map((c) => `${c.id ?? c.name}:${c.state}`).sort()
    .join(",");
  useEffect(() => {
    if (live) void load();
    else agentList.value = null;
  }, [id, live, shape]);

  const act = async (c: Row, a: Action) => {
    const ok = await confirmDialog(confirmText(c, a, node?.name ?? id));
    if (!ok) return;
    const ref = refOf(c);
    busy.value = c.name;
    try {
      const force = a === "remove" && c.state !== "exited" && c.state !== "created" &&
        c.state !== "dead";
      await api.containerAction(id, ref, a, force);
      toast(`${VERB[a]} ${c.name} on ${node?.name ?? id}`, "ok");
    } catch (err) {
      toast(
        `${a[0].toUpperCase()}${a.slice(1)} ${c.name} failed: ${(err as Error).message}`,
        "error",
      );
    } finally {
      busy.value = null;
      auditTouched();
      await load();
    }
  };

  // The agent's list when there is one; else the sample's (read-only).
  const fromAgent = live && agentList.value !== null;
  const rows = sortRows(
    fromAgent ? merge(agentList.value!, sample.containers) : (sample.containers ?? []),
  );
  const running = rows.filter((c) => c.state === "running").length;
  const noDocker = error.value?.status === 503;
  let note: string | null = null;
  if (!live) note = "From the last sample: actions need the agent's control channel.";
  else if (noDocker) note = `From the last sample: ${error.value!.message}.`;
  else if (error.value) note = `Could not list from the agent: ${error.value.message}`;

  return (
    <Section
      title="Containers"
      icon="box"
      note={rows.length ? `${running} running / ${rows.length}` : undefined}
      testid="panel-containers"
      tools={live
        ? (
          <button
            type="button"
            class="ghost icon"
            title="Re-read from the agent"
            aria-label="Refresh containers"
            onClick={() => void load()}
            disabled={loading.value}
            data-testid="containers-refresh"
          >
            {loading.value ? <span class="spinner small" /> : <Icon name="refresh" size={13} />}
          </button>
        )
        : null}
    >
      {note
        ? (
          <p
            class={`ctr-note${error.value && !noDocker ? " bad-text" : ""}`}
            data-testid="containers-note"
          >
            {note}
          </p>
        )
        : null}
      {live && agentList.value === null && loading.value && !rows.length
        ? (
          <Quiet>
            <span class="spinner small" /> Asking the agent…
          </Quiet>
        )
        : !fromAgent && sample.containers === undefined
        ? <Quiet>No container runtime reported.</Quiet>
        : rows.length === 0
        ? <Quiet>No containers on this node.</Quiet>
        : (
          <div
            class={`ctr-list${fromAgent ? " live" : ""}`}
            data-source={fromAgent ? "agent" : "sample"}
          >
            {rows.map((c) => (
              <ContainerRow
                key={c.id ?? c.name}
                c={c}
                node={id}
                live={fromAgent}
                busy={busy.value === c.name}
                onAct={(row, a) => void act(row, a)}
                onLogs={(row) => (logs.value = row)}
              />
            ))}
          </div>
        )}
      {logs.value
        ? (
          <ContainerLogs
            node={id}
            cid={refOf(logs.value)}
            name={logs.value.name}
            onClose={() => (logs.value = null)}
          />
        )
        : null}
    </Section>
  );
}

/** The container list of the node whose panel is open. */
export function Containers({ sample }: { sample: Sample }) {
  const id = selectedNode.value;
  if (!id) return null;
  return <NodeContainers key={id} id={id} sample={sample} />;
}
