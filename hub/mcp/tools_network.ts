/**
 * The network tools for AI assistants: a LAN scan, a port scan and a WAN check from a node (each
 * waits for its end, bounded by the scan's own time limit, and is audited by the hub as coming
 * from MCP), and a node's listening services and connections (read-only).
 *
 * @module
 */
import { z } from "zod";
import type { ApiClient } from "../../shared/api_client.ts";
import type { NetworkScan } from "../../shared/protocol/mod.ts";
import type { AddTool } from "./server.ts";

const NodeRef = z.string().min(1).max(64).describe("node id the tool runs from (fleet_node_list)");

const ScanOut = {
  scan_id: z.string(),
  node_id: z.string(),
  state: z.string(),
  stopped: z.string().nullable(),
  error: z.string().nullable(),
  result: z.looseObject({ kind: z.string() }).nullable(),
};

function scanData(s: NetworkScan) {
  return {
    scan_id: s.id,
    node_id: s.node_id,
    state: s.state,
    stopped: s.stopped,
    error: s.error,
    result: s.result ?? null,
  };
}

function ended(s: NetworkScan): string {
  if (s.state === "failed") return `failed: ${s.error}`;
  return s.stopped === "time_limit" ? "stopped at its time limit (partial)" : s.state;
}

/** Adds fleet_network_scan, fleet_port_scan, fleet_wan_check and fleet_node_connections. */
export function registerNetworkTools(add: AddTool, api: ApiClient): void {
  add({
    name: "fleet_network_scan",
    title: "LAN scan from a node",
    description: "Sweeps an IPv4 CIDR from a node (ping or TCP, the ARP table for MACs, vendors, " +
      "reverse names, open ports of a few common ports). At most a /22 unless force (then a " +
      "/16); private ranges only unless fleet.yml allows public ones. Waits for the end.",
    input: {
      node: NodeRef,
      cidr: z.string().max(64).describe("IPv4 CIDR, e.g. 192.168.1.0/24"),
      force: z.boolean().default(false).describe("allow more than a /22 (up to a /16)"),
      time_limit_s: z.number().int().min(1).max(900).default(120),
    },
    output: ScanOut,
    readOnly: false,
    openWorld: true,
    run: async ({ node, cidr, force, time_limit_s }, ctx) => {
      await ctx.progress(0, 1, `sweeping ${cidr} from ${node}`);
      const s = await api.lanScan({ node, cidr, force, time_limit_s, wait: true });
      const hosts = s.result?.kind === "lan" ? s.result.hosts : [];
      const outside = hosts.filter((h) => !h.fleet_node && !h.seen.includes("self")).length;
      return {
        summary: `${node} → ${cidr}: ${ended(s)}; ${hosts.length} hosts (` +
          `${outside} not in the fleet): ` +
          hosts.slice(0, 20).map((h) =>
            `${h.ip}${h.mac ? ` ${h.mac}` : ""}${h.vendor ? ` (${h.vendor})` : ""}` +
            `${h.name ? ` ${h.name}` : ""}${h.ports.length ? ` ports ${h.ports.join(",")}` : ""}`
          ).join("; "),
        data: scanData(s),
      };
    },
  });

  add({
    name: "fleet_port_scan",
    title: "Port scan from a node",
    description: "TCP ports of one host as a node sees them: open (with SSH/HTTP banner), " +
      "closed or filtered. Ports as a list or text like 22,80,8000-8100 (at most 4,096 unless " +
      "force). Private targets only unless fleet.yml allows public ones. Waits for the end.",
    input: {
      node: NodeRef,
      host: z.string().min(1).max(253).describe("IP address or host name"),
      ports: z.string().min(1).max(4096).describe("e.g. 22,80,443,8000-8100"),
      timeout_ms: z.number().int().min(50).max(10_000).default(1000).describe("per port"),
      force: z.boolean().default(false),
    },
    output: ScanOut,
    readOnly: false,
    openWorld: true,
    run: async ({ node, host, ports, timeout_ms, force }, ctx) => {
      await ctx.progress(0, 1, `scanning ${host} from ${node}`);
      const s = await api.portScan({ node, host, ports, timeout_ms, force, wait: true });
      const r = s.result?.kind === "port" ? s.result : null;
      const open = r?.ports.filter((p) => p.state === "open") ?? [];
      return {
        summary: `${node} → ${host}: ${ended(s)}` +
          (r
            ? `; ${r.counts.open} open, ${r.counts.closed} closed, ${r.counts.filtered} filtered` +
              (open.length
                ? `: ${open.map((p) => `${p.port}${p.banner ? ` (${p.banner})` : ""}`).join(", ")}`
                : "")
            : ""),
        data: scanData(s),
      };
    },
  });

  add({
    name: "fleet_wan_check",
    title: "WAN check from a node",
    description: "DNS, TCP connect and HTTP HEAD timings from a node to the targets in " +
      "fleet.yml network.wan_targets. Waits for the end.",
    input: {
      node: NodeRef,
      timeout_ms: z.number().int().min(100).max(30_000).default(5000).describe("per step"),
    },
    output: ScanOut,
    readOnly: false,
    openWorld: true,
    run: async ({ node, timeout_ms }) => {
      const s = await api.wanCheck({ node, timeout_ms, wait: true });
      const targets = s.result?.kind === "wan" ? s.result.targets : [];
      return {
        summary: `${node}: WAN check ${ended(s)}; ` +
          targets.map((t) =>
            t.ok
              ? `${t.name} ok (dns ${t.dns_ms ?? "-"} ms, tcp ${t.tcp_ms} ms` +
                `${t.http_status !== null ? `, http ${t.http_status} in ${t.http_ms} ms` : ""})`
              : `${t.name} FAILED: ${t.error}`
          ).join("; "),
        data: scanData(s),
      };
    },
  });

  add({
    name: "fleet_node_connections",
    title: "Services and connections of a node",
    description: "Listening TCP/UDP services and established connections on a node (from " +
      "/proc/net), with the owning process where the agent can read it.",
    input: { node: NodeRef },
    output: {
      node_id: z.string(),
      listening: z.array(z.looseObject({ proto: z.string(), local_port: z.number() })),
      established: z.array(z.looseObject({ proto: z.string(), remote: z.string() })),
      other: z.record(z.string(), z.number()),
    },
    readOnly: true,
    run: async ({ node }) => {
      const c = await api.nodeConnections(node);
      const svc = c.listening.slice(0, 30).map((s) =>
        `${s.proto} ${s.local}:${s.local_port}${s.process ? ` (${s.process})` : ""}`
      );
      return {
        summary: `${node}: ${c.listening.length} listening, ${c.established.length} ` +
          `established. Listening: ${svc.join(", ")}`,
        data: {
          node_id: node,
          listening: c.listening,
          established: c.established,
          other: c.other,
        },
      };
    },
  });
}
