/**
 * The wire protocol of Fleet Commander, version 1: one zod schema per message, shared by hub,
 * agent, web UI, MCP server and tests. The hub validates at its HTTP edge with these schemas and
 * trusts the parsed values inside.
 *
 * Conventions: times are milliseconds since the Unix epoch (`ts`), sizes are bytes (`_b`), rates
 * are per second (`_bps` = bytes per second), power is milliwatts (`_mw`), temperatures are
 * degrees Celsius (`_c`). A source that a node lacks is an absent field, never an error.
 *
 * @module
 */
import { z } from "zod";

/** Version of this protocol; part of every API path (`/api/v1`). */
export const PROTOCOL_VERSION = 1;

const finite = z.number().finite();
const nonNeg = finite.nonnegative();
const pct = finite.min(0).max(100);
const shortText = z.string().min(1).max(256);

/** Node ids are short, URL- and file-name-safe. */
export const NodeId = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
  "node id: 1-63 chars of letters, digits, '.', '_', '-', starting with a letter or digit",
);
export type NodeId = z.infer<typeof NodeId>;

/** One logical CPU core. `online: false` for cores that tegrastats reports as `off`. */
export const CpuCore = z.object({
  pct: pct.optional(),
  mhz: nonNeg.optional(),
  online: z.boolean().optional(),
});
export type CpuCore = z.infer<typeof CpuCore>;

/** CPU usage over the last interval. */
export const Cpu = z.object({
  pct: pct,
  cores: z.array(CpuCore).max(1024).optional(),
});

/** Load averages (1, 5, 15 minutes). */
export const Load = z.object({ l1: nonNeg, l5: nonNeg, l15: nonNeg });

/** Memory or swap usage. */
export const MemUsage = z.object({
  total_b: nonNeg,
  used_b: nonNeg,
  available_b: nonNeg.optional(),
  pct: pct,
});

/** Usage of one mounted filesystem (from statfs). */
export const DiskUsage = z.object({
  mount: shortText,
  device: z.string().max(256).optional(),
  fs: z.string().max(64).optional(),
  total_b: nonNeg,
  used_b: nonNeg,
  pct: pct,
});

/** I/O rates of one block device (from /proc/diskstats). */
export const DiskIo = z.object({
  device: shortText,
  read_bps: nonNeg,
  write_bps: nonNeg,
});

/** Rates of one network interface (from /proc/net/dev). */
export const NetIface = z.object({
  iface: shortText,
  rx_bps: nonNeg,
  tx_bps: nonNeg,
  rx_b: nonNeg.optional(),
  tx_b: nonNeg.optional(),
});

/** One temperature sensor (thermal zone, tegrastats `X@31.5C`, or a GPU). */
export const Temp = z.object({ name: shortText, c: finite.min(-100).max(250) });

/**
 * One GPU. On Jetson it comes from tegrastats (`GR3D_FREQ` = utilisation; memory is shared with
 * the CPU and therefore absent); on dGPU / DGX Spark from nvidia-smi.
 */
export const Gpu = z.object({
  index: z.number().int().nonnegative().optional(),
  name: z.string().max(256).optional(),
  util_pct: pct.optional(),
  freq_mhz: nonNeg.optional(),
  mem_used_b: nonNeg.optional(),
  mem_total_b: nonNeg.optional(),
  temp_c: finite.optional(),
  power_mw: nonNeg.optional(),
});

/** External memory controller load on Jetson (tegrastats `EMC_FREQ a%@f`). */
export const Emc = z.object({ util_pct: pct.optional(), freq_mhz: nonNeg.optional() });

/** One power rail in milliwatts (tegrastats `VDD_IN 5000/4800`: current / average). */
export const PowerRail = z.object({
  rail: shortText,
  mw: nonNeg,
  avg_mw: nonNeg.optional(),
});

/** One container on the node, from the local Docker socket. */
export const ContainerStat = z.object({
  id: z.string().max(128).optional(),
  name: shortText,
  image: z.string().max(512),
  state: z.string().max(64),
  status: z.string().max(256).optional(),
  cpu_pct: nonNeg.optional(),
  mem_b: nonNeg.optional(),
  mem_limit_b: nonNeg.optional(),
});

/** The metric fields of a sample, as collectors produce them (no seq/ts yet). */
export const SampleMetrics = z.object({
  uptime_s: nonNeg.optional(),
  cpu: Cpu.optional(),
  load: Load.optional(),
  mem: MemUsage.optional(),
  swap: MemUsage.optional(),
  disks: z.array(DiskUsage).max(256).optional(),
  disk_io: z.array(DiskIo).max(256).optional(),
  net: z.array(NetIface).max(256).optional(),
  temps: z.array(Temp).max(256).optional(),
  gpus: z.array(Gpu).max(64).optional(),
  emc: Emc.optional(),
  power: z.array(PowerRail).max(64).optional(),
  containers: z.array(ContainerStat).max(1000).optional(),
});
export type SampleMetrics = z.infer<typeof SampleMetrics>;

/**
 * Highest seq the hub accepts (2^48: 9 million years at one sample a second). Far below
 * `Number.MAX_SAFE_INTEGER`, so a node's seq can never be pushed to where the next one is unsafe.
 */
export const SEQ_MAX = 2 ** 48;

/**
 * How far one batch may move a node's seq beyond the hub's `last_seq` (plus
 * {@link SEQ_PER_SILENT_HOUR} per whole hour the node was silent): more than a full spool holds
 * (24 h at 100 ms is 864,000), far less than {@link SEQ_MAX}, so a bogus seq cannot pin a node.
 */
export const SEQ_WINDOW = 1_000_000;

/** Extra seq allowance per whole hour since the hub last heard from a node: an agent sampling
 * every 100 ms while cut off for weeks still fits its window. */
export const SEQ_PER_SILENT_HOUR = 36_000;

/**
 * Highest first seq of a node the hub holds no seq for (new, or deleted and enrolled again with
 * its old spool): generous for any real agent, and still 2^48 − 2^40 below {@link SEQ_MAX}.
 */
export const SEQ_FIRST_MAX = 2 ** 40;

const Ts = z.number().int().positive().max(8_640_000_000_000_000);

/** One sample: metrics plus the agent's per-node sequence number and collection time. */
export const Sample = SampleMetrics.extend({
  seq: z.number().int().positive().max(
    SEQ_MAX,
    `seq must be an integer from 1 to ${SEQ_MAX} (2^48)`,
  ),
  ts: Ts,
});
export type Sample = z.infer<typeof Sample>;

/** Top-level keys of a {@link Sample}; others are counted and ignored at ingest. */
export const SAMPLE_KEYS: ReadonlySet<string> = new Set(Object.keys(Sample.shape));

/** What an agent says about itself with every batch. */
export const AgentInfo = z.object({
  version: z.string().max(64),
  hostname: z.string().max(256).optional(),
  arch: z.string().max(32).optional(),
  os: z.string().max(256).optional(),
  kernel: z.string().max(256).optional(),
});
export type AgentInfo = z.infer<typeof AgentInfo>;

/** Most samples in one ingest request. */
export const MAX_BATCH = 1000;

/** `POST /api/v1/ingest` body. */
export const IngestBatch = z.strictObject({
  node_id: NodeId,
  agent: AgentInfo.optional(),
  /**
   * Samples this agent dropped since its spool was created: spool overflow (size/age bounds) and
   * samples the hub refused.
   */
  spool_dropped: z.number().int().nonnegative().optional(),
  /**
   * The agent's clock when it sent the batch: the hub compares it with its own to measure the
   * node's clock skew (absent from older agents).
   */
  sent_at: Ts.optional(),
  // Loose: unknown sample keys (a newer agent's metric) are counted, then dropped, not refused.
  samples: z.array(Sample.loose()).min(1).max(MAX_BATCH),
});
export type IngestBatch = z.infer<typeof IngestBatch>;

/** `POST /api/v1/ingest` answer: every sample up to `acked_seq` in the batch is durable. */
export const IngestAck = z.object({
  node_id: NodeId,
  acked_seq: z.number().int(),
  stored: z.number().int(),
  duplicates: z.number().int(),
  /** Highest seq the hub holds for this node (lets a restarted agent never reuse a seq). */
  last_seq: z.number().int(),
  /** Sample keys of this batch the hub does not know and ignored (0 when none). */
  unknown_keys: z.number().int().optional(),
  /** How far the agent's clock is off the hub's, in seconds; `null` when within the allowed skew. */
  clock_skew_s: z.number().nullable().optional(),
});
export type IngestAck = z.infer<typeof IngestAck>;

/** `GET /api/v1/agent/self` answer: who a node token belongs to. */
export const AgentSelf = z.object({ node_id: NodeId, last_seq: z.number().int() });
export type AgentSelf = z.infer<typeof AgentSelf>;

/** Node status as computed by the hub from the age of its last sample. */
export const NodeStatus = z.enum(["pending", "online", "degraded", "offline"]);
export type NodeStatus = z.infer<typeof NodeStatus>;

/** One step of a node's boot recovery. */
export const RecoveryStep = z.object({
  step: z.string().min(1).max(128),
  ok: z.boolean(),
  detail: z.string().max(4096),
});

/** `POST /api/v1/nodes/:id/recovery` body (the node's own token): how its boot recovery went. */
export const RecoveryReport = z.strictObject({
  steps: z.array(RecoveryStep).min(1).max(64),
});

/** A node's last recovery, as the hub shows it. */
export const NodeRecovery = z.object({
  at: z.number(),
  ok: z.boolean(),
  steps: z.array(RecoveryStep),
});
export type NodeRecovery = z.infer<typeof NodeRecovery>;

/** A node as the hub knows it. */
export const NodeSummary = z.object({
  id: NodeId,
  name: z.string(),
  hostname: z.string().nullable(),
  arch: z.string().nullable(),
  agent_version: z.string().nullable(),
  type: z.string().nullable(),
  role: z.string().nullable(),
  cluster: z.string().nullable(),
  status: NodeStatus,
  first_seen: z.number().nullable(),
  /** Hub time of the last accepted sample (status is computed from it, not the node's clock). */
  last_seen: z.number().nullable(),
  last_seq: z.number().int(),
  spool_dropped: z.number().int(),
  last_sample: Sample.nullable(),
  /** The last boot recovery the node reported. */
  recovery: NodeRecovery.nullable(),
  /**
   * How far the node's clock is off the hub's, in seconds (positive: ahead), as measured at its
   * last batch; `null` while within the allowed skew. Its samples are then placed on hub time.
   */
  clock_skew_s: z.number().nullable().optional(),
  /** Unknown sample keys the hub ignored from this node (see the hub log for which). */
  unknown_keys: z.number().int().optional(),
  /** The node's agent holds its control WebSocket (exec, terminal, containers) right now. */
  control: z.boolean().optional(),
  /** Last measured hub → agent → hub round trip on the control channel, in ms. */
  rtt_ms: z.number().nonnegative().nullable().optional(),
});
export type NodeSummary = z.infer<typeof NodeSummary>;

/** `GET /api/v1/fleet` answer. */
export const FleetSnapshot = z.object({
  hub: z.object({ version: z.string(), boot_id: z.string(), now: z.number() }),
  /** Id of the newest event already reflected here: subscribe with it as `Last-Event-ID`. */
  event_id: z.string(),
  nodes: z.array(NodeSummary),
});
export type FleetSnapshot = z.infer<typeof FleetSnapshot>;

/** Events on `GET /api/v1/fleet/events`; the SSE `event:` field is `type`. */
export const NodeSampleEvent = z.object({
  type: z.literal("node.sample"),
  node_id: NodeId,
  sample: Sample,
});
export const NodeStatusEvent = z.object({
  type: z.literal("node.status"),
  node_id: NodeId,
  status: NodeStatus,
  previous: NodeStatus,
  last_seen: z.number().nullable(),
});
export const NodeAddedEvent = z.object({ type: z.literal("node.added"), node: NodeSummary });
export const NodeRemovedEvent = z.object({ type: z.literal("node.removed"), node_id: NodeId });
/** A node reported its boot recovery. */
export const NodeRecoveryEvent = z.object({
  type: z.literal("node.recovery"),
  node_id: NodeId,
  recovery: NodeRecovery,
});
/** A node's clock went off, came back in sync, or its skew changed by a second or more. */
export const NodeClockEvent = z.object({
  type: z.literal("node.clock"),
  node_id: NodeId,
  clock_skew_s: z.number().nullable(),
});
/** Sent when a resume is impossible (hub restarted or id too old): re-fetch the snapshot. */
export const StreamResetEvent = z.object({ type: z.literal("stream.reset"), reason: z.string() });

/** Query of `GET /api/v1/nodes/:id/metrics`; times in ms (or ISO 8601), step in seconds. */
export const MetricsQuery = z.strictObject({
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  step: z.coerce.number().int().min(1).max(86_400).optional(),
});

/** One aggregated series; `null` marks a bucket with no data (draw a gap, not a line). */
export const SeriesValues = z.object({
  avg: z.array(z.number().nullable()),
  min: z.array(z.number().nullable()),
  max: z.array(z.number().nullable()),
});
export type SeriesValues = z.infer<typeof SeriesValues>;

/** `GET /api/v1/nodes/:id/metrics` answer: bucket start times and one entry per series. */
export const MetricsResponse = z.object({
  node_id: NodeId,
  from: z.number(),
  to: z.number(),
  step_s: z.number(),
  source: z.enum(["raw", "rollup"]),
  ts: z.array(z.number()),
  series: z.record(z.string(), SeriesValues),
});
export type MetricsResponse = z.infer<typeof MetricsResponse>;

/**
 * Token kinds (SPEC §5). `enrollment` tokens are one-time and expiring: a new node exchanges one
 * for its own `node` token at `POST /api/v1/enroll`.
 */
export const TokenKind = z.enum(["admin", "viewer", "node", "enrollment"]);
export type TokenKind = z.infer<typeof TokenKind>;

/** `POST /api/v1/tokens` body. */
export const TokenCreate = z.strictObject({
  kind: TokenKind,
  name: z.string().min(1).max(128).optional(),
  node_id: NodeId.optional(),
  /** Lifetime in seconds (enrollment tokens default to 24 h). */
  ttl_s: z.number().int().min(60).max(365 * 86_400).optional(),
  /** Enrollment only: the token replaces `node_id`'s current token (a reinstalled node). */
  reenroll: z.boolean().optional(),
}).refine((t) => t.kind !== "node" || t.node_id !== undefined, {
  message: "node_id is required for kind node",
  path: ["node_id"],
}).refine((t) => t.kind === "node" || t.kind === "enrollment" || t.node_id === undefined, {
  message: "node_id is only for node and enrollment tokens",
  path: ["node_id"],
}).refine((t) => !t.reenroll || (t.kind === "enrollment" && t.node_id !== undefined), {
  message: "reenroll is only for enrollment tokens that name the node (node_id)",
  path: ["reenroll"],
});
export type TokenCreate = z.infer<typeof TokenCreate>;

/** A token as listed: never the secret, never its hash. */
export const TokenInfo = z.object({
  id: z.string(),
  name: z.string(),
  kind: TokenKind,
  node_id: z.string().nullable(),
  created_at: z.number(),
  expires_at: z.number().nullable(),
  last_used_at: z.number().nullable(),
  revoked_at: z.number().nullable(),
  /** When an enrollment token was exchanged (it works once). */
  used_at: z.number().nullable(),
  /** An enrollment token that replaces `node_id`'s token when used. */
  reenroll: z.boolean(),
});
export type TokenInfo = z.infer<typeof TokenInfo>;

/** `POST /api/v1/enroll` body (public: the enrollment token is the credential). */
export const EnrollRequest = z.strictObject({
  token: z.string().min(1).max(512),
  hostname: z.string().min(1).max(253),
  arch: z.string().max(32),
  os: z.string().max(256).optional(),
  kernel: z.string().max(256).optional(),
  cpus: z.number().int().positive().max(4096).optional(),
  mem_b: z.number().nonnegative().optional(),
});
export type EnrollRequest = z.infer<typeof EnrollRequest>;

/** `POST /api/v1/enroll` answer: the node's own token, shown once. */
export const EnrollResponse = z.object({ node_id: NodeId, token: z.string() });
export type EnrollResponse = z.infer<typeof EnrollResponse>;

/** `POST /api/v1/tokens` answer: the only time the secret is shown. */
export const TokenCreated = TokenInfo.extend({ token: z.string() });
export type TokenCreated = z.infer<typeof TokenCreated>;

/** `POST /api/v1/session` body: log the browser in with a token (sets an HttpOnly cookie). */
export const SessionCreate = z.strictObject({ token: z.string().min(1).max(512) });

/** `GET /api/v1/session` answer. */
export const SessionInfo = z.object({ kind: TokenKind, name: z.string() });

/** RFC 9457 problem details, the body of every error answer. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof Problem>;

/** `GET /api/v1/hub/stats` answer: the hub's own health numbers. */
export const HubStats = z.object({
  version: z.string(),
  boot_id: z.string(),
  uptime_s: z.number(),
  rss_b: z.number(),
  nodes: z.number(),
  sse_clients: z.number(),
  sse_dropped: z.number(),
  samples_stored: z.number(),
  commit_batches: z.number(),
  last_event_id: z.string(),
});
export type HubStats = z.infer<typeof HubStats>;

// ---------------------------------------------------------------------------------------------
// Jobs (SPEC §4.3)

/** Lifecycle of a job. */
export const JobState = z.enum(["pending", "claimed", "running", "done", "failed", "cancelled"]);
export type JobState = z.infer<typeof JobState>;

/** How a job runs on the node: a container, or a plain command (hosts without Docker, tests). */
export const JobExecutor = z.enum(["process", "docker"]);
export type JobExecutor = z.infer<typeof JobExecutor>;

/** A bind mount of a docker job (`source` on the node, `target` in the container). */
export const Mount = z.strictObject({
  source: z.string().min(1).max(1024),
  target: z.string().regex(/^\//, "target must be an absolute path").max(1024),
  readonly: z.boolean().optional(),
});
export type Mount = z.infer<typeof Mount>;

/** A command: one shell string (`/bin/sh -c`) or an argv array. */
export const JobCommand = z.union([
  z.string().min(1).max(16_384),
  z.array(z.string().max(16_384)).min(1).max(256),
]);
export type JobCommand = z.infer<typeof JobCommand>;

/** Deepest nesting accepted in free-form JSON (job payloads and results, agent replies). */
export const MAX_JSON_DEPTH = 32;
/** Most values (object keys and array items, all levels) in one job payload or result. */
export const MAX_JSON_VALUES = 10_000;
/** Most variables in a job's `env`. */
export const MAX_ENV_VARS = 1000;

/**
 * Why `value` is nested deeper than `maxDepth` or holds more than `maxValues` values, or
 * `undefined` when it fits. Walks with its own stack and stops at the first limit passed, so a
 * 400,000-deep body costs neither stack nor time.
 */
export function jsonShapeProblem(
  value: unknown,
  maxDepth: number,
  maxValues: number,
): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  let values = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= maxDepth) return `nested deeper than ${maxDepth} levels`;
    const items = Array.isArray(v) ? v : Object.values(v);
    values += items.length;
    if (values > maxValues) return `holds more than ${maxValues} values (keys and items)`;
    for (const item of items) stack.push([item, depth + 1]);
  }
  return undefined;
}

/** Free-form JSON with bounded depth and size; the issue lands on the field that holds it. */
export function boundedJson(maxDepth = MAX_JSON_DEPTH, maxValues = MAX_JSON_VALUES) {
  return z.unknown().superRefine((v, ctx) => {
    const problem = jsonShapeProblem(v, maxDepth, maxValues);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

const EnvMap = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "env names: A-Z, 0-9, _"),
  z.string().max(65_536),
).refine((e) => Object.keys(e).length <= MAX_ENV_VARS, `at most ${MAX_ENV_VARS} variables`);

/** `POST /api/v1/jobs` body: a template, or an explicit executor with its image or command. */
export const JobSubmit = z.strictObject({
  template: z.string().min(1).max(128).optional(),
  executor: JobExecutor.optional(),
  image: z.string().min(1).max(512).optional(),
  command: JobCommand.optional(),
  cluster: NodeId.optional(),
  node: NodeId.optional(),
  env: EnvMap.optional(),
  payload: boundedJson().optional(),
  priority: z.number().int().min(0).max(1000).default(0),
  max_attempts: z.number().int().min(1).max(100).default(3),
  timeout_s: z.number().int().min(1).max(7 * 86_400).optional(),
}).superRefine((j, ctx) => {
  if ((j.template === undefined) === (j.executor === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["template"],
      message: "give either template or executor",
    });
  }
  if (j.executor === "docker" && !j.image) {
    ctx.addIssue({ code: "custom", path: ["image"], message: "a docker job needs an image" });
  }
  if (j.executor === "process" && !j.command) {
    ctx.addIssue({ code: "custom", path: ["command"], message: "a process job needs a command" });
  }
  if (j.cluster !== undefined && j.node !== undefined) {
    ctx.addIssue({ code: "custom", path: ["node"], message: "give cluster or node, not both" });
  }
});
export type JobSubmit = z.input<typeof JobSubmit>;

/** What a worker receives when it claims a job: everything needed to run it. */
export const JobSpec = z.object({
  id: z.string(),
  attempt: z.number().int(),
  lease_expires_at: z.number(),
  executor: JobExecutor,
  image: z.string().nullable(),
  command: JobCommand.nullable(),
  env: z.record(z.string(), z.string()),
  mounts: z.array(Mount),
  gpu: z.boolean(),
  timeout_s: z.number().int(),
  payload: z.unknown(),
});
export type JobSpec = z.infer<typeof JobSpec>;

/** One recorded transition of a job. */
export const JobTransition = z.object({
  state: JobState,
  at: z.number(),
  node: z.string().nullable(),
  detail: z.string().nullable(),
});

/** A job as the API shows it. */
export const JobInfo = z.object({
  id: z.string(),
  state: JobState,
  template: z.string().nullable(),
  executor: JobExecutor,
  image: z.string().nullable(),
  command: JobCommand.nullable(),
  cluster: z.string().nullable(),
  node: z.string().nullable(),
  priority: z.number().int(),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  timeout_s: z.number().int(),
  claimed_by: z.string().nullable(),
  lease_expires_at: z.number().nullable(),
  created_at: z.number(),
  started_at: z.number().nullable(),
  finished_at: z.number().nullable(),
  payload: z.unknown(),
  result: z.unknown(),
  error: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  log_tail: z.string().nullable(),
  history: z.array(JobTransition).optional(),
});
export type JobInfo = z.infer<typeof JobInfo>;

/** `POST /api/v1/jobs/claim` body. */
export const ClaimRequest = z.strictObject({
  /** Long-poll: wait up to this many seconds for a job (0 = answer at once). */
  wait_s: z.number().min(0).max(30).default(0),
});

/** `POST /api/v1/jobs/:id/heartbeat` body. */
export const JobHeartbeat = z.strictObject({
  attempt: z.number().int().positive(),
  /** The worker started running the job (claimed → running). */
  running: z.boolean().optional(),
  log_tail: z.string().max(65_536).optional(),
});

/** `POST /api/v1/jobs/:id/complete` body. */
export const JobComplete = z.strictObject({
  attempt: z.number().int().positive(),
  result: boundedJson().optional(),
  exit_code: z.number().int().optional(),
  log_tail: z.string().max(65_536).optional(),
});

/** `POST /api/v1/jobs/:id/fail` body. */
export const JobFail = z.strictObject({
  attempt: z.number().int().positive(),
  error: z.string().min(1).max(4096),
  exit_code: z.number().int().optional(),
  log_tail: z.string().max(65_536).optional(),
});

/**
 * `POST /api/v1/jobs/running` body: the jobs this node's agent really runs, sent when its worker
 * starts and after it reconnects. The hub returns every other job it holds as claimed or running
 * by the node to the queue at once ("agent restarted").
 */
export const JobsRunning = z.strictObject({
  /** Optional; when given it must be the token's own node. */
  node_id: NodeId.optional(),
  job_ids: z.array(z.string().regex(/^[1-9][0-9]{0,15}$/, "a job id (digits)")).max(1000),
});
export type JobsRunning = z.infer<typeof JobsRunning>;

/** `POST /api/v1/jobs/running` answer. */
export const JobsRunningResult = z.object({
  /** Reported jobs the hub confirms this node holds. */
  kept: z.array(z.string()),
  /** Jobs the node held but no longer runs, now back in the queue (or failed, out of attempts). */
  returned: z.array(z.string()),
  /** Reported jobs the node does not hold (finished, cancelled, or handed to another worker). */
  unknown: z.array(z.string()),
});
export type JobsRunningResult = z.infer<typeof JobsRunningResult>;

/** Fleet events about jobs. */
export const JobEvent = z.object({
  type: z.literal("job.state"),
  job_id: z.string(),
  state: JobState,
  previous: JobState.nullable(),
  node: z.string().nullable(),
  attempt: z.number().int(),
  detail: z.string().nullable(),
});

// ---------------------------------------------------------------------------------------------
// Roamer pool (SPEC §4.2)

/** Lifecycle of a roamer (an elastic node lent to clusters on demand). */
export const RoamerState = z.enum([
  "IDLE",
  "ASSIGNED",
  "PROVISIONING",
  "RUNNING",
  "CLEANUP",
  "FAILED",
]);
export type RoamerState = z.infer<typeof RoamerState>;

/** How long an assignment lasts. */
export const AssignMode = z.enum(["until_idle", "minutes", "manual"]);
export type AssignMode = z.infer<typeof AssignMode>;

/** `POST /api/v1/roamers/:id/assign` body: a cluster or a template, and a mode. */
export const RoamerAssign = z.strictObject({
  cluster: NodeId.optional(),
  template: z.string().min(1).max(128).optional(),
  mode: AssignMode.default("until_idle"),
  /** Length of a `minutes` assignment (fractions allowed: 0.5 = 30 s). */
  minutes: z.number().positive().max(7 * 24 * 60).optional(),
}).superRefine((a, ctx) => {
  if ((a.cluster === undefined) === (a.template === undefined)) {
    ctx.addIssue({ code: "custom", path: ["cluster"], message: "give either cluster or template" });
  }
  if ((a.mode === "minutes") !== (a.minutes !== undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["minutes"],
      message: "minutes is required for mode minutes and only allowed there",
    });
  }
});
export type RoamerAssign = z.input<typeof RoamerAssign>;

/** A roamer as the API shows it. */
export const RoamerInfo = z.object({
  node_id: NodeId,
  state: RoamerState,
  /** The cluster or template it serves, with the image to provision (when the template has one). */
  assignment: z.object({
    cluster: z.string().nullable(),
    template: z.string().nullable(),
    image: z.string().nullable(),
    mode: AssignMode,
    until: z.number().nullable(),
    by: z.string(),
    at: z.number(),
  }).nullable(),
  release_requested: z.boolean(),
  state_at: z.number(),
  detail: z.string().nullable(),
});
export type RoamerInfo = z.infer<typeof RoamerInfo>;

/** `POST /api/v1/roamers/self/state` body (node token): the roamer reports its progress. */
export const RoamerReport = z.strictObject({
  state: z.enum(["PROVISIONING", "RUNNING", "CLEANUP", "IDLE", "FAILED"]),
  detail: z.string().max(4096).optional(),
});

/** Fleet event: a roamer changed state. */
export const RoamerEvent = z.object({
  type: z.literal("roamer.state"),
  roamer: RoamerInfo,
  previous: RoamerState.nullable(),
});

/** `GET /api/v1/clusters` entry. */
export const ClusterInfo = z.object({
  id: z.string(),
  purpose: z.string().nullable(),
  template: z.string().nullable(),
  nodes: z.array(z.string()),
  roamers: z.array(z.string()),
  workers: z.object({ online: z.number().int(), total: z.number().int() }),
  queue: z.object({ pending: z.number().int(), running: z.number().int() }),
});
export type ClusterInfo = z.infer<typeof ClusterInfo>;

// Control-channel events (SPEC §4.4); the messages themselves are at the end of this file.

/** The agent's control WebSocket connected or dropped, or its round trip time changed notably. */
export const NodeControlEvent = z.object({
  type: z.literal("node.control"),
  node_id: NodeId,
  connected: z.boolean(),
  rtt_ms: z.number().nonnegative().nullable(),
});

/** Where one node of a batch exec is. `exited` carries the exit code (0 or not). */
export const ExecNodeState = z.enum([
  "running",
  "exited",
  "timed_out",
  "cancelled",
  "interrupted",
  "offline",
  "error",
]);
export type ExecNodeState = z.infer<typeof ExecNodeState>;

/** Which pipe a piece of output came from. */
export const OutputStream = z.enum(["stdout", "stderr"]);
export type OutputStream = z.infer<typeof OutputStream>;

/** A batch exec was accepted; `nodes` are every target (offline ones get `exec.exit` at once). */
export const ExecStartedEvent = z.object({
  type: z.literal("exec.started"),
  exec_id: z.string(),
  command: z.string(),
  nodes: z.array(NodeId),
  by: z.string(),
});
/** A piece of one node's output (live; stored with the node's result when it ends). */
export const ExecOutputEvent = z.object({
  type: z.literal("exec.output"),
  exec_id: z.string(),
  node_id: NodeId,
  stream: OutputStream,
  data: z.string(),
});
/** One node finished (or was found offline, or lost): its final state and exit code. */
export const ExecExitEvent = z.object({
  type: z.literal("exec.exit"),
  exec_id: z.string(),
  node_id: NodeId,
  state: ExecNodeState,
  exit_code: z.number().int().nullable(),
  truncated: z.boolean(),
  error: z.string().nullable(),
});
/** Every node of a batch exec has finished. */
export const ExecFinishedEvent = z.object({
  type: z.literal("exec.finished"),
  exec_id: z.string(),
  state: z.enum(["done", "cancelled", "interrupted"]),
});

/** Every event of the fleet stream. */
export const FleetEvent = z.discriminatedUnion("type", [
  NodeControlEvent,
  ExecStartedEvent,
  ExecOutputEvent,
  ExecExitEvent,
  ExecFinishedEvent,
  NodeSampleEvent,
  NodeStatusEvent,
  NodeAddedEvent,
  NodeRemovedEvent,
  NodeRecoveryEvent,
  NodeClockEvent,
  StreamResetEvent,
  JobEvent,
  RoamerEvent,
]);
export type FleetEvent = z.infer<typeof FleetEvent>;

// ---------------------------------------------------------------------------------------------
// Canvas (SPEC §4.9)

/** Most node positions one layout holds. */
export const MAX_LAYOUT_NODES = 5000;

/** A node's position on the canvas, in flow coordinates. */
export const LayoutPosition = z.strictObject({
  x: finite.min(-1e6).max(1e6),
  y: finite.min(-1e6).max(1e6),
});

/**
 * `PUT /api/v1/layout` body and `GET` answer: node id → position, and where the hub sits; saved
 * per token kind.
 */
export const Layout = z.strictObject({
  positions: z.record(NodeId, LayoutPosition).refine(
    (p) => Object.keys(p).length <= MAX_LAYOUT_NODES,
    `at most ${MAX_LAYOUT_NODES} positions`,
  ),
  hub: LayoutPosition.optional(),
});
export type Layout = z.infer<typeof Layout>;

/** `GET /api/v1/templates` entry: a job/roamer template from fleet.yml. */
export const TemplateInfo = z.object({
  name: z.string(),
  executor: JobExecutor,
  image: z.string().nullable(),
  command: JobCommand.nullable(),
  gpu: z.boolean(),
  startup_s: z.number().nullable(),
  timeout_s: z.number().nullable(),
});
export type TemplateInfo = z.infer<typeof TemplateInfo>;

// ---------------------------------------------------------------------------------------------
// Control channel (SPEC §4.4): the agent's one outbound WebSocket (`GET /api/v1/agent/ws`), batch
// exec, the web terminal, container operations and the audit log.
//
// Agent ↔ hub frames are JSON text, one message each, discriminated by `type`. Everything that
// belongs to one operation (an exec on this node, a terminal, a container request or a log
// follow) carries the same channel id `ch`, chosen by the hub; many channels share the socket.
// A frame that is not valid JSON or fails its schema is logged and answered with an `error`
// message; the connection stays up.

/** Largest control frame either side accepts (bytes of JSON text). */
export const MAX_CONTROL_FRAME = 1_048_576;

/** What an agent can do over its control channel (sent in `hello`). */
export const ControlCapability = z.enum(["exec", "pty", "docker"]);
export type ControlCapability = z.infer<typeof ControlCapability>;

/** A channel id: one operation on the multiplexed control socket. */
export const ChannelId = z.number().int().positive().max(2 ** 31);

/** Terminal size in character cells. */
const Cols = z.number().int().min(2).max(1000);
const Rows = z.number().int().min(1).max(1000);

/** A container name or id as the Engine API accepts it. */
export const ContainerRef = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/,
  "container: a name or id (letters, digits, '_', '.', '-')",
);

/** Why a control request failed, so the hub can pick its HTTP status. */
export const ControlErrorCode = z.enum([
  "bad_request",
  "not_found",
  "conflict",
  "unavailable",
  "failed",
]);
export type ControlErrorCode = z.infer<typeof ControlErrorCode>;

/** An error about a frame or a channel (either direction); `ch` when it concerns one. */
export const ControlError = z.object({
  type: z.literal("error"),
  ch: ChannelId.optional(),
  message: z.string().max(4096),
});

// Agent → hub

/** First frame of a connection: who the agent is and what it can do. */
export const AgentHello = z.object({
  type: z.literal("hello"),
  version: z.string().max(64),
  capabilities: z.array(ControlCapability).max(16),
  hostname: z.string().max(256).optional(),
});
export type AgentHello = z.infer<typeof AgentHello>;
/** Answer to a hub `ping`, echoing its `t`. */
export const AgentPong = z.object({ type: z.literal("pong"), t: z.number() });
/** A piece of an exec's output (UTF-8 text). */
export const ExecOutputMessage = z.object({
  type: z.literal("exec.output"),
  ch: ChannelId,
  stream: OutputStream,
  data: z.string().max(MAX_CONTROL_FRAME),
});
/** An exec ended (or could not start: `error`). */
export const ExecExitMessage = z.object({
  type: z.literal("exec.exit"),
  ch: ChannelId,
  exit_code: z.number().int().nullable(),
  timed_out: z.boolean(),
  cancelled: z.boolean(),
  /** Output passed the cap: the rest was not sent (`tail` holds its last bytes). */
  truncated: z.boolean(),
  output_bytes: z.number().int().nonnegative(),
  tail: z.string().max(65_536).optional(),
  error: z.string().max(4096).optional(),
});
export type ExecExitMessage = z.infer<typeof ExecExitMessage>;
/** The terminal's shell runs (`pid` of the shell). */
export const PtyOpenedMessage = z.object({
  type: z.literal("pty.opened"),
  ch: ChannelId,
  pid: z.number().int().positive(),
  shell: z.string().max(256),
});
/** Terminal output (UTF-8 text as the PTY produced it, escape sequences included). */
export const PtyOutputMessage = z.object({
  type: z.literal("pty.output"),
  ch: ChannelId,
  data: z.string().max(MAX_CONTROL_FRAME),
});
/** The terminal ended: the shell exited (`code`), was closed, or never started (`reason`). */
export const PtyExitMessage = z.object({
  type: z.literal("pty.exit"),
  ch: ChannelId,
  code: z.number().int().nullable(),
  reason: z.string().max(1024),
});
/** The answer to a one-shot request (`docker` list/restart/stop/remove). */
export const ReplyMessage = z.discriminatedUnion("ok", [
  z.object({
    type: z.literal("reply"),
    ch: ChannelId,
    ok: z.literal(true),
    // The frame size bounds the values; the depth is bounded for whoever reads it next.
    data: boundedJson(MAX_JSON_DEPTH, Number.MAX_SAFE_INTEGER),
  }),
  z.object({
    type: z.literal("reply"),
    ch: ChannelId,
    ok: z.literal(false),
    code: ControlErrorCode,
    error: z.string().max(4096),
  }),
]);
/** A piece of a streamed answer (container logs). */
export const StreamDataMessage = z.object({
  type: z.literal("stream.data"),
  ch: ChannelId,
  data: z.string().max(MAX_CONTROL_FRAME),
});
/** A streamed answer ended; `error` (with `code`) when it failed. */
export const StreamEndMessage = z.object({
  type: z.literal("stream.end"),
  ch: ChannelId,
  code: ControlErrorCode.optional(),
  error: z.string().max(4096).optional(),
});

/** Every frame an agent sends. */
export const AgentMessage = z.union([
  AgentHello,
  AgentPong,
  ExecOutputMessage,
  ExecExitMessage,
  PtyOpenedMessage,
  PtyOutputMessage,
  PtyExitMessage,
  ReplyMessage,
  StreamDataMessage,
  StreamEndMessage,
  ControlError,
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

// Hub → agent

/** Answer to `hello`: the node the token belongs to and how often the hub pings. */
export const HubWelcome = z.object({
  type: z.literal("welcome"),
  node_id: NodeId,
  ping_ms: z.number().int().positive(),
});
/** Liveness and RTT probe; the agent answers `pong` with the same `t`. */
export const HubPing = z.object({ type: z.literal("ping"), t: z.number() });
/** Run `command` with `/bin/sh -c` in its own process group. */
export const ExecStartMessage = z.object({
  type: z.literal("exec.start"),
  ch: ChannelId,
  command: z.string().min(1).max(16_384),
  timeout_s: z.number().int().min(1).max(86_400),
  /** Most output bytes to send; the process keeps running past it, its output is dropped. */
  output_cap_b: z.number().int().min(1024).max(64 * 1_048_576),
});
export type ExecStartMessage = z.infer<typeof ExecStartMessage>;
/** Kill an exec's process group. */
export const ExecCancelMessage = z.object({ type: z.literal("exec.cancel"), ch: ChannelId });
/** Open a terminal: a login shell on a PTY. */
export const PtyOpenMessage = z.object({
  type: z.literal("pty.open"),
  ch: ChannelId,
  cols: Cols,
  rows: Rows,
  /** Output rate limit of this terminal, bytes per second. */
  rate_bps: z.number().int().min(1024).max(1_073_741_824),
});
export type PtyOpenMessage = z.infer<typeof PtyOpenMessage>;
/** Keystrokes (or pasted text) for a terminal. */
export const PtyInputMessage = z.object({
  type: z.literal("pty.input"),
  ch: ChannelId,
  data: z.string().max(65_536),
});
/** New terminal size. */
export const PtyResizeMessage = z.object({
  type: z.literal("pty.resize"),
  ch: ChannelId,
  cols: Cols,
  rows: Rows,
});
export type PtyResizeMessage = z.infer<typeof PtyResizeMessage>;
/** Pause or resume reading a terminal's output (the browser behind it is slow). */
export const PtyFlowMessage = z.object({
  type: z.literal("pty.flow"),
  ch: ChannelId,
  paused: z.boolean(),
});
/** End a terminal: its shell's whole session is killed. */
export const PtyCloseMessage = z.object({
  type: z.literal("pty.close"),
  ch: ChannelId,
  reason: z.string().max(256).optional(),
});
/** Container operations on the node's Docker engine. `logs` answers as a stream. */
export const DockerRequestMessage = z.discriminatedUnion("op", [
  z.object({ type: z.literal("docker"), ch: ChannelId, op: z.literal("list") }),
  z.object({
    type: z.literal("docker"),
    ch: ChannelId,
    op: z.enum(["restart", "stop", "remove"]),
    container: ContainerRef,
    /** `remove` only: remove a running container too. */
    force: z.boolean().optional(),
  }),
  z.object({
    type: z.literal("docker"),
    ch: ChannelId,
    op: z.literal("logs"),
    container: ContainerRef,
    tail: z.number().int().min(0).max(100_000),
    follow: z.boolean(),
  }),
]);
export type DockerRequestMessage = z.infer<typeof DockerRequestMessage>;
/** Stop a streamed answer (the HTTP client went away). */
export const StreamCancelMessage = z.object({ type: z.literal("stream.cancel"), ch: ChannelId });

/** Every frame the hub sends. */
export const HubMessage = z.union([
  HubWelcome,
  HubPing,
  ExecStartMessage,
  ExecCancelMessage,
  PtyOpenMessage,
  PtyInputMessage,
  PtyResizeMessage,
  PtyFlowMessage,
  PtyCloseMessage,
  DockerRequestMessage,
  StreamCancelMessage,
  ControlError,
]);
export type HubMessage = z.infer<typeof HubMessage>;

// Batch exec over HTTP

/** `POST /api/v1/exec` body: a command for some nodes or for a cluster. */
export const ExecRequest = z.strictObject({
  nodes: z.array(NodeId).min(1).max(1000).optional(),
  cluster: NodeId.optional(),
  command: z.string().max(16_384).refine((c) => c.trim().length > 0, "command is empty"),
  timeout_s: z.number().int().min(1).max(86_400).default(60),
}).superRefine((r, ctx) => {
  if ((r.nodes === undefined) === (r.cluster === undefined)) {
    ctx.addIssue({ code: "custom", path: ["nodes"], message: "give either nodes or cluster" });
  }
});
export type ExecRequest = z.input<typeof ExecRequest>;

/** A piece of stored output. */
export const OutputChunk = z.object({ stream: OutputStream, data: z.string() });

/** One node's part of a batch exec. */
export const ExecNodeResult = z.object({
  node_id: NodeId,
  state: ExecNodeState,
  exit_code: z.number().int().nullable(),
  /** Output in arrival order, up to the cap (consecutive pieces of one stream merged). */
  output: z.array(OutputChunk),
  truncated: z.boolean(),
  /** Bytes the command wrote in total (more than `output` holds when truncated). */
  output_bytes: z.number().int(),
  /** The last bytes of the output when it was truncated. */
  tail: z.string().nullable(),
  error: z.string().nullable(),
  started_at: z.number().nullable(),
  finished_at: z.number().nullable(),
});
export type ExecNodeResult = z.infer<typeof ExecNodeResult>;

/** State of a whole batch exec. */
export const ExecRunState = z.enum(["running", "done", "cancelled", "interrupted"]);
export type ExecRunState = z.infer<typeof ExecRunState>;

/** A batch exec as `GET /api/v1/exec/:id` shows it (the history list omits `output`). */
export const ExecInfo = z.object({
  id: z.string(),
  command: z.string(),
  cluster: z.string().nullable(),
  nodes: z.array(NodeId),
  timeout_s: z.number().int(),
  state: ExecRunState,
  by: z.object({ name: z.string(), kind: TokenKind }),
  created_at: z.number(),
  finished_at: z.number().nullable(),
  /** Per state, how many nodes are in it. */
  counts: z.record(z.string(), z.number().int()),
  results: z.array(ExecNodeResult).optional(),
});
export type ExecInfo = z.infer<typeof ExecInfo>;

// Web terminal: browser ↔ hub (`GET /api/v1/terminal/:node`, WebSocket, JSON text frames)

/** Browser → hub: keystrokes, or a new size. */
export const TerminalClientMessage = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("input"), data: z.string().max(65_536) }),
  z.strictObject({ type: z.literal("resize"), cols: Cols, rows: Rows }),
]);
export type TerminalClientMessage = z.infer<typeof TerminalClientMessage>;

/** Hub → browser. After `exit` (or a fatal `error`) the hub closes the socket. */
export type TerminalServerMessage =
  | { type: "ready"; session: string; node_id: string; shell: string }
  | { type: "output"; data: string }
  | { type: "exit"; code: number | null; reason: string }
  | { type: "error"; message: string };

/** Close codes of the agents' control socket (`/api/v1/agent/ws`). */
export const AGENT_CLOSE = {
  replaced: 4001,
  noPong: 4002,
  revoked: 4003,
  noHello: 4400,
  /** Another connection of the node, made with a different token, is live. */
  taken: 4009,
} as const;

/** Close codes of the terminal socket (besides 1000 = the shell exited, 1001 = hub stopping). */
export const TERMINAL_CLOSE = {
  idle: 4001,
  nodeLost: 4002,
  tooSlow: 4003,
  notConnected: 4004,
  failed: 4005,
  tooMany: 4006,
  /** The token was revoked, the node deleted or the browser session ended. */
  revoked: 4008,
} as const;

// Containers on a node

/** `GET /api/v1/nodes/:id/containers` entry. */
export const ContainerInfo = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  state: z.string(),
  status: z.string(),
  created: z.number().nullable(),
  labels: z.record(z.string(), z.string()),
});
export type ContainerInfo = z.infer<typeof ContainerInfo>;

/** `POST /api/v1/nodes/:id/containers/:cid/{restart,stop,remove}` answer. */
export const ContainerActionResult = z.object({
  node_id: NodeId,
  container: z.string(),
  action: z.enum(["restart", "stop", "remove"]),
  ok: z.literal(true),
});

// Audit log

/** One audit entry: who (token name and kind), what, on what, when, and how it ended. */
export const AuditEntry = z.object({
  id: z.string(),
  at: z.number(),
  actor: z.object({ name: z.string(), kind: z.string(), token_id: z.string().nullable() }),
  action: z.string(),
  target: z.string().nullable(),
  result: z.enum(["ok", "error"]),
  detail: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
