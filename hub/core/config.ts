/**
 * The hub's configuration: command-line flags > `FLEET_*` environment > `fleet.yml` > defaults,
 * resolved into one typed {@link HubConfig}. Every setting has a flag, an env twin and
 * a YAML key, listed once in {@link HUB_SETTINGS} (the README's table is generated from the same
 * names).
 *
 * @module
 */
import { z } from "zod";
import { ConfigError, parseYamlConfig, readConfigFile } from "../../shared/yaml_config.ts";
import { DurationSchema, SizeSchema } from "../../shared/duration.ts";
import { resolveSettings, type SettingSpec } from "../../shared/settings.ts";
import {
  JobCommand,
  JobCpus,
  JobExecutor,
  MAX_JOB_MEMORY_B,
  MIN_JOB_MEMORY_B,
  Mount,
  NodeId,
} from "../../shared/protocol/mod.ts";
import { NetworkSettings } from "../../shared/protocol/network.ts";
import { AlertsSection, NO_ALERTS } from "../alerts/rules.ts";
import {
  type BackupConfig,
  BackupsSection,
  resolveBackupConfig,
  S3Section,
} from "../backups/config.ts";

const duration = DurationSchema;
const size = SizeSchema;

/** Smallest request body limit: below it even a login or a one-sample ingest is refused. */
export const MIN_MAX_BODY = 1024;

/** Issues for entries of a list that repeat an id (on the repeat, so its line is named). */
function repeatedIds(ids: readonly string[], what: string, path: (i: number) => PropertyKey[]) {
  const first = new Map<string, number>();
  const issues: { code: "custom"; path: PropertyKey[]; message: string }[] = [];
  ids.forEach((id, i) => {
    const prev = first.get(id);
    if (prev === undefined) first.set(id, i);
    else issues.push({ code: "custom", path: path(i), message: `${what} ${id} is listed twice` });
  });
  return issues;
}

/** An inventory entry of fleet.yml. */
const InventoryNode = z.strictObject({
  id: NodeId,
  name: z.string().min(1).max(128).optional(),
  ip: z.string().max(64).optional(),
  type: z.enum(["xavier", "orin", "spark", "x86"]).optional(),
  role: z.string().max(64).optional(),
});

const Cluster = z.strictObject({
  id: NodeId,
  purpose: z.string().max(256).optional(),
  nodes: z.array(NodeId).default([]),
  /** Template of the cluster's usual work (what its roamers are provisioned with). */
  template: z.string().min(1).max(128).optional(),
});

/** A job template of fleet.yml: what to run, and how. */
export const Template = z.strictObject({
  executor: JobExecutor.optional(),
  image: z.string().min(1).max(512).optional(),
  command: JobCommand.optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
    .default({}),
  mounts: z.array(Mount).default([]),
  gpu: z.boolean().default(false),
  /** Memory limit of its jobs (`512M`, `2G`); a job that passes it is killed for memory. */
  memory: SizeSchema.refine((b) => b >= MIN_JOB_MEMORY_B && b <= MAX_JOB_MEMORY_B, {
    message: "between 6M and 1024G",
  }).optional(),
  /** CPU limit of its jobs, in CPUs (e.g. 1.5). */
  cpus: JobCpus.optional(),
  /** Seconds the image needs to become ready (shown to operators, used by the autoscaler). */
  startup_s: z.number().int().min(0).max(3600).optional(),
  timeout: duration.optional(),
}).refine((t) => t.image !== undefined || t.command !== undefined, {
  message: "a template needs an image (docker) or a command (process)",
});
export type Template = z.infer<typeof Template>;

/** The schema of `fleet.yml`. Unknown keys are errors (with their line). */
export const HubFile = z.strictObject({
  hub: z.strictObject({
    port: z.number().int().min(0).max(65535).optional(),
    host: z.string().min(1).optional(),
    data_dir: z.string().min(1).optional(),
    dist_dir: z.string().min(1).optional(),
    docker_socket: z.string().min(1).optional(),
    log_level: z.enum(["debug", "info", "warn", "error"]).optional(),
    log_format: z.enum(["text", "json"]).optional(),
  }).optional(),
  retention: z.strictObject({ raw: duration.optional(), rollups: duration.optional() }).optional(),
  status: z.strictObject({
    degraded_after: duration.optional(),
    offline_after: duration.optional(),
    check_every: duration.optional(),
  }).optional(),
  stream: z.strictObject({
    heartbeat: duration.optional(),
    replay_events: z.number().int().min(16).max(1_000_000).optional(),
    replay_bytes: size.optional(),
    client_buffer: size.optional(),
  }).optional(),
  ingest: z.strictObject({
    max_body: size.refine((b) => b >= MIN_MAX_BODY, `must be at least ${MIN_MAX_BODY} bytes`)
      .optional(),
    max_clock_skew: duration.optional(),
    max_pending: size.optional(),
    parse_thread: z.union([z.literal("off").transform(() => 0), size]).optional(),
    writer: z.enum(["worker", "main"]).optional(),
    fsync: z.enum(["auto", "thread", "inline"]).optional(),
  }).optional(),
  control: z.strictObject({
    ping_every: duration.optional(),
    terminal_idle: duration.optional(),
    terminal_rate: size.optional(),
    exec_output_cap: size.optional(),
  }).optional(),
  sessions: z.strictObject({
    idle: duration.optional(),
    lifetime: duration.optional(),
    public_origin: z.string().min(1).max(512).optional(),
  }).optional(),
  nodes: z.array(InventoryNode).superRefine((list, ctx) => {
    for (const i of repeatedIds(list.map((n) => n.id), "node", (i) => [i, "id"])) ctx.addIssue(i);
  }).optional(),
  clusters: z.array(Cluster).superRefine((list, ctx) => {
    for (const i of repeatedIds(list.map((c) => c.id), "cluster", (i) => [i, "id"])) {
      ctx.addIssue(i);
    }
  }).optional(),
  roamers: z.strictObject({
    nodes: z.array(NodeId).superRefine((list, ctx) => {
      for (const i of repeatedIds(list, "roamer", (i) => [i])) ctx.addIssue(i);
    }).default([]),
    /** Roamers the autoscaler never lends, kept for assignment by hand (a subset of nodes). */
    manual_only: z.array(NodeId).default([]),
  }).superRefine((r, ctx) => {
    r.manual_only.forEach((id, i) => {
      if (!r.nodes.includes(id)) {
        ctx.addIssue({
          code: "custom",
          path: ["manual_only", i],
          message: `${id} is not in nodes`,
        });
      }
    });
  }).optional(),
  templates: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/), Template).optional(),
  swarm: z.strictObject({
    projects_dir: z.string().min(1).optional(),
    registry: z.string().min(1).max(512).optional(),
  }).optional(),
  queue: z.strictObject({
    lease: duration.optional(),
    sweep_every: duration.optional(),
    autoscale_every: duration.optional(),
    autoscale_cooldown: duration.optional(),
    roamer_idle_grace: duration.optional(),
  }).optional(),
  network: NetworkSettings.optional(),
  /** Alert rules and webhooks (see docs/alerts.md). */
  alerts: AlertsSection.optional(),
  /** The S3 repository of backups and node configs. */
  s3: S3Section.optional(),
  /** Backup schedules, retention and the hub database's snapshots. */
  backups: BackupsSection.optional(),
});
export type HubFile = z.infer<typeof HubFile>;

/** The resolved configuration the hub runs with. */
export interface HubConfig {
  port: number;
  host: string;
  dataDir: string;
  distDir: string;
  dockerSocket: string;
  configFile: string | null;
  demo: number;
  logLevel: "debug" | "info" | "warn" | "error";
  /** Unset: text on a terminal, JSON otherwise. */
  logFormat?: "text" | "json";
  /** The demo bound loopback because no host was given (the caller says how to expose it). */
  demoLoopback?: boolean;
  rawRetentionMs: number;
  rollupRetentionMs: number;
  degradedAfterMs: number;
  offlineAfterMs: number;
  statusCheckMs: number;
  heartbeatMs: number;
  replayEvents: number;
  replayBytes: number;
  clientBufferBytes: number;
  maxBodyBytes: number;
  /** A node clock off the hub's by more than this has its samples placed on the hub's clock. */
  maxClockSkewMs: number;
  /** Request bytes of ingest in flight beyond which new batches get 503 + Retry-After. */
  ingestMaxPendingBytes: number;
  /** Ingest bodies of at least this many bytes are parsed on the parse thread (0, `off`: none). */
  ingestParseThreadBytes: number;
  /** Where the hot writes commit: the request thread (default) or a writer worker thread. */
  dbWriter: "worker" | "main";
  /** Where a commit's fsync runs: see `--db-fsync`. */
  dbFsync: "auto" | "thread" | "inline";
  jobLeaseMs: number;
  sweepMs: number;
  autoscaleMs: number;
  autoscaleCooldownMs: number;
  roamerIdleGraceMs: number;
  /** How often the hub pings each agent's control socket (RTT, liveness). */
  controlPingMs: number;
  /** A terminal with neither input nor output for this long is closed. */
  terminalIdleMs: number;
  /** Output rate limit of one terminal, bytes per second. */
  terminalRateBps: number;
  /** Most output bytes kept (and streamed) per node of a batch exec. */
  execOutputCapBytes: number;
  /** A browser session unused for this long ends (an open live view counts as use). */
  sessionIdleMs: number;
  /** A browser session ends this long after login, used or not. */
  sessionLifetimeMs: number;
  /** Extra origin (scheme://host[:port]) the browser may use, e.g. behind a TLS proxy. */
  publicOrigin?: string;
  /** Folders the swarm builds images from (`build_context` is relative to it). */
  swarmProjectsDir: string;
  /** The swarm's registry, `http://HOST:PORT` (HTTP for a LAN registry); unset: none. */
  swarmRegistry?: string;
  inventory: {
    nodes: z.infer<typeof InventoryNode>[];
    clusters: z.infer<typeof Cluster>[];
    roamers: string[];
    /** Roamers the autoscaler never lends (absent: none). */
    manualRoamers?: string[];
    templates: Record<string, Template>;
  };
  /** Network tools: public targets allowed, WAN check targets, scans kept (fleet.yml). */
  network?: NetworkSettings;
  /** Alert rules and webhooks of fleet.yml (applied again on reload). */
  alerts: AlertsSection;
  /** S3, schedules and retention of backups (absent in tests that build a config by hand). */
  backups?: BackupConfig;
}

/** Every scalar setting of `serve`: flag, env twin, YAML key, default. */
export const HUB_SETTINGS: readonly SettingSpec<
  Exclude<keyof HubConfig, "inventory" | "alerts">
>[] = [
  {
    key: "port",
    flag: "port",
    env: "FLEET_PORT",
    yaml: "hub.port",
    kind: "port",
    default: "8765",
    help: "HTTP port (0 = any free port)",
  },
  {
    key: "host",
    flag: "host",
    env: "FLEET_HOST",
    yaml: "hub.host",
    kind: "string",
    default: "0.0.0.0",
    help: "address to listen on (with --demo and no host given: 127.0.0.1)",
  },
  {
    key: "dataDir",
    flag: "data-dir",
    env: "FLEET_DATA_DIR",
    yaml: "hub.data_dir",
    kind: "string",
    default: "./data",
    help: "holds fleet.db and admin.token",
  },
  {
    key: "distDir",
    flag: "dist-dir",
    env: "FLEET_DIST_DIR",
    yaml: "hub.dist_dir",
    kind: "string",
    default: "./dist",
    help: "agent binaries and SHA256SUMS served at /dist/ for install.sh",
  },
  {
    key: "dockerSocket",
    flag: "docker-socket",
    env: "FLEET_DOCKER_SOCKET",
    yaml: "hub.docker_socket",
    kind: "string",
    default: "/var/run/docker.sock",
    help: "the control box's Docker engine (swarm manager)",
  },
  {
    key: "configFile",
    flag: "config",
    env: "FLEET_CONFIG",
    yaml: null,
    kind: "string",
    default: null,
    help: "fleet.yml path (default: ./fleet.yml if present)",
  },
  {
    key: "demo",
    flag: "demo",
    env: "FLEET_DEMO",
    yaml: null,
    kind: "int",
    default: "0",
    help: "start N simulated agents pushing through the real ingest path",
  },
  {
    key: "logLevel",
    flag: "log-level",
    env: "FLEET_LOG_LEVEL",
    yaml: "hub.log_level",
    kind: "enum:debug|info|warn|error",
    default: "info",
    help: "debug, info, warn or error",
  },
  {
    key: "logFormat",
    flag: "log-format",
    env: "FLEET_LOG_FORMAT",
    yaml: "hub.log_format",
    kind: "enum:text|json",
    default: null,
    help: "text or json (default: text on a terminal, json otherwise)",
  },
  {
    key: "rawRetentionMs",
    flag: "retention-raw",
    env: "FLEET_RETENTION_RAW",
    yaml: "retention.raw",
    kind: "duration",
    default: "48h",
    help: "how long raw samples are kept",
  },
  {
    key: "rollupRetentionMs",
    flag: "retention-rollups",
    env: "FLEET_RETENTION_ROLLUPS",
    yaml: "retention.rollups",
    kind: "duration",
    default: "30d",
    help: "how long 1-minute rollups are kept",
  },
  {
    key: "degradedAfterMs",
    flag: "degraded-after",
    env: "FLEET_DEGRADED_AFTER",
    yaml: "status.degraded_after",
    kind: "duration",
    default: "15s",
    help: "no sample for this long: degraded",
  },
  {
    key: "offlineAfterMs",
    flag: "offline-after",
    env: "FLEET_OFFLINE_AFTER",
    yaml: "status.offline_after",
    kind: "duration",
    default: "60s",
    help: "no sample for this long: offline",
  },
  {
    key: "statusCheckMs",
    flag: "status-check",
    env: "FLEET_STATUS_CHECK",
    yaml: "status.check_every",
    kind: "duration",
    default: "1s",
    help: "how often node status is recomputed",
  },
  {
    key: "heartbeatMs",
    flag: "heartbeat",
    env: "FLEET_HEARTBEAT",
    yaml: "stream.heartbeat",
    kind: "duration",
    default: "15s",
    help: "SSE heartbeat comment interval",
  },
  {
    key: "replayEvents",
    flag: "replay-events",
    env: "FLEET_REPLAY_EVENTS",
    yaml: "stream.replay_events",
    kind: "int",
    default: "10000",
    help: "events kept for Last-Event-ID resume",
  },
  {
    key: "replayBytes",
    flag: "replay-bytes",
    env: "FLEET_REPLAY_BYTES",
    yaml: "stream.replay_bytes",
    kind: "size",
    default: "8MB",
    help: "memory bound of the resume window",
  },
  {
    key: "jobLeaseMs",
    flag: "job-lease",
    env: "FLEET_JOB_LEASE",
    yaml: "queue.lease",
    kind: "duration",
    default: "5m",
    help: "a claimed job returns to the queue when its worker is silent this long",
  },
  {
    key: "sweepMs",
    flag: "sweep-every",
    env: "FLEET_SWEEP_EVERY",
    yaml: "queue.sweep_every",
    kind: "duration",
    default: "1s",
    help: "how often expired leases and timeouts are swept",
  },
  {
    key: "autoscaleMs",
    flag: "autoscale-every",
    env: "FLEET_AUTOSCALE_EVERY",
    yaml: "queue.autoscale_every",
    kind: "duration",
    default: "2s",
    help: "how often the autoscaler looks at queues and roamers",
  },
  {
    key: "autoscaleCooldownMs",
    flag: "autoscale-cooldown",
    env: "FLEET_AUTOSCALE_COOLDOWN",
    yaml: "queue.autoscale_cooldown",
    kind: "duration",
    default: "30s",
    help: "least time between two roamers lent to the same cluster",
  },
  {
    key: "roamerIdleGraceMs",
    flag: "roamer-idle-grace",
    env: "FLEET_ROAMER_IDLE_GRACE",
    yaml: "queue.roamer_idle_grace",
    kind: "duration",
    default: "60s",
    help: "an until-idle roamer is released after its queue is empty this long",
  },
  {
    key: "clientBufferBytes",
    flag: "client-buffer",
    env: "FLEET_CLIENT_BUFFER",
    yaml: "stream.client_buffer",
    kind: "size",
    default: "4MB",
    help: "unsent bytes after which a slow SSE client is dropped",
  },
  {
    key: "controlPingMs",
    flag: "control-ping",
    env: "FLEET_CONTROL_PING",
    yaml: "control.ping_every",
    kind: "duration",
    default: "5s",
    help: "ping interval of the agents' control sockets (RTT; 3 missed pongs drop one)",
  },
  {
    key: "terminalIdleMs",
    flag: "terminal-idle",
    env: "FLEET_TERMINAL_IDLE",
    yaml: "control.terminal_idle",
    kind: "duration",
    default: "30m",
    help: "a terminal without input or output this long is closed",
  },
  {
    key: "terminalRateBps",
    flag: "terminal-rate",
    env: "FLEET_TERMINAL_RATE",
    yaml: "control.terminal_rate",
    kind: "size",
    default: "1MB",
    help: "output rate limit of one terminal, per second",
  },
  {
    key: "execOutputCapBytes",
    flag: "exec-output-cap",
    env: "FLEET_EXEC_OUTPUT_CAP",
    yaml: "control.exec_output_cap",
    kind: "size",
    default: "256KB",
    help: "output kept per node of a batch exec (the rest is counted, its tail kept)",
  },
  {
    key: "sessionIdleMs",
    flag: "session-idle",
    env: "FLEET_SESSION_IDLE",
    yaml: "sessions.idle",
    kind: "duration",
    default: "12h",
    help: "a UI session unused this long ends (an open page keeps it alive)",
  },
  {
    key: "sessionLifetimeMs",
    flag: "session-lifetime",
    env: "FLEET_SESSION_LIFETIME",
    yaml: "sessions.lifetime",
    kind: "duration",
    default: "7d",
    help: "a UI session ends this long after login, whatever its use",
  },
  {
    key: "publicOrigin",
    flag: "public-origin",
    env: "FLEET_PUBLIC_ORIGIN",
    yaml: "sessions.public_origin",
    kind: "string",
    default: null,
    help: "origin browsers use when a TLS proxy fronts the hub (e.g. https://fleet.lab)",
  },
  {
    key: "maxBodyBytes",
    flag: "max-body",
    env: "FLEET_MAX_BODY",
    yaml: "ingest.max_body",
    kind: "size",
    default: "2MB",
    help: "largest accepted request body",
  },
  {
    key: "maxClockSkewMs",
    flag: "max-clock-skew",
    env: "FLEET_MAX_CLOCK_SKEW",
    yaml: "ingest.max_clock_skew",
    kind: "duration",
    default: "30s",
    help: "a node clock off by more is shown, and its samples are placed on hub time",
  },
  {
    key: "ingestMaxPendingBytes",
    flag: "ingest-max-pending",
    env: "FLEET_INGEST_MAX_PENDING",
    yaml: "ingest.max_pending",
    kind: "size",
    // A parsed, validated batch holds ~10× its body in the JS heap: 4 MB bounds that near 50 MB
    // and still admits ten 200-sample replay batches at once.
    default: "4MB",
    help: "ingest bytes in flight beyond which batches are refused with 503 + Retry-After",
  },
  {
    key: "ingestParseThreadBytes",
    flag: "ingest-parse-thread",
    env: "FLEET_INGEST_PARSE_THREAD",
    yaml: "ingest.parse_thread",
    kind: "size-or-off",
    // Measured: a batch of 10 (~21 KB) gains 25–30 % on the thread; batches of 3 and 5 lose 7–10
    // and 2–4 % (the round trip costs more than their parse).
    default: "16KB",
    help: "ingest bodies this large or larger are parsed on their own thread, or off",
  },
  {
    key: "dbWriter",
    flag: "db-writer",
    env: "FLEET_DB_WRITER",
    yaml: "ingest.writer",
    kind: "enum:worker|main",
    default: "main",
    help: "commit ingest and claims on the request thread, or on a writer worker thread",
  },
  {
    key: "dbFsync",
    flag: "db-fsync",
    env: "FLEET_DB_FSYNC",
    yaml: "ingest.fsync",
    kind: "enum:auto|thread|inline",
    default: "auto",
    help: "where commits fsync: auto (here on a fast disk, a thread on a slow one), thread, inline",
  },
  {
    key: "swarmProjectsDir",
    flag: "swarm-projects-dir",
    env: "FLEET_SWARM_PROJECTS_DIR",
    yaml: "swarm.projects_dir",
    kind: "string",
    default: "./projects",
    help: "folders swarm services are built from (a definition's build_context)",
  },
  {
    key: "swarmRegistry",
    flag: "swarm-registry",
    env: "FLEET_SWARM_REGISTRY",
    yaml: "swarm.registry",
    kind: "string",
    default: null,
    help: "registry images are pushed to and browsed in, e.g. http://192.168.1.100:5000",
  },
];

/** Flag names `serve` accepts (all take a value). */
export const SERVE_FLAGS: string[] = HUB_SETTINGS.map((s) => s.flag);

/** Checks cross-references of the inventory (a node in two clusters, a roamer in a cluster). */
function checkInventory(file: HubFile, path: string): void {
  const problems: string[] = [];
  const owner = new Map<string, string>();
  for (const c of file.clusters ?? []) {
    for (const n of c.nodes) {
      const prev = owner.get(n);
      if (prev) {
        problems.push(`node ${n} is in clusters ${prev} and ${c.id}; a node has one cluster`);
      }
      owner.set(n, c.id);
    }
  }
  for (const n of file.roamers?.nodes ?? []) {
    const c = owner.get(n);
    if (c) problems.push(`node ${n} is a roamer and a member of cluster ${c}; pick one`);
  }
  const templates = file.templates ?? {};
  for (const c of file.clusters ?? []) {
    if (c.template !== undefined && !(c.template in templates)) {
      problems.push(
        `cluster ${c.id} uses template ${c.template}, which is not defined under templates:`,
      );
    }
  }
  if (problems.length) throw new ConfigError(problems.map((p) => `${path}: ${p}`).join("\n"));
}

/**
 * Resolves the configuration from parsed flags, the environment and the YAML file.
 *
 * @example
 * ```ts
 * const config = await loadHubConfig({ port: "9000" }, Deno.env.toObject());
 * ```
 * @throws {ConfigError} naming the flag, variable or file line at fault.
 */
export async function loadHubConfig(
  flags: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
): Promise<HubConfig> {
  const explicitPath = flags["config"] ?? env["FLEET_CONFIG"];
  const path = explicitPath ?? "fleet.yml";
  const text = await readConfigFile(path);
  if (text === undefined && explicitPath !== undefined) {
    throw new ConfigError(`${path}: config file not found`);
  }
  const file: HubFile = text === undefined ? {} : parseYamlConfig(text, path, HubFile);
  if (text !== undefined) checkInventory(file, path);

  const config = resolveSettings(HUB_SETTINGS, flags, env, file) as Record<string, unknown>;
  config.configFile = text === undefined ? null : path;
  const resolved = config as unknown as HubConfig;
  // Demo agents run real shell commands on this host: unless a host was chosen, stay local.
  const hostGiven = flags["host"] !== undefined || !!env["FLEET_HOST"] ||
    file.hub?.host !== undefined;
  if (resolved.demo > 0 && !hostGiven) {
    resolved.host = "127.0.0.1";
    resolved.demoLoopback = true;
  }
  if (resolved.offlineAfterMs <= resolved.degradedAfterMs) {
    throw new ConfigError(
      `offline threshold (${resolved.offlineAfterMs} ms) must be longer than the degraded ` +
        `threshold (${resolved.degradedAfterMs} ms)`,
    );
  }
  if (resolved.maxBodyBytes < MIN_MAX_BODY) {
    // The file's value was checked by its schema, so a flag or the variable set this one.
    throw new ConfigError(
      `--max-body / FLEET_MAX_BODY: ${resolved.maxBodyBytes} bytes is below the least ` +
        `usable limit, ${MIN_MAX_BODY} bytes`,
    );
  }
  if (resolved.publicOrigin !== undefined) {
    let origin: URL | undefined;
    try {
      origin = new URL(resolved.publicOrigin);
    } catch { /* reported below */ }
    if (!origin || !/^https?:$/.test(origin.protocol) || origin.pathname !== "/") {
      throw new ConfigError(
        `public origin (--public-origin, FLEET_PUBLIC_ORIGIN, sessions.public_origin): ` +
          `${JSON.stringify(resolved.publicOrigin)} is not an origin like https://fleet.lab`,
      );
    }
    resolved.publicOrigin = origin.origin;
  }
  if (resolved.swarmRegistry !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(resolved.swarmRegistry);
    } catch { /* reported below */ }
    if (!url || !/^https?:$/.test(url.protocol) || url.pathname !== "/") {
      throw new ConfigError(
        `swarm registry (--swarm-registry, FLEET_SWARM_REGISTRY, swarm.registry): ` +
          `${JSON.stringify(resolved.swarmRegistry)} is not a URL like http://192.168.1.100:5000`,
      );
    }
    resolved.swarmRegistry = url.origin;
  }
  resolved.backups = resolveBackupConfig(
    file.s3,
    file.backups,
    env,
    (file.clusters ?? []).map((c) => c.id),
  );
  resolved.inventory = {
    nodes: file.nodes ?? [],
    clusters: file.clusters ?? [],
    roamers: file.roamers?.nodes ?? [],
    manualRoamers: file.roamers?.manual_only ?? [],
    templates: file.templates ?? {},
  };
  resolved.network = file.network ?? NetworkSettings.parse({});
  resolved.alerts = file.alerts ?? NO_ALERTS;
  return resolved;
}
