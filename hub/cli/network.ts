/**
 * `fleet-hub network …`: the network tools from a terminal, over a running hub's HTTP API. A scan
 * shows a progress bar on stderr (fed by the hub's event stream, no polling) and prints its
 * result as a table (or JSON with `--json`); Ctrl-C stops the scan on the node.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { ApiClient } from "../../shared/api_client.ts";
import type { NetworkScan, NodeConnections } from "../../shared/protocol/mod.ts";
import { EXIT_CODES_HELP, UsageError } from "../../shared/cli.ts";
import {
  expandPorts,
  LAN_MAX_PREFIX_FORCED,
  LAN_MAX_PREFIX_UNFORCED,
  parseCidr,
  PORTS_MAX_UNFORCED,
} from "../../shared/protocol/network.ts";
import { call, client, COMMON, CONNECTION, table } from "./client.ts";

/** Help of `network`. */
export const NETWORK_HELP = `Usage: fleet-hub network <command>

Commands:
  scan NODE CIDR [--force] [--ports 22,80] [--time-limit S] [--no-names]
                         LAN sweep from NODE: hosts, MACs, vendors, names, open ports
  ports NODE HOST PORTS [--force] [--timeout-ms MS]
                         TCP ports of HOST from NODE (PORTS: 22,80,8000-8100)
  wan NODE               DNS / TCP / HTTP timings from NODE to network.wan_targets
  connections NODE       listening services and established connections of NODE
  list [--node N] [--kind lan|port|wan]
  show ID                one scan with its result

A scan shows its progress on stderr; Ctrl-C stops it (what was found so far is kept).

${CONNECTION}

${EXIT_CODES_HELP}
`;

function bar(s: NetworkScan): string {
  const { probed, total, found } = s.progress;
  const width = 30;
  const filled = total ? Math.round((probed / total) * width) : 0;
  return `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${probed}/${total || "?"} probed, ` +
    `${found} found`;
}

/**
 * Follows `start`'s scan on the event stream until it ends (the stream is opened first, so no
 * event falls between), drawing progress on stderr when it is a terminal; returns the full scan.
 */
async function follow(api: ApiClient, start: () => Promise<NetworkScan>): Promise<NetworkScan> {
  const stop = new AbortController();
  const stream = await call(api, () => api.eventStream({ signal: stop.signal }));
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let scan: NetworkScan;
  try {
    scan = await call(api, start);
  } catch (error) {
    stop.abort();
    throw error;
  }
  const onInt = () => {
    Deno.stderr.writeSync(enc.encode("\nstopping the scan…\n"));
    api.cancelNetworkScan(scan.id).catch(() => {});
  };
  Deno.addSignalListener("SIGINT", onInt);
  try {
    let buf = "";
    for await (const chunk of stream) {
      buf += chunk;
      let idx: number;
      while ((idx = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        if (!frame.includes("event: network.scan")) continue;
        const data = frame.split("\n").find((l) => l.startsWith("data: "));
        if (!data) continue;
        const s = (JSON.parse(data.slice(6)) as { scan: NetworkScan }).scan;
        if (s.id !== scan.id) continue;
        scan = s;
        if (tty) Deno.stderr.writeSync(enc.encode(`\r${bar(s)}`));
        if (s.state !== "running") {
          if (tty) Deno.stderr.writeSync(enc.encode("\n"));
          return await call(api, () => api.networkScan(scan.id));
        }
      }
    }
    throw new Error("the hub's event stream ended before the scan did");
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    stop.abort();
  }
}

function outcome(s: NetworkScan): string {
  if (s.state === "failed") return `failed: ${s.error}`;
  if (s.stopped === "time_limit") return "stopped at its time limit (partial result)";
  return s.state;
}

function printScan(s: NetworkScan): void {
  const r = s.result;
  console.log(`scan ${s.id}: ${s.kind} ${s.target} from ${s.node_id}: ${outcome(s)}`);
  if (!r) return;
  if (r.kind === "lan") {
    console.log(`${r.method} sweep of ${r.probed}/${r.total} addresses in ${r.elapsed_ms} ms`);
    if (r.note) console.log(r.note);
    console.log(table([
      ["ADDRESS", "MAC", "VENDOR", "NAME", "PORTS", "FLEET"],
      ...r.hosts.map((h) => [
        h.ip,
        h.mac ?? "-",
        h.vendor ?? "-",
        h.name ?? "-",
        h.ports.join(",") || "-",
        h.seen.includes("self") ? `${h.fleet_node} (scanning)` : h.fleet_node ?? "not in fleet",
      ]),
    ]));
  } else if (r.kind === "port") {
    console.log(
      `${r.host} (${r.ip}): ${r.counts.open} open, ${r.counts.closed} closed, ` +
        `${r.counts.filtered} filtered of ${r.total}`,
    );
    const shown = r.ports.filter((p) => p.state !== "closed");
    if (shown.length) {
      console.log(table([
        ["PORT", "STATE", "RTT", "BANNER"],
        ...shown.map((p) => [
          String(p.port),
          p.state,
          p.rtt_ms === null ? "-" : `${p.rtt_ms} ms`,
          p.banner ?? "",
        ]),
      ]));
    }
  } else {
    console.log(table([
      ["TARGET", "DNS", "TCP", "HTTP", "RESULT"],
      ...r.targets.map((t) => [
        t.name,
        t.dns_ms === null ? "-" : `${t.dns_ms} ms`,
        t.tcp_ms === null ? "-" : `${t.tcp_ms} ms`,
        t.http_status === null ? "-" : `${t.http_status} in ${t.http_ms} ms`,
        t.ok ? "ok" : t.error ?? "failed",
      ]),
    ]));
  }
}

/** The hub's size limits, checked here so the message names the flag (`--force`). */
function checkCidr(text: string, force: boolean): void {
  const cidr = parseCidr(text);
  if (!cidr) throw new UsageError(`CIDR: not a network like 192.168.1.0/24: ${text}`);
  if (cidr.prefix < LAN_MAX_PREFIX_FORCED) {
    throw new UsageError(
      `CIDR: /${cidr.prefix} holds ${cidr.hosts.toLocaleString("en")} addresses; the largest ` +
        `sweep is a /${LAN_MAX_PREFIX_FORCED}`,
    );
  }
  if (cidr.prefix < LAN_MAX_PREFIX_UNFORCED && !force) {
    throw new UsageError(
      `CIDR: /${cidr.prefix} holds ${cidr.hosts.toLocaleString("en")} addresses; sweeps ` +
        `larger than /${LAN_MAX_PREFIX_UNFORCED} need --force`,
    );
  }
}

/** PORTS as the hub reads it; over the unforced limit the message names `--force`. */
function checkPorts(text: string, force: boolean): void {
  try {
    expandPorts(text, force ? 65535 : PORTS_MAX_UNFORCED);
  } catch (error) {
    const message = (error as Error).message.replace("use force", "use --force");
    throw new UsageError(
      `PORTS: ${message}${
        !force && /more than \d+ ports/.test(message) && !message.includes("--force")
          ? " (--force allows up to 65535)"
          : ""
      }`,
    );
  }
}

/** Prints a node's listening and established sockets as one table. */
export function printConnections(node: string, c: NodeConnections): void {
  const row = (s: NodeConnections["listening"][number], remote: boolean) => [
    s.proto,
    `${s.local}:${s.local_port}`,
    remote ? `${s.remote}:${s.remote_port}` : "",
    s.process ? `${s.process} (${s.pid})` : "?",
  ];
  console.log(`${node}: ${c.listening.length} listening, ${c.established.length} established`);
  console.log(table([
    ["PROTO", "LOCAL", "REMOTE", "PROCESS"],
    ...c.listening.map((s) => row(s, false)),
    ...c.established.map((s) => row(s, true)),
  ]));
  if (!c.processes_complete) console.log("(some owners unreadable: run the agent as root)");
}

/** `fleet-hub network …`. */
export async function networkCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON,
      force: { type: "boolean" },
      ports: { type: "string" },
      "time-limit": { type: "string" },
      "timeout-ms": { type: "string" },
      "no-names": { type: "boolean" },
      node: { type: "string" },
      kind: { type: "string" },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(NETWORK_HELP);
    return values.help ? 0 : 2;
  }
  const num = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag} wants a whole number`);
    return n;
  };
  const api = await client(values);
  const print = (s: NetworkScan) => {
    if (values.json) console.log(JSON.stringify(s, null, 2));
    else printScan(s);
    return s.state === "failed" ? 1 : 0;
  };
  switch (command) {
    case "scan": {
      const [node, cidr] = rest;
      if (!node || !cidr) throw new UsageError("usage: fleet-hub network scan NODE CIDR");
      checkCidr(cidr, values.force === true);
      const ports = values.ports?.split(",").map((p) => num(p.trim(), "ports")!);
      return print(
        await follow(api, () =>
          api.lanScan({
            node,
            cidr,
            force: values.force,
            ports,
            time_limit_s: num(values["time-limit"], "time-limit"),
            names: values["no-names"] ? false : undefined,
          })),
      );
    }
    case "ports": {
      const [node, host, ports] = rest;
      if (!node || !host || !ports) {
        throw new UsageError("usage: fleet-hub network ports NODE HOST PORTS");
      }
      checkPorts(ports, values.force === true);
      return print(
        await follow(api, () =>
          api.portScan({
            node,
            host,
            ports,
            force: values.force,
            timeout_ms: num(values["timeout-ms"], "timeout-ms"),
          })),
      );
    }
    case "wan": {
      const [node] = rest;
      if (!node) throw new UsageError("usage: fleet-hub network wan NODE");
      return print(await follow(api, () => api.wanCheck({ node })));
    }
    case "connections": {
      const [node] = rest;
      if (!node) throw new UsageError("usage: fleet-hub network connections NODE");
      const c = await call(api, () => api.nodeConnections(node));
      if (values.json) console.log(JSON.stringify(c, null, 2));
      else printConnections(node, c);
      return 0;
    }
    case "list": {
      const kind = values.kind as NetworkScan["kind"] | undefined;
      if (kind !== undefined && !["lan", "port", "wan"].includes(kind)) {
        throw new UsageError("--kind is lan, port or wan");
      }
      const list = await call(api, () => api.networkScans({ node: values.node, kind }));
      if (values.json) console.log(JSON.stringify(list, null, 2));
      else {
        console.log(table([
          ["ID", "KIND", "NODE", "TARGET", "STATE", "FOUND", "BY", "STARTED"],
          ...list.map((s) => [
            s.id,
            s.kind,
            s.node_id,
            s.target,
            s.stopped === "time_limit" ? "time limit" : s.state,
            String(s.progress.found),
            s.by,
            new Date(s.created_at).toISOString(),
          ]),
        ]));
      }
      return 0;
    }
    case "show": {
      const [id] = rest;
      if (!id) throw new UsageError("usage: fleet-hub network show ID");
      return print(await call(api, () => api.networkScan(id)));
    }
    default:
      throw new UsageError(`unknown network command: ${command}\n\n${NETWORK_HELP}`);
  }
}
