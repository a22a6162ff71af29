/**
 * A LAN sweep of one IPv4 CIDR from this node: ICMP echo through `ping` where it works, TCP
 * connects to a few ports otherwise (a refusal proves the host is up as well as an accept), then
 * the neighbour table for MACs (hosts that drop every probe still answer ARP), the probe ports of
 * every host found, and reverse DNS. Bounded by a concurrency cap, a rate cap and a total time
 * limit; the result says when the limit stopped it.
 *
 * @module
 */
import {
  cidrContains,
  cidrHosts,
  ipv4ToInt,
  type LanHost,
  type LanScanResult,
  type NetRequestMessage,
  parseCidr,
  type ScanProgress,
} from "../../shared/protocol/mod.ts";
import { readNeighbours } from "./neighbours.ts";
import { paced, pingAvailable, pingOnce, reverseName, tcpProbe } from "./probe.ts";

type LanRequest = Extract<NetRequestMessage, { op: "lan_scan" }>;

/** Most hosts whose reverse name is asked for (each is bounded by its own timeout). */
const MAX_PTR = 1024;
const PTR_TIMEOUT_MS = 1000;

/** Runs the sweep; `progress` is called at most every `everyMs`. */
export async function lanScan(
  req: Omit<LanRequest, "type" | "ch" | "op">,
  cancel: AbortSignal,
  progress: (p: ScanProgress) => void,
  everyMs = 500,
): Promise<LanScanResult> {
  const cidr = parseCidr(req.cidr);
  if (!cidr) throw new Error(`${req.cidr} is not an IPv4 CIDR`);
  const started = performance.now();
  const limit = AbortSignal.timeout(req.time_limit_s * 1000);
  const stop = AbortSignal.any([cancel, limit]);
  const hosts = new Map<string, LanHost>();
  const host = (ip: string): LanHost => {
    let h = hosts.get(ip);
    if (!h) {
      h = {
        ip,
        mac: null,
        vendor: null,
        name: null,
        ports: [],
        seen: [],
        rtt_ms: null,
        fleet_node: null,
      };
      hosts.set(ip, h);
    }
    return h;
  };
  const see = (h: LanHost, how: LanHost["seen"][number]) => {
    if (!h.seen.includes(how)) h.seen.push(how);
  };

  // This node's own addresses in the range are hosts too (it cannot ARP itself).
  for (const i of Deno.networkInterfaces()) {
    const n = ipv4ToInt(i.address);
    if (i.family !== "IPv4" || n === null || !cidrContains(cidr, n)) continue;
    const h = host(i.address);
    h.mac = i.mac && i.mac !== "00:00:00:00:00:00" ? i.mac.toLowerCase() : null;
    see(h, "self");
  }

  const ping = await pingAvailable();
  const method = ping.path ? "ping" : "tcp";
  let probed = 0;
  const total = cidr.hosts;
  const report = () => progress({ probed, total, found: hosts.size });
  const timer = setInterval(report, everyMs);
  const probedPorts = new Set<string>();

  const probePorts = async (h: LanHost) => {
    probedPorts.add(h.ip);
    const results = await Promise.all(
      req.ports.map((p) => tcpProbe(h.ip, p, req.timeout_ms, stop).then((r) => ({ p, r }))),
    );
    for (const { p, r } of results) {
      if (r.state === "open") h.ports.push(p);
      if (r.state !== "filtered") {
        see(h, "tcp");
        if (r.rtt_ms !== null && h.rtt_ms === null) h.rtt_ms = Math.round(r.rtt_ms * 100) / 100;
      }
    }
    h.ports.sort((a, b) => a - b);
  };

  try {
    await paced(
      cidrHosts(cidr),
      { concurrency: req.concurrency, rate: req.rate, signal: stop },
      async (ip) => {
        if (ping.path) {
          const rtt = await pingOnce(ping.path, ip, req.timeout_ms, stop);
          if (rtt !== null) {
            const h = host(ip);
            see(h, "ping");
            h.rtt_ms = rtt;
          }
        } else {
          const h: LanHost = {
            ip,
            mac: null,
            vendor: null,
            name: null,
            ports: [],
            seen: [],
            rtt_ms: null,
            fleet_node: null,
          };
          await probePorts(h);
          if (h.seen.length) {
            const known = host(ip);
            known.ports = h.ports;
            known.rtt_ms ??= h.rtt_ms;
            see(known, "tcp");
            probedPorts.add(ip);
          }
        }
        probed++;
      },
    );

    // Every address that answered ARP during the sweep, with its MAC.
    for (const n of await readNeighbours()) {
      const ip = ipv4ToInt(n.ip);
      if (ip === null || !cidrContains(cidr, ip)) continue;
      const h = host(n.ip);
      h.mac = n.mac;
      see(h, "arp");
    }

    // Ports and names of what was found, while time is left.
    const found = [...hosts.values()];
    await paced(found.filter((h) => !probedPorts.has(h.ip)), {
      concurrency: Math.max(1, Math.floor(req.concurrency / Math.max(1, req.ports.length))),
      rate: req.rate,
      signal: stop,
    }, probePorts);
    await paced(
      req.names === false ? [] : found.slice(0, MAX_PTR),
      { concurrency: 16, rate: req.rate, signal: stop },
      async (h) => {
        h.name = await reverseName(h.ip, PTR_TIMEOUT_MS, stop);
      },
    );
  } finally {
    clearInterval(timer);
  }
  report();
  const list = [...hosts.values()].sort((a, b) => (ipv4ToInt(a.ip) ?? 0) - (ipv4ToInt(b.ip) ?? 0));
  return {
    kind: "lan",
    cidr: `${req.cidr.split("/")[0]}/${cidr.prefix}`,
    method,
    total,
    probed,
    stopped: cancel.aborted ? "cancelled" : limit.aborted ? "time_limit" : "done",
    elapsed_ms: Math.round(performance.now() - started),
    hosts: list,
    note: ping.note,
  };
}
