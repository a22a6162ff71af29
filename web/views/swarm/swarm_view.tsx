/**
 * The Swarm view: the cluster health strip, then tabs — Services (live, with task states and
 * drift), Catalog (definitions, versions, diff, build, deploy), Stacks, Nodes and Registry. The
 * open tab is in the URL (`#/swarm/<tab>`) and re-read live while shown. When the hub's engine
 * is not a swarm manager, or does not answer, the view says so and how to fix it.
 *
 * @module
 */
import { useEffect } from "preact/hooks";
import {
  loadRegistry,
  startLive,
  stopLive,
  swarmHealth,
  swarmUnavailable,
} from "../../state/swarm.ts";
import { Icon } from "../../ui/icon.tsx";
import { HealthSummary } from "./health_summary.tsx";
import { openTab, SWARM_TABS, swarmItem, swarmTab, TAB_LABELS, tabFromHash } from "./swarm_tabs.ts";
import { ServicesTab } from "./services_tab.tsx";
import { CatalogTab } from "./catalog_tab.tsx";
import { StacksTab } from "./stacks_tab.tsx";
import { NodesTab } from "./nodes_tab.tsx";
import { RegistryTab } from "./registry_tab.tsx";

function Unavailable() {
  const u = swarmUnavailable.value!;
  const notManager = u.status === 409;
  return (
    <div
      class="empty-state sw-unavailable"
      data-testid="swarm-unavailable"
      data-state="error"
      data-status={u.status}
    >
      <Icon name="alert" size={30} />
      <h3>
        {notManager ? "This engine is not a swarm manager" : "The Docker engine does not answer"}
      </h3>
      <p class="error-text">{u.message}</p>
      <p>
        {notManager
          ? "The hub drives the swarm through the Docker engine on the control box. Make that engine a manager:"
          : "The hub reaches Docker through its socket. Check that dockerd runs on the control box and the hub's --docker-socket points at it:"}
      </p>
      <pre class="snippet">
        {notManager
          ? "docker swarm init --advertise-addr <control-box-ip>"
          : "systemctl status docker\nls -l /var/run/docker.sock\nfleet-hub serve --docker-socket /var/run/docker.sock   # or FLEET_DOCKER_SOCKET"}
      </pre>
    </div>
  );
}

/** Above the catalog while the engine is away: the stored catalog still reads. */
function UnavailableBanner() {
  const u = swarmUnavailable.value!;
  return (
    <div
      class="inline-error sw-banner"
      role="alert"
      data-testid="swarm-unavailable-banner"
      data-status={u.status}
    >
      <Icon name="alert" size={14} />
      <div>
        <b>
          {u.status === 409
            ? "This engine is not a swarm manager"
            : "The Docker engine does not answer"}
        </b>: the catalog below is read from the hub's database; deploy, save, build and delete need
        the engine.
        <div class="error-text">{u.message}</div>
      </div>
    </div>
  );
}

function Body() {
  switch (swarmTab.value) {
    case "catalog":
      return <CatalogTab />;
    case "stacks":
      return <StacksTab />;
    case "nodes":
      return <NodesTab />;
    case "registry":
      return <RegistryTab />;
    default:
      return <ServicesTab />;
  }
}

/** The swarm view. */
export function SwarmView() {
  const tab = swarmTab.value;
  useEffect(() => {
    const t = tabFromHash();
    if (t.named) openTab(t.tab, t.item);
    else openTab(swarmTab.peek(), swarmItem.peek());
    // The registry's address fills the examples of new definitions and compose files.
    void loadRegistry();
  }, []);
  useEffect(() => {
    startLive(tab);
    return () => stopLive();
  }, [tab]);
  const down = swarmUnavailable.value;
  return (
    <div class="view swarm-view" data-testid="swarm-view" data-tab={tab}>
      <div class="view-head">
        <div>
          <h2>Swarm</h2>
          <p class="view-sub">
            Services, definitions, stacks, nodes and images of the Docker swarm the control box
            manages · live.
          </p>
        </div>
      </div>
      {down && !swarmHealth.value ? null : <HealthSummary />}
      <div class="sw-tabs" role="tablist" data-testid="swarm-tabs">
        {SWARM_TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={t === tab}
            class={t === tab ? "sw-tab on" : "sw-tab"}
            onClick={() => openTab(t)}
            data-tab={t}
          >
            {TAB_LABELS[t]}
          </button>
        ))}
      </div>
      {down && tab === "catalog"
        ? (
          <>
            <UnavailableBanner />
            <Body />
          </>
        )
        : down
        ? <Unavailable />
        : <Body />}
    </div>
  );
}
