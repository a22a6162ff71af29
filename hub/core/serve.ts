/**
 * `fleet-hub serve`: opens the store, wires the services, listens, runs the background loops
 * (status checks, pruning, token-usage flush, optional demo fleet) and shuts down gracefully on
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, commit, close the database.
 *
 * @module
 */
import { join } from "node:path";
import type { HubConfig } from "./config.ts";
import { openDatabase } from "./db.ts";
import {
  type AuditActor,
  countActiveAdmins,
  insertAudit,
  listTokenRows,
  recordAudit,
} from "./store.ts";
import { ensureNode } from "../fleet/store.ts";
import { mintToken, storeMintedToken, TokenVerifier } from "./auth.ts";
import { EventBus } from "./bus.ts";
import { SseHub } from "./sse.ts";
import { FleetView } from "../fleet/service.ts";
import { FleetNodes } from "../fleet/nodes.ts";
import { Onboarding } from "../onboarding/service.ts";
import { NodeContainers } from "../control/containers.ts";
import { NodeActions } from "../control/node_actions.ts";
import { AuditLog } from "../control/audit.ts";
import { Swarm } from "../swarm/service.ts";
import { JobQueue } from "../jobs/service.ts";
import { RoamerPool } from "../jobs/roamers.ts";
import { AgentSessions } from "../control/agent_sessions.ts";
import { ExecRuns } from "../control/exec_runs.ts";
import { TerminalRelay } from "../control/terminal_relay.ts";
import { LiveConnections } from "./connections.ts";
import { LinkMonitor } from "../network/links.ts";
import { NetworkScans } from "../network/scans.ts";
import { NetworkSettings } from "../../shared/protocol/network.ts";
import { Backups } from "../backups/service.ts";
import { Restores } from "../backups/restores.ts";
import { BackupScheduler } from "../backups/scheduler.ts";
import { NodeConfigs } from "../backups/configs.ts";
import { NO_BACKUPS } from "../backups/config.ts";
import { buildApp } from "./app.ts";
import { ingestFirst } from "../fleet/ingest_route.ts";
import { AlertService } from "../alerts/service.ts";
import { HubMetrics } from "../metrics/hub_metrics.ts";
import { startPruner } from "../fleet/retention.ts";
import { catchUpRollups, type RollupBufferHandle, startRollupBuffer } from "../fleet/rollups.ts";
import {
  type ContactBufferHandle,
  reconcileContacts,
  startContactBuffer,
} from "../fleet/contacts.ts";
import { demoAlerts, demoInventory, startDemo } from "../demo.ts";
import type { HubServices } from "./services.ts";
import { getLogger, setLogFormat, setLogLevel } from "../../shared/log.ts";
import { VERSION } from "../../shared/version.ts";
import { ConfigError } from "../../shared/config_error.ts";

const logger = getLogger("hub");

/** The audit actor of a reload by SIGHUP (no token: like the token CLI, the control box's own). */
const SIGHUP_ACTOR: AuditActor = { name: "SIGHUP", kind: "signal", token_id: null };

/** How often open streams and sockets are checked against revocations made elsewhere. */
const CONNECTION_SWEEP_MS = 2_000;

/**
 * How often the minutes of history held in memory are written to the rollups table, and the
 * nodes' last contacts to their rows: at 1,000 nodes every 5 s, one upsert per node every 30 s
 * instead of one per batch.
 */
const ROLLUP_FLUSH_MS = 30_000;

/** A running hub. */
export interface RunningHub {
  url: string;
  port: number;
  services: HubServices;
  /** Re-reads fleet.yml and applies its inventory; throws `ConfigError` and changes nothing. */
  reload(): Promise<void>;
  /** Resolves when the hub has fully stopped. */
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

async function firstStartAdmin(services: HubServices): Promise<void> {
  const db = services.db;
  if (listTokenRows(db).length > 0 || countActiveAdmins(db) > 0) return;
  const minted = mintToken({ kind: "admin", name: "admin" });
  const created = await db.write((tx) => storeMintedToken(tx, minted));
  const file = join(services.config.dataDir, "admin.token");
  await Deno.writeTextFile(file, created.token + "\n", { mode: 0o600 });
  await Deno.chmod(file, 0o600);
  // The only time the secret is shown; stdout so it can be captured, never the log.
  console.log(`Admin token (shown once; also saved to ${file}):\n  ${created.token}`);
}

/**
 * Creates the data dir owner-only, or tightens an existing one to 0700: it holds the database
 * and admin.token. A shared directory (sticky bit, like /tmp) is never changed; it and a
 * directory the hub does not own are logged with their path.
 */
async function privateDataDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const mode = (await Deno.stat(dir)).mode;
  if (mode === null || (mode & 0o077) === 0) return;
  const octal = (mode & 0o7777).toString(8);
  if (mode & 0o1000) {
    logger.warn("data dir is a shared directory; use a directory of its own", {
      path: dir,
      mode: octal,
    });
    return;
  }
  try {
    await Deno.chmod(dir, 0o700);
  } catch (error) {
    logger.warn("data dir is open to other users and cannot be made 0700", {
      path: dir,
      mode: octal,
      error,
    });
  }
}

/** Makes files the hub keeps in the data dir owner-only (the database does its own). */
async function privateDataFiles(dir: string): Promise<void> {
  const file = join(dir, "admin.token");
  try {
    const mode = (await Deno.stat(file)).mode;
    if (mode !== null && (mode & 0o077) !== 0) await Deno.chmod(file, 0o600);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    logger.warn("admin.token is readable by others and cannot be made 0600", {
      path: file,
      error,
    });
  }
}

/**
 * The composition root: opens the store and builds every service, each given its collaborators
 * in its constructor. No socket is opened and no loop started but the SSE heartbeat
 * (`sse.close()` ends it): {@link serve} starts the rest, and tests can drive
 * `buildApp(services)` with `app.request()`.
 */
export async function buildServices(
  config: HubConfig,
  readConfig: () => Promise<HubConfig> = () => Promise.resolve(config),
): Promise<HubServices> {
  setLogLevel(config.logLevel);
  setLogFormat(config.logFormat);
  await privateDataDir(config.dataDir);
  await privateDataFiles(config.dataDir);
  if (config.demo > 0 && config.alerts.rules.length === 0) config.alerts = demoAlerts();
  if (config.demo > 0 && config.inventory.nodes.length === 0) {
    config.inventory = demoInventory(config.demo);
  }
  const db = await openDatabase(join(config.dataDir, "fleet.db"), { fsync: config.dbFsync });
  if (config.dbWriter === "worker") await db.startWriter();
  await db.write((tx) => {
    for (const n of config.inventory.nodes) ensureNode(tx, n.id, n.name ?? n.id);
  });
  // A hub killed with contacts held in memory left node rows behind their samples.
  const reconciled = await db.write((tx) => reconcileContacts(tx));
  if (reconciled > 0) logger.info("node contacts brought up to their samples", { reconciled });
  const bus = new EventBus(config.replayEvents, config.replayBytes);
  const connections = new LiveConnections();
  const verifier = new TokenVerifier(db, {
    idleMs: config.sessionIdleMs,
    lifetimeMs: config.sessionLifetimeMs,
    publicOrigin: config.publicOrigin,
  });
  const agents = new AgentSessions(bus, {
    pingMs: config.controlPingMs,
    tokenValid: (id) => verifier.tokenLive(id),
  });
  const fleet = new FleetView(db, bus, config, { control: (id) => agents.info(id) });
  const queue = new JobQueue(db, bus, config);
  const nodes = new FleetNodes({
    db,
    bus,
    config,
    fleet,
    tokensRevoked: (ids, reason) => {
      verifier.invalidate();
      for (const id of ids) connections.closeToken(id, reason);
    },
  });
  const roamers = new RoamerPool(db, bus, config, queue, fleet);
  const execs = new ExecRuns(db, bus, agents, {
    outputCapBytes: config.execOutputCapBytes,
    clusterNodes: (id) => {
      const c = roamers.clusters().find((x) => x.id === id);
      return c ? [...c.nodes, ...c.roamers] : undefined;
    },
    clusterIds: () => config.inventory.clusters.map((c) => c.id),
  });
  const metrics = new HubMetrics();
  db.onCommit = (ms, writes) => {
    metrics.commitSeconds.observe(ms / 1000);
    metrics.commitWrites += writes;
  };
  queue.onClaimTimed = (ms) => metrics.claimSeconds.observe(ms / 1000);
  const alerts = new AlertService({ db, bus, config, fleet, roamers });
  nodes.ingestObservers.add((o) => {
    metrics.samplesIngested += o.stored;
    metrics.batchesIngested++;
    alerts.ingested(o);
  });
  const backupConfig = () => config.backups ?? NO_BACKUPS;
  const backups = new Backups({
    db,
    bus,
    agents,
    config: backupConfig,
    clusterNodes: (id) => {
      const c = roamers.clusters().find((x) => x.id === id);
      return c ? [...c.nodes, ...c.roamers] : undefined;
    },
  });
  const services: HubServices = {
    config,
    db,
    verifier,
    bus,
    sse: new SseHub(bus, {
      heartbeatMs: config.heartbeatMs,
      clientBufferBytes: config.clientBufferBytes,
      connections,
    }),
    fleet,
    nodes,
    onboarding: new Onboarding({ db, distDir: config.distDir, verifier, connections, fleet }),
    queue,
    roamers,
    agents,
    execs,
    containers: new NodeContainers({ db, agents, connections }),
    audit: new AuditLog(db),
    terminals: new TerminalRelay(db, agents, {
      idleMs: config.terminalIdleMs,
      rateBps: config.terminalRateBps,
      connections,
    }),
    connections,
    network: new NetworkScans({
      db,
      bus,
      agents,
      settings: () => config.network ?? NetworkSettings.parse({}),
    }),
    links: new LinkMonitor({ db, bus, agents, fleet }, {
      everyMs: config.controlPingMs,
      retentionMs: config.rollupRetentionMs,
    }),
    nodeActions: new NodeActions({ db, agents, bus }),
    swarm: new Swarm({
      db,
      connections,
      dockerSocket: config.dockerSocket,
      projectsDir: config.swarmProjectsDir,
      registry: config.swarmRegistry,
    }),
    startedAt: Date.now(),
    alerts,
    metrics,
    backups,
    restores: new Restores({ db, bus, agents, backups, config: backupConfig }),
    backupSchedules: new BackupScheduler({
      db,
      backups,
      config: backupConfig,
      dataDir: config.dataDir,
    }),
    nodeConfigs: new NodeConfigs(db, backupConfig),
    reload: async (by?: AuditActor) => {
      // Validate everything first: an invalid file is refused and the old config stays.
      let fresh: HubConfig;
      try {
        fresh = await readConfig();
      } catch (error) {
        if (by) {
          await recordAudit(db, {
            actor: by,
            action: "config.reload",
            target: config.configFile,
            result: "error",
            detail: { error: String((error as Error)?.message ?? error).slice(0, 2000) },
          });
        }
        throw error;
      }
      const demoOnly = fresh.inventory.nodes.length === 0 && config.demo > 0;
      config.inventory = demoOnly ? demoInventory(config.demo) : fresh.inventory;
      config.configFile = fresh.configFile;
      config.network = fresh.network;
      config.backups = fresh.backups;
      const inv = config.inventory;
      const summary = {
        nodes: inv.nodes.length,
        clusters: inv.clusters.length,
        roamers: inv.roamers.length,
        templates: Object.keys(inv.templates).length,
      };
      await db.write((tx) => {
        for (const n of config.inventory.nodes) ensureNode(tx, n.id, n.name ?? n.id);
        if (by) {
          insertAudit(tx, {
            actor: by,
            action: "config.reload",
            target: config.configFile,
            result: "ok",
            detail: summary,
          });
        }
      });
      config.alerts = config.demo > 0 && fresh.alerts.rules.length === 0
        ? demoAlerts()
        : fresh.alerts;
      fleet.inventoryChanged();
      // A node new in fleet.yml is tracked and announced now, not at its first sample.
      for (const n of config.inventory.nodes) fleet.added(n.id);
      alerts.configChanged();
      services.backupSchedules.start();
      await services.roamers.start();
      queue.nudge();
      logger.info("config reloaded", { file: config.configFile, ...summary });
      return summary;
    },
  };
  await firstStartAdmin(services);
  // Runs a previous hub process left running cannot be finished any more.
  await execs.recover();
  await services.network.recover();
  await backups.recover();
  return services;
}

/** The operator's message for a port another process holds (exit 2, no stack trace). */
function portInUse(port: number): ConfigError {
  return new ConfigError(`port ${port} is in use (another hub running? choose --port)`);
}

/**
 * Fails before the data dir, database or first admin token are touched when the port is taken,
 * so a second `serve` on a busy port neither mints a token nor prints one.
 */
function checkPortFree(host: string, port: number): void {
  if (port === 0) return;
  try {
    Deno.listen({ hostname: host, port }).close();
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) throw portInUse(port);
    throw error;
  }
}

/** Starts the hub with `config`; resolves once it listens. */
export async function serve(
  config: HubConfig,
  readConfig: () => Promise<HubConfig> = () => Promise.resolve(config),
): Promise<RunningHub> {
  checkPortFree(config.host, config.port);
  const services = await buildServices(config, readConfig);
  const { db, connections, verifier } = services;

  // Everything the routes rely on is running before the first request can arrive.
  services.fleet.start();
  services.queue.start();
  services.agents.start();
  services.links.start();
  // Revocations by another process (the token CLI) and expired sessions end their connections.
  connections.start({
    tokenLive: (id) => verifier.tokenLive(id),
    sessionLive: (id) => verifier.sessionLive(id),
    sessionInUse: (ids) => {
      for (const id of ids) verifier.touchSession(id);
    },
  }, CONNECTION_SWEEP_MS);
  await services.roamers.start();
  services.alerts.start();
  await services.swarm.start();
  services.backupSchedules.start();
  // History rollups are held in memory between writes (rebuilt from the samples a killed hub
  // left). The writer worker's ingest upserts them itself: that hub only catches up at start.
  // So are the nodes' last contacts (last seq, last seen), written on the same period.
  let rollups: RollupBufferHandle | undefined;
  let contacts: ContactBufferHandle | undefined;
  if (!db.writer) {
    rollups = startRollupBuffer(db, ROLLUP_FLUSH_MS);
    contacts = startContactBuffer(db, ROLLUP_FLUSH_MS);
  } else {
    const samples = await db.write((tx) => catchUpRollups(tx));
    if (samples > 0) logger.info("rollups caught up from samples not yet rolled up", { samples });
  }
  const handler = await ingestFirst(buildApp(services), services);
  const listening = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      port: config.port,
      hostname: config.host,
      onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
    }, handler);
  } catch (error) {
    services.nodes.parser?.close();
    void rollups?.stop().catch(() => {});
    void contacts?.stop().catch(() => {});
    // Taken between the check above and now (a race with another process).
    if (error instanceof Deno.errors.AddrInUse) throw portInUse(config.port);
    throw error;
  }
  const addr = await listening.promise;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${addr.port}`;
  logger.info("listening", {
    url,
    port: addr.port,
    host: config.host,
    data_dir: config.dataDir,
    config: config.configFile,
    version: VERSION,
  });

  const stopPruner = startPruner(db, {
    rawRetentionMs: config.rawRetentionMs,
    rollupRetentionMs: config.rollupRetentionMs,
  });
  const usageTimer = setInterval(() => {
    services.verifier.flushUsage().catch((error) =>
      logger.warn("token usage flush failed", { error })
    );
  }, 30_000);
  const stopDemo = config.demo > 0 ? await startDemo(services, url) : undefined;

  let shuttingDown: Promise<void> | undefined;
  const finished = Promise.withResolvers<void>();
  const shutdown = () => {
    shuttingDown ??= (async () => {
      logger.info("shutting down");
      await stopDemo?.();
      clearInterval(usageTimer);
      connections.stop();
      stopPruner();
      services.fleet.stop();
      services.queue.stop();
      services.roamers.stop();
      services.alerts.stop();
      // Control sockets are long-lived: end them (and what runs on them) before the server
      // waits for in-flight requests.
      await services.execs.shutdown();
      services.backupSchedules.stop();
      await services.backups.shutdown();
      services.terminals.closeAll();
      services.network.stop();
      services.agents.stop();
      await services.links.stop();
      services.sse.close();
      await services.swarm.shutdown();
      await server.shutdown();
      services.nodes.parser?.close();
      await services.verifier.flushUsage().catch(() => {});
      await rollups?.stop().catch((error) => logger.error("rollup flush failed", { error }));
      await contacts?.stop().catch((error) => logger.error("contact flush failed", { error }));
      await db.closeAsync();
      logger.info("stopped");
      finished.resolve();
    })();
    return shuttingDown;
  };
  return {
    url,
    port: addr.port,
    services,
    reload: async () => {
      // A SIGHUP comes from whoever may signal the hub's process on the control box.
      await services.reload(SIGHUP_ACTOR);
    },
    finished: finished.promise,
    shutdown,
  };
}
