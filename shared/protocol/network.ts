/**
 * Network tools: LAN scans, port scans and WAN checks run from a node, and the node's listening
 * services and connections. The HTTP bodies, the stored scans, their stream event, the fleet.yml
 * `network:` section and the control frames between hub and agent.
 *
 * @module
 */
import { z } from "zod";
import { NodeId } from "./common.ts";

/** Largest sweep without `force` (a /22: 1,022 hosts). */
export const LAN_MAX_PREFIX_UNFORCED = 22;
/** Largest sweep even with `force` (a /16: 65,534 hosts). */
export const LAN_MAX_PREFIX_FORCED = 16;
/** Most ports of one port scan without `force`. */
export const PORTS_MAX_UNFORCED = 4096;
/** Ports the LAN sweep probes on each host found (and, without `ping`, to find hosts). */
export const LAN_DEFAULT_PORTS: readonly number[] = [22, 80, 443, 2377, 8080, 8765];

const Port = z.number().int().min(1).max(65535);
/** A channel id of the control socket (the same bound as the control family's). */
const Ch = z.number().int().positive().max(2 ** 31);

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parses a dotted IPv4 address to a 32-bit number, or null. */
export function ipv4ToInt(ip: string): number | null {
  if (!IPV4.test(ip)) return null;
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

/** A 32-bit number as a dotted IPv4 address. */
export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** An IPv4 CIDR: its first address, prefix and how many host addresses a sweep probes. */
export interface Cidr {
  base: number;
  prefix: number;
  /** Host addresses (network and broadcast excluded below a /31). */
  hosts: number;
}

/** Parses `a.b.c.d/n` (host bits are cleared); null when it is not one. */
export function parseCidr(text: string): Cidr | null {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) return null;
  const ip = ipv4ToInt(m[1]);
  const prefix = Number(m[2]);
  if (ip === null || prefix > 32) return null;
  const size = 2 ** (32 - prefix);
  const base = Math.floor(ip / size) * size;
  return { base, prefix, hosts: prefix >= 31 ? size : size - 2 };
}

/** Every host address of a CIDR, in order. */
export function* cidrHosts(c: Cidr): Generator<string> {
  const size = 2 ** (32 - c.prefix);
  const [first, last] = c.prefix >= 31 ? [0, size - 1] : [1, size - 2];
  for (let i = first; i <= last; i++) yield intToIpv4(c.base + i);
}

/** Whether `ip` (IPv4 number) lies in `c`. */
export function cidrContains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + 2 ** (32 - c.prefix);
}

// Private, loopback, link-local and shared (CGNAT) ranges: the ones a scan may target unless
// fleet.yml says network.allow_public_targets.
const PRIVATE_V4: [string, number][] = [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["100.64.0.0", 10],
];

/** Whether an IP literal is in a private, loopback or link-local range (v4 or v6). */
export function isPrivateAddress(ip: string): boolean {
  const v4 = ipv4ToInt(ip);
  if (v4 !== null) {
    return PRIVATE_V4.some(([base, prefix]) => cidrContains(parseCidr(`${base}/${prefix}`)!, v4));
  }
  const v6 = ip.toLowerCase().replace(/^\[|\]$/g, "");
  if (!v6.includes(":")) return false;
  if (v6 === "::1") return true;
  const mapped = /^::ffff:([\d.]+)$/.exec(v6);
  if (mapped) return isPrivateAddress(mapped[1]);
  return /^f[cd][0-9a-f]{0,2}:/.test(v6) || /^fe[89ab][0-9a-f]?:/.test(v6);
}

/** Whether a whole CIDR is private (its first and last addresses are). */
export function isPrivateCidr(c: Cidr): boolean {
  return isPrivateAddress(intToIpv4(c.base)) &&
    isPrivateAddress(intToIpv4(c.base + 2 ** (32 - c.prefix) - 1));
}

/**
 * Expands a port list: numbers, or text like `22,80,8000-8100`. Sorted, without repeats; throws
 * an Error naming the bad part.
 */
export function expandPorts(spec: string | number[], max: number): number[] {
  const set = new Set<number>();
  const parts = typeof spec === "string" ? spec.split(",").map((s) => s.trim()) : spec;
  for (const p of parts) {
    if (typeof p === "number") {
      set.add(p);
    } else if (p !== "") {
      const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(p);
      if (!m) throw new Error(`"${p}" is not a port or a range like 8000-8100`);
      const a = Number(m[1]);
      const b = Number(m[2] ?? m[1]);
      if (a < 1 || b > 65535 || a > b) throw new Error(`"${p}": ports are 1-65535, low-high`);
      if (b - a + 1 > max) throw new Error(`"${p}" holds more than ${max} ports`);
      for (let i = a; i <= b; i++) set.add(i);
    }
    if (set.size > max) throw new Error(`more than ${max} ports (use force for up to 65535)`);
  }
  if (set.size === 0) throw new Error("no ports given");
  return [...set].sort((a, b) => a - b);
}

// fleet.yml

/** A WAN check target: a URL (DNS, TCP connect, HTTP HEAD) or a host and port (DNS, TCP). */
export const WanTarget = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  url: z.url({ protocol: /^https?$/ }).max(2048).optional(),
  host: z.string().min(1).max(253).optional(),
  port: Port.optional(),
}).refine((t) => (t.url === undefined) !== (t.host === undefined), {
  message: "give either url or host (with port)",
});
export type WanTarget = z.infer<typeof WanTarget>;

/** The `network:` section of fleet.yml. */
export const NetworkSettings = z.strictObject({
  /** Port scans and sweeps of public addresses (outside private ranges) are refused unless set. */
  allow_public_targets: z.boolean().default(false),
  /** What a WAN check from a node tries. */
  wan_targets: z.array(WanTarget).max(32).default([]),
  /** Scans kept in the database (older ones are dropped). */
  keep_scans: z.number().int().min(10).max(100_000).default(500),
});
export type NetworkSettings = z.infer<typeof NetworkSettings>;

// HTTP bodies

/** `POST /api/v1/network/scans`: a LAN sweep of `cidr` from `node`. */
export const LanScanRequest = z.strictObject({
  node: NodeId,
  cidr: z.string().max(64).refine(
    (s) => parseCidr(s) !== null,
    "not an IPv4 CIDR like 10.0.3.0/24",
  ),
  /** Allows a sweep larger than a /22 (up to a /16). */
  force: z.boolean().default(false),
  /** Ports probed on every host (and used to find hosts when `ping` is unavailable). */
  ports: z.array(Port).min(1).max(32).optional(),
  /** The whole scan stops here, whatever is left (and says so). */
  time_limit_s: z.number().int().min(1).max(3600).default(120),
  /** Probes in flight at once. */
  concurrency: z.number().int().min(1).max(256).default(64),
  /** Probes started per second, at most. */
  rate: z.number().int().min(1).max(5000).default(500),
  /** Per-probe timeout. */
  timeout_ms: z.number().int().min(50).max(10_000).default(800),
  /** Ask DNS for the reverse name (PTR) of every host found. */
  names: z.boolean().default(true),
  /** Answer when the scan has finished (bounded by its time limit) instead of at once. */
  wait: z.boolean().default(false),
});
export type LanScanRequest = z.input<typeof LanScanRequest>;

/** `POST /api/v1/network/port-scans`: TCP ports of `host` as seen from `node`. */
export const PortScanRequest = z.strictObject({
  node: NodeId,
  host: z.string().min(1).max(253).regex(
    /^[A-Za-z0-9.:_-]+$/,
    "host: an IP address or a host name",
  ),
  /** A list, or text like `22,80,8000-8100`. */
  ports: z.union([z.array(Port).min(1).max(65535), z.string().min(1).max(4096)]),
  /** Allows more than 4,096 ports. */
  force: z.boolean().default(false),
  timeout_ms: z.number().int().min(50).max(10_000).default(1000),
  concurrency: z.number().int().min(1).max(512).default(100),
  time_limit_s: z.number().int().min(1).max(3600).default(120),
  wait: z.boolean().default(false),
});
export type PortScanRequest = z.input<typeof PortScanRequest>;

/** `POST /api/v1/network/wan-checks`: the configured WAN targets, from `node`. */
export const WanCheckRequest = z.strictObject({
  node: NodeId,
  timeout_ms: z.number().int().min(100).max(30_000).default(5000),
  wait: z.boolean().default(false),
});
export type WanCheckRequest = z.input<typeof WanCheckRequest>;

/** `GET /api/v1/network/scans` query. */
export const ScanListQuery = z.strictObject({
  node: NodeId.optional(),
  kind: z.enum(["lan", "port", "wan"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

// Results

/** How a scan ended: all probed, stopped at its time limit, cancelled, or failed. */
export const ScanStop = z.enum(["done", "time_limit", "cancelled"]);
export type ScanStop = z.infer<typeof ScanStop>;

/** One host a LAN scan found. */
export const LanHost = z.object({
  ip: z.string().max(64),
  mac: z.string().max(32).nullable(),
  /** The MAC's vendor from the IEEE OUI registry (filled in by the hub). */
  vendor: z.string().max(256).nullable().default(null),
  /** Reverse DNS name. */
  name: z.string().max(253).nullable(),
  /** Open TCP ports among those probed. */
  ports: z.array(Port).max(64),
  /** How it was seen: in the neighbour table, answering ping, answering TCP. */
  seen: z.array(z.enum(["arp", "ping", "tcp", "self"])).max(4),
  rtt_ms: z.number().nonnegative().nullable(),
  /** The fleet node at this address, when one is known (filled in by the hub). */
  fleet_node: z.string().nullable().default(null),
});
export type LanHost = z.infer<typeof LanHost>;

/** What a LAN sweep returns. */
export const LanScanResult = z.object({
  kind: z.literal("lan"),
  cidr: z.string().max(64),
  /** `ping` (ICMP through the ping binary) or `tcp` (connect to the probe ports). */
  method: z.enum(["ping", "tcp"]),
  total: z.number().int().nonnegative(),
  probed: z.number().int().nonnegative(),
  stopped: ScanStop,
  elapsed_ms: z.number().nonnegative(),
  hosts: z.array(LanHost).max(65_536),
  /** Why ping was not used, when it was not. */
  note: z.string().max(512).nullable(),
});
export type LanScanResult = z.infer<typeof LanScanResult>;

/** One port's state. */
export const PortState = z.enum(["open", "closed", "filtered"]);
export type PortState = z.infer<typeof PortState>;

/** One probed port. */
export const PortResult = z.object({
  port: Port,
  state: PortState,
  rtt_ms: z.number().nonnegative().nullable(),
  /** The SSH version line or the HTTP status line and Server header. */
  banner: z.string().max(512).nullable(),
});
export type PortResult = z.infer<typeof PortResult>;

/** What a port scan returns (closed ports are counted, not listed, past the first 256). */
export const PortScanResult = z.object({
  kind: z.literal("port"),
  host: z.string().max(253),
  ip: z.string().max(64),
  total: z.number().int().nonnegative(),
  probed: z.number().int().nonnegative(),
  stopped: ScanStop,
  elapsed_ms: z.number().nonnegative(),
  counts: z.object({
    open: z.number().int().nonnegative(),
    closed: z.number().int().nonnegative(),
    filtered: z.number().int().nonnegative(),
  }),
  ports: z.array(PortResult).max(65_535),
});
export type PortScanResult = z.infer<typeof PortScanResult>;

/** One WAN target's timings (null: that step did not happen or failed). */
export const WanTargetResult = z.object({
  name: z.string().max(64),
  target: z.string().max(2048),
  ok: z.boolean(),
  addresses: z.array(z.string().max(64)).max(16),
  dns_ms: z.number().nonnegative().nullable(),
  tcp_ms: z.number().nonnegative().nullable(),
  http_status: z.number().int().nullable(),
  http_ms: z.number().nonnegative().nullable(),
  error: z.string().max(512).nullable(),
});
export type WanTargetResult = z.infer<typeof WanTargetResult>;

/** What a WAN check returns. */
export const WanCheckResult = z.object({
  kind: z.literal("wan"),
  elapsed_ms: z.number().nonnegative(),
  stopped: ScanStop,
  targets: z.array(WanTargetResult).max(32),
});
export type WanCheckResult = z.infer<typeof WanCheckResult>;

/** Any scan result. */
export const ScanResult = z.discriminatedUnion("kind", [
  LanScanResult,
  PortScanResult,
  WanCheckResult,
]);
export type ScanResult = z.infer<typeof ScanResult>;

/** Where a running scan is. */
export const ScanProgress = z.object({
  probed: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  found: z.number().int().nonnegative(),
});
export type ScanProgress = z.infer<typeof ScanProgress>;

/** A scan as listed and streamed (`result` only in `GET /api/v1/network/scans/:id`). */
export const NetworkScan = z.object({
  id: z.string(),
  kind: z.enum(["lan", "port", "wan"]),
  node_id: NodeId,
  /** The CIDR, the host, or `wan`. */
  target: z.string(),
  state: z.enum(["running", "done", "failed", "cancelled"]),
  stopped: ScanStop.nullable(),
  progress: ScanProgress,
  by: z.string(),
  created_at: z.number(),
  finished_at: z.number().nullable(),
  error: z.string().nullable(),
  result: ScanResult.optional(),
});
export type NetworkScan = z.infer<typeof NetworkScan>;

/** A scan started, progressed or ended. */
export const NetworkScanEvent = z.object({
  type: z.literal("network.scan"),
  scan: NetworkScan,
});

// Sockets of a node

/** One socket from /proc/net. */
export const SocketEntry = z.object({
  proto: z.enum(["tcp", "tcp6", "udp", "udp6"]),
  state: z.string().max(16),
  local: z.string().max(64),
  local_port: z.number().int().min(0).max(65535),
  remote: z.string().max(64),
  remote_port: z.number().int().min(0).max(65535),
  pid: z.number().int().positive().nullable(),
  process: z.string().max(256).nullable(),
});
export type SocketEntry = z.infer<typeof SocketEntry>;

/** `GET /api/v1/nodes/:id/connections`: listening services and established connections. */
export const NodeConnections = z.object({
  node_id: NodeId.optional(),
  at: z.number(),
  listening: z.array(SocketEntry).max(4096),
  established: z.array(SocketEntry).max(4096),
  /** Sockets in other states (TIME_WAIT, …) counted by state. */
  other: z.record(z.string(), z.number().int().nonnegative()),
  /** Lists cut at their bound. */
  truncated: z.boolean(),
  /** Owning processes could be read for every socket (false: run the agent as root for all). */
  processes_complete: z.boolean(),
});
export type NodeConnections = z.infer<typeof NodeConnections>;

// Control frames (hub → agent). Progress comes back as `stream.data` (JSON of ScanProgress),
// the result as `reply`; `stream.cancel` stops a scan.

/** A network request to an agent. */
export const NetRequestMessage = z.discriminatedUnion("op", [
  z.object({
    type: z.literal("net"),
    ch: Ch,
    op: z.literal("lan_scan"),
    cidr: z.string().max(64),
    ports: z.array(Port).max(32),
    timeout_ms: z.number().int().min(50).max(10_000),
    concurrency: z.number().int().min(1).max(256),
    rate: z.number().int().min(1).max(5000),
    time_limit_s: z.number().int().min(1).max(3600),
    names: z.boolean().optional(),
  }),
  z.object({
    type: z.literal("net"),
    ch: Ch,
    op: z.literal("port_scan"),
    host: z.string().min(1).max(253),
    ports: z.array(Port).min(1).max(65535),
    timeout_ms: z.number().int().min(50).max(10_000),
    concurrency: z.number().int().min(1).max(512),
    time_limit_s: z.number().int().min(1).max(3600),
    allow_public: z.boolean(),
  }),
  z.object({
    type: z.literal("net"),
    ch: Ch,
    op: z.literal("wan_check"),
    targets: z.array(WanTarget).min(1).max(32),
    timeout_ms: z.number().int().min(100).max(30_000),
  }),
  z.object({ type: z.literal("net"), ch: Ch, op: z.literal("connections") }),
]);
export type NetRequestMessage = z.infer<typeof NetRequestMessage>;
