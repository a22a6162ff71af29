/**
 * Samples an agent pushes (`POST /api/v1/ingest`), the batch around them and its ack.
 *
 * @module
 */
import { z } from "zod";
import { finite, NodeId, nonNeg, pct, shortText } from "./common.ts";
import { LinkProbe } from "./links.ts";
import { SEQ_MAX } from "./constants.ts";

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
  /** The agent's probe of the hub (round trip and loss). */
  link: LinkProbe.optional(),
});
export type SampleMetrics = z.infer<typeof SampleMetrics>;

/**
 * Highest seq the hub accepts (2^48: 9 million years at one sample a second). Far below
 * `Number.MAX_SAFE_INTEGER`, so a node's seq can never be pushed to where the next one is unsafe.
 */
export { SEQ_MAX };

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
