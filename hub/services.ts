/**
 * What the HTTP routes are built from: the parts `serve` wires together once. Routes receive
 * this and nothing else, so tests can build an app on a temp database.
 *
 * @module
 */
import type { HubConfig } from "./config.ts";
import type { Database } from "./store/db.ts";
import type { TokenVerifier } from "./auth.ts";
import type { EventBus } from "./live/bus.ts";
import type { SseHub } from "./live/sse.ts";
import type { FleetView } from "./live/node_status.ts";
import type { JobQueue } from "./queue/queue.ts";
import type { RoamerPool } from "./queue/roamers.ts";
import type { AgentSessions } from "./live/agent_sessions.ts";
import type { ExecRuns } from "./live/exec_runs.ts";
import type { TerminalRelay } from "./live/terminal_relay.ts";
import type { LiveConnections } from "./live/connections.ts";

/** The hub's running parts. */
export interface HubServices {
  config: HubConfig;
  db: Database;
  verifier: TokenVerifier;
  bus: EventBus;
  sse: SseHub;
  fleet: FleetView;
  queue: JobQueue;
  roamers: RoamerPool;
  /** Agents holding their control WebSocket. */
  agents: AgentSessions;
  /** Batch exec runs. */
  execs: ExecRuns;
  /** Web terminal sessions. */
  terminals: TerminalRelay;
  /** Long-lived connections by the token and session that opened them. */
  connections: LiveConnections;
  startedAt: number;
  /** Re-reads fleet.yml and applies its inventory and templates (state is kept). */
  reload(): Promise<{ nodes: number; clusters: number; roamers: number; templates: number }>;
}
