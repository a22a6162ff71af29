/**
 * What the HTTP routes are built from: the parts `serve` wires together once. Routes receive
 * this and nothing else, so tests can build an app on a temp database.
 *
 * @module
 */
import type { HubConfig } from "./config.ts";
import type { Database } from "./db.ts";
import type { TokenVerifier } from "./auth.ts";
import type { EventBus } from "./bus.ts";
import type { SseHub } from "./sse.ts";
import type { FleetView } from "../fleet/service.ts";
import type { FleetNodes } from "../fleet/nodes.ts";
import type { Onboarding } from "../onboarding/service.ts";
import type { NodeContainers } from "../control/containers.ts";
import type { AuditLog } from "../control/audit.ts";
import type { JobQueue } from "../jobs/service.ts";
import type { RoamerPool } from "../jobs/roamers.ts";
import type { AgentSessions } from "../control/agent_sessions.ts";
import type { ExecRuns } from "../control/exec_runs.ts";
import type { TerminalRelay } from "../control/terminal_relay.ts";
import type { LiveConnections } from "./connections.ts";
import type { AuditActor } from "./store.ts";
import type { LinkMonitor } from "../network/links.ts";
import type { NetworkScans } from "../network/scans.ts";
import type { NodeActions } from "../control/node_actions.ts";
import type { AlertService } from "../alerts/service.ts";
import type { HubMetrics } from "../metrics/hub_metrics.ts";
import type { Swarm } from "../swarm/service.ts";
import type { Backups } from "../backups/service.ts";
import type { Restores } from "../backups/restores.ts";
import type { BackupScheduler } from "../backups/scheduler.ts";
import type { NodeConfigs } from "../backups/configs.ts";

/** The hub's running parts. */
export interface HubServices {
  config: HubConfig;
  db: Database;
  verifier: TokenVerifier;
  bus: EventBus;
  sse: SseHub;
  fleet: FleetView;
  /** Node operations: ingest, one node, metrics, recovery reports, removal, layouts. */
  nodes: FleetNodes;
  /** Enrollment, tokens and browser logins. */
  onboarding: Onboarding;
  queue: JobQueue;
  roamers: RoamerPool;
  /** Agents holding their control WebSocket. */
  agents: AgentSessions;
  /** Batch exec runs. */
  execs: ExecRuns;
  /** Containers on nodes, through their agents. */
  containers: NodeContainers;
  /** The audit log, paged. */
  audit: AuditLog;
  /** Web terminal sessions. */
  terminals: TerminalRelay;
  /** Long-lived connections by the token and session that opened them. */
  connections: LiveConnections;
  /** LAN scans, port scans, WAN checks and node sockets, through the agents. */
  network: NetworkScans;
  /** Link quality per node (pings, the agents' probes, bandwidth). */
  links: LinkMonitor;
  /** Restart, cleanup and recovery on nodes, through their agents. */
  nodeActions: NodeActions;
  /** Docker Swarm control through the hub's engine. */
  swarm: Swarm;
  startedAt: number;
  /** Alert rules, history, acknowledgements, silences and webhooks. */
  alerts: AlertService;
  /** The hub's own counters and latencies for /metrics. */
  metrics: HubMetrics;
  /** Node backups to S3: start, list, browse, verify, retention. */
  backups: Backups;
  /** Restores of node backups. */
  restores: Restores;
  /** Backup schedules and the hub database's snapshots. */
  backupSchedules: BackupScheduler;
  /** Node config files in the configs bucket, for `fleet-agent recover` and `cleanup`. */
  nodeConfigs: NodeConfigs;
  /**
   * Re-reads fleet.yml and applies its inventory and templates (state is kept); with `by`, the
   * reload is audited (`config.reload`), ok or refused.
   */
  reload(
    by?: AuditActor,
  ): Promise<{ nodes: number; clusters: number; roamers: number; templates: number }>;
}
