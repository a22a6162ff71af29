/**
 * The shell: login gate, side nav, the reconnecting banner, the current view, the node details
 * panel and toasts. Live data arrives through `state/`; this file only arranges.
 *
 * @module
 */
import { useEffect } from "preact/hooks";
import { effect } from "@preact/signals";
import { checkSession, logout, session } from "./state/session.ts";
import { connect, disconnect, streamError, streamState } from "./state/stream.ts";
import { startQueueState } from "./state/queue.ts";
import { startBackupState } from "./state/backups.ts";
import { loadLayout } from "./state/layout.ts";
import { hubInfo, statusCounts } from "./state/fleet.ts";
import { go, selectedNode, toasts, type View, view, VIEWS } from "./state/ui.ts";
import { LoginView } from "./views/login_view.tsx";
import { CanvasView } from "./views/canvas_view.tsx";
import { ClustersView } from "./views/clusters_view.tsx";
import { RoamersView } from "./views/roamers_view.tsx";
import { JobsView } from "./views/jobs_view.tsx";
import { NodePanel } from "./views/node_panel.tsx";
import { ExecView } from "./views/exec_view.tsx";
import { AuditView } from "./views/audit_view.tsx";
import { NetworkView } from "./views/network/network_view.tsx";
import { SwarmView } from "./views/swarm/swarm_view.tsx";
import { BackupsView } from "./views/backups_view.tsx";
import { NewBackupDialogHost } from "./views/backups/new_backup_dialog.tsx";
import { TerminalDock } from "./views/terminal/terminal_dock.tsx";
import { AlertsView } from "./views/alerts/alerts_view.tsx";
import { unackedCount } from "./state/alerts.ts";
import { Icon } from "./ui/icon.tsx";

const LABELS: Record<View, string> = {
  canvas: "Canvas",
  clusters: "Clusters",
  roamers: "Roamer pool",
  jobs: "Jobs",
  exec: "Batch exec",
  backups: "Backups",
  audit: "Audit log",
  network: "Network",
  alerts: "Alerts",
  swarm: "Swarm",
};

// Log in → load and stream; log out → stop.
effect(() => {
  if (session.value) {
    connect();
    startQueueState();
    startBackupState();
    void loadLayout();
  } else if (session.value === null) {
    disconnect();
  }
});

function Banner() {
  const s = streamState.value;
  if (s !== "reconnecting" && s !== "connecting") return null;
  return (
    <div class={`banner ${s}`} role="status" data-testid="stream-banner">
      <span class="spinner" />
      {s === "connecting"
        ? "Connecting to the hub…"
        : `Reconnecting to the hub… ${streamError.value ? `(${streamError.value})` : ""}`}
    </div>
  );
}

function Summary() {
  const c = statusCounts.value;
  return (
    <div class="summary" data-testid="summary">
      <span class="pill online" title="online">{c.online}</span>
      <span class="pill degraded" title="degraded">{c.degraded}</span>
      <span class="pill offline" title="offline">{c.offline}</span>
      {c.pending ? <span class="pill pending" title="pending">{c.pending}</span> : null}
    </div>
  );
}

function Nav() {
  return (
    <nav class="sidenav">
      <div class="brand" title={hubInfo.value ? `hub ${hubInfo.value.version}` : ""}>
        <Icon name="logo" size={26} />
      </div>
      {VIEWS.map((v) => (
        <button
          type="button"
          class={view.value === v ? "navitem active" : "navitem"}
          onClick={() => go(v)}
          title={LABELS[v]}
          data-view={v}
        >
          <Icon name={v} />
          <span>{LABELS[v]}</span>
          {v === "alerts" && unackedCount.value > 0
            ? <b class="nav-badge" data-testid="alerts-badge">{unackedCount.value}</b>
            : null}
        </button>
      ))}
    </nav>
  );
}

function TopBar() {
  const who = session.value!;
  return (
    <header class="topbar">
      <h1>Fleet Commander</h1>
      <span class="view-title">{LABELS[view.value]}</span>
      <Summary />
      <div class="spacer" />
      <span class={`who ${who.kind}`} data-testid="who">
        {who.name} · {who.kind}
      </span>
      <button type="button" class="ghost" onClick={() => void logout()} data-testid="logout">
        Log out
      </button>
    </header>
  );
}

function Toasts() {
  return (
    <div class="toasts" aria-live="polite">
      {toasts.value.map((t) => <div key={t.id} class={`toast ${t.kind}`}>{t.text}</div>)}
    </div>
  );
}

function CurrentView() {
  switch (view.value) {
    case "clusters":
      return <ClustersView />;
    case "roamers":
      return <RoamersView />;
    case "jobs":
      return <JobsView />;
    case "exec":
      return <ExecView />;
    case "audit":
      return <AuditView />;
    case "network":
      return <NetworkView />;
    case "alerts":
      return <AlertsView />;
    case "swarm":
      return <SwarmView />;
    case "backups":
      return <BackupsView />;
    default:
      return <CanvasView />;
  }
}

/** The whole UI. */
export function App() {
  useEffect(() => void checkSession(), []);
  if (session.value === undefined) {
    return (
      <div class="boot">
        <span class="spinner" />
      </div>
    );
  }
  if (session.value === null) return <LoginView />;
  return (
    <div class="shell">
      <Nav />
      <div class="main">
        <TopBar />
        <Banner />
        <div class="content">
          <CurrentView />
          {selectedNode.value ? <NodePanel id={selectedNode.value} /> : null}
        </div>
        <TerminalDock />
      </div>
      <NewBackupDialogHost />
      <Toasts />
    </div>
  );
}
