/**
 * Network scans run from nodes through their agents' control channel: LAN sweeps, port scans
 * and WAN checks. Each is checked (bounds, private ranges), audited when accepted, stored as
 * running, and streamed: progress frames from the agent become `network.scan` events (at most
 * a few a second); the result is validated, given MAC vendors and fleet nodes, stored and
 * published. A scan that outlives its time limit by a margin, or whose agent drops, fails with
 * the reason. Also the node's listening services and connections (a read, not stored).
 *
 * @module
 */
import { z } from "zod";
import {
  expandPorts,
  isPrivateAddress,
  isPrivateCidr,
  LAN_DEFAULT_PORTS,
  LAN_MAX_PREFIX_FORCED,
  LAN_MAX_PREFIX_UNFORCED,
  LanScanRequest,
  type NetRequestMessage,
  type NetworkScan,
  type NetworkSettings,
  NodeConnections,
  parseCidr,
  PORTS_MAX_UNFORCED,
  PortScanRequest,
  ScanProgress,
  ScanResult,
  WanCheckRequest,
} from "../../shared/protocol/mod.ts";
import type { Principal } from "../core/auth.ts";
import type { Database } from "../core/db.ts";
import type { EventBus } from "../core/bus.ts";
import { BadInput, NotFound, Unavailable } from "../core/errors.ts";
import { recordAudit } from "../core/store.ts";
import { getNodeRow, listNodeRows } from "../fleet/store.ts";
import {
  type AgentSession,
  type AgentSessions,
  ControlRequestError,
} from "../control/agent_sessions.ts";
import { controlProblem } from "../control/containers.ts";
import {
  failRunningScans,
  finishScan,
  getScan,
  insertScan,
  latestScan,
  listScans,
  pruneScans,
  updateScanProgress,
} from "./store.ts";
import { macVendor } from "./oui.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("network");

/** Progress events per scan, at most one per this many ms (the agent sends every 500 ms). */
const PROGRESS_EVERY_MS = 400;
/** Past its own time limit, a scan whose agent has not answered fails after this much more. */
const GRACE_MS = 30_000;
/** How long reading a node's sockets may take. */
const CONNECTIONS_TIMEOUT_MS = 20_000;

/** Collaborators of {@link NetworkScans}. */
export interface NetworkScansOptions {
  db: Database;
  bus: EventBus;
  agents: AgentSessions;
  /** The `network:` section of fleet.yml as it is now (it may be reloaded). */
  settings: () => NetworkSettings;
}

type Kind = NetworkScan["kind"];

/** Network scans and socket listings. */
export class NetworkScans {
  #o: NetworkScansOptions;
  /** Running scans: their agent channel and the promise of their end. */
  #running = new Map<string, { session: AgentSession; ch: number; done: Promise<NetworkScan> }>();

  constructor(options: NetworkScansOptions) {
    this.#o = options;
  }

  /** Marks scans a previous hub process left running as failed. */
  async recover(): Promise<void> {
    const n = await this.#o.db.write((tx) =>
      failRunningScans(tx, "the hub restarted while the scan ran", Date.now())
    );
    if (n) logger.info("scans interrupted by a restart marked failed", { count: n });
  }

  /** The node's session if it can run network tools; 404 or 503 otherwise. */
  #session(nodeId: string): AgentSession {
    if (!getNodeRow(this.#o.db, nodeId)) {
      throw new NotFound(`no node ${nodeId}: see GET /api/v1/fleet for the known nodes`);
    }
    const session = this.#o.agents.get(nodeId);
    if (!session) {
      throw new Unavailable(
        `node ${nodeId} is not connected to the hub's control channel (offline, or an agent ` +
          "started with --control off)",
      );
    }
    if (!session.can("net")) {
      throw new Unavailable(
        `the agent on ${nodeId} is too old for network tools: upgrade it (install.sh again)`,
      );
    }
    return session;
  }

  /** Starts a LAN sweep. */
  lan(input: z.output<typeof LanScanRequest>, by: Principal): Promise<NetworkScan> {
    const cidr = parseCidr(input.cidr)!;
    if (cidr.prefix < LAN_MAX_PREFIX_FORCED) {
      throw new BadInput(
        `cidr: /${cidr.prefix} holds ${cidr.hosts.toLocaleString("en")} addresses; the largest ` +
          `sweep is a /${LAN_MAX_PREFIX_FORCED}`,
        [{ path: "cidr", message: `larger than /${LAN_MAX_PREFIX_FORCED}` }],
      );
    }
    if (cidr.prefix < LAN_MAX_PREFIX_UNFORCED && !input.force) {
      throw new BadInput(
        `cidr: /${cidr.prefix} holds ${cidr.hosts.toLocaleString("en")} addresses; sweeps ` +
          `larger than /${LAN_MAX_PREFIX_UNFORCED} need force: true`,
        [{ path: "cidr", message: `larger than /${LAN_MAX_PREFIX_UNFORCED} without force` }],
      );
    }
    if (!isPrivateCidr(cidr) && !this.#o.settings().allow_public_targets) {
      throw new BadInput(
        `cidr: ${input.cidr} is outside the private ranges; set network.allow_public_targets: ` +
          "true in fleet.yml to sweep it",
        [{ path: "cidr", message: "not a private range" }],
      );
    }
    const ports = input.ports ?? [...LAN_DEFAULT_PORTS];
    const target = `${input.cidr.split("/")[0]}/${cidr.prefix}`;
    return this.#start("lan", input.node, target, input.time_limit_s, input.wait, by, {
      force: input.force,
      ports,
      time_limit_s: input.time_limit_s,
      concurrency: input.concurrency,
      rate: input.rate,
    }, (ch) => ({
      type: "net",
      ch,
      op: "lan_scan",
      cidr: target,
      ports,
      timeout_ms: input.timeout_ms,
      concurrency: input.concurrency,
      rate: input.rate,
      time_limit_s: input.time_limit_s,
      names: input.names,
    }));
  }

  /** Starts a port scan. */
  port(input: z.output<typeof PortScanRequest>, by: Principal): Promise<NetworkScan> {
    let ports: number[];
    try {
      ports = expandPorts(input.ports, input.force ? 65535 : PORTS_MAX_UNFORCED);
    } catch (error) {
      throw new BadInput(`ports: ${(error as Error).message}`, [
        { path: "ports", message: (error as Error).message },
      ]);
    }
    const allowPublic = this.#o.settings().allow_public_targets;
    const literal = /^[\d.]+$/.test(input.host) || input.host.includes(":");
    if (literal && !allowPublic && !isPrivateAddress(input.host)) {
      throw new BadInput(
        `host: ${input.host} is outside the private ranges; set ` +
          "network.allow_public_targets: true in fleet.yml to scan it",
        [{ path: "host", message: "not a private address" }],
      );
    }
    return this.#start("port", input.node, input.host, input.time_limit_s, input.wait, by, {
      ports: ports.length,
      first: ports[0],
      last: ports[ports.length - 1],
      force: input.force,
    }, (ch) => ({
      type: "net",
      ch,
      op: "port_scan",
      host: input.host,
      ports,
      timeout_ms: input.timeout_ms,
      concurrency: input.concurrency,
      time_limit_s: input.time_limit_s,
      allow_public: allowPublic,
    }));
  }

  /** Starts a WAN check of the configured targets. */
  wan(input: z.output<typeof WanCheckRequest>, by: Principal): Promise<NetworkScan> {
    const targets = this.#o.settings().wan_targets;
    if (targets.length === 0) {
      throw new BadInput(
        "no WAN targets configured: add network.wan_targets to fleet.yml, e.g.\n" +
          "network:\n  wan_targets:\n    - url: https://registry-1.docker.io/v2/\n" +
          "    - { host: 1.1.1.1, port: 53 }",
      );
    }
    // Steps run one after another per target: DNS, TCP, HTTP, each bounded by the timeout.
    const limitS = Math.ceil((input.timeout_ms * 3) / 1000) + 1;
    return this.#start("wan", input.node, "wan", limitS, input.wait, by, {
      targets: targets.length,
    }, (ch) => ({ type: "net", ch, op: "wan_check", targets, timeout_ms: input.timeout_ms }));
  }

  async #start(
    kind: Kind,
    nodeId: string,
    target: string,
    limitS: number,
    wait: boolean,
    by: Principal,
    params: Record<string, unknown>,
    build: (ch: number) => NetRequestMessage,
  ): Promise<NetworkScan> {
    const session = this.#session(nodeId);
    const now = Date.now();
    const scan: NetworkScan = {
      id: `${now.toString(36)}-${crypto.randomUUID().slice(0, 8)}`,
      kind,
      node_id: nodeId,
      target,
      state: "running",
      stopped: null,
      progress: { probed: 0, total: 0, found: 0 },
      by: by.name,
      created_at: now,
      finished_at: null,
      error: null,
    };
    const keep = this.#o.settings().keep_scans;
    await this.#o.db.write((tx) => {
      insertScan(tx, scan, params);
      pruneScans(tx, keep);
    });
    await recordAudit(this.#o.db, {
      actor: by,
      action: `network.${kind === "lan" ? "scan" : kind === "port" ? "port_scan" : "wan_check"}`,
      target: `${nodeId}/${target}`,
      result: "ok",
      detail: { scan_id: scan.id, node_id: nodeId, target, ...params },
    });
    this.#o.bus.publish({ type: "network.scan", scan });
    logger.info("scan started", { scan_id: scan.id, kind, node_id: nodeId, target, by: by.name });

    const { promise: done, resolve } = Promise.withResolvers<NetworkScan>();
    let lastSent = 0;
    let latest = scan.progress;
    let ended = false;
    const end = async (r: { result?: ScanResult; error?: string; cancelled?: boolean }) => {
      if (ended) return;
      ended = true;
      clearTimeout(watchdog);
      session.release(ch);
      this.#running.delete(scan.id);
      const result = r.result ? await this.#enrich(r.result, nodeId) : null;
      const final = {
        state: r.error ? "failed" as const : r.cancelled ? "cancelled" as const : "done" as const,
        stopped: result?.stopped ?? (r.cancelled ? "cancelled" as const : null),
        progress: result && "probed" in result
          ? { probed: result.probed, total: result.total, found: foundOf(result) }
          : result?.kind === "wan"
          ? { probed: result.targets.length, total: result.targets.length, found: foundOf(result) }
          : latest,
        error: r.error ?? null,
        result,
        at: Date.now(),
      };
      if (final.state === "done" && final.stopped === "cancelled") final.state = "cancelled";
      await this.#o.db.write((tx) => finishScan(tx, scan.id, final));
      const stored = getScan(this.#o.db, scan.id) ??
        { ...scan, ...final, result: final.result ?? undefined, finished_at: final.at };
      const { result: _r, ...summary } = stored;
      this.#o.bus.publish({ type: "network.scan", scan: summary });
      logger.info("scan ended", {
        scan_id: scan.id,
        state: stored.state,
        stopped: stored.stopped,
        error: stored.error,
      });
      resolve(stored);
    };
    const ch = session.open({
      message: (m) => {
        if (m.type === "stream.data") {
          const p = ScanProgress.safeParse(safeJson(m.data));
          if (!p.success) return;
          latest = p.data;
          if (Date.now() - lastSent < PROGRESS_EVERY_MS) return;
          lastSent = Date.now();
          const running = { ...scan, progress: latest };
          this.#o.db.write((tx) => updateScanProgress(tx, scan.id, latest)).catch(() => {});
          this.#o.bus.publish({ type: "network.scan", scan: running });
        } else if (m.type === "reply") {
          if (!m.ok) {
            void end({ error: controlProblem(nodeId, m.code, m.error).message });
            return;
          }
          const parsed = ScanResult.safeParse(m.data);
          if (!parsed.success || parsed.data.kind !== kind) {
            void end({ error: `${nodeId}: the agent's result did not parse` });
          } else void end({ result: parsed.data });
        }
      },
      lost: (reason) =>
        void end({ error: `${nodeId}: the agent's connection was lost: ${reason}` }),
    });
    const watchdog = setTimeout(() => {
      session.send({ type: "stream.cancel", ch });
      void end({ error: `${nodeId}: no result ${GRACE_MS / 1000} s after the time limit` });
    }, limitS * 1000 + GRACE_MS);
    this.#running.set(scan.id, { session, ch, done });
    if (!session.send(build(ch))) {
      void end({ error: `${nodeId}: the connection to the agent is gone` });
    }
    if (wait) return await done;
    return scan;
  }

  /** Vendors of MACs and the fleet node at each address (by host name). */
  async #enrich(r: ScanResult, scanningNode: string): Promise<ScanResult> {
    if (r.kind !== "lan") return r;
    const byName = new Map<string, string>();
    for (const n of listNodeRows(this.#o.db)) {
      for (const name of [n.id, n.name, n.hostname]) {
        if (name) byName.set(name.toLowerCase().split(".")[0], n.id);
      }
    }
    for (const h of r.hosts) {
      if (h.mac) h.vendor = await macVendor(h.mac).catch(() => null);
      const short = h.name?.toLowerCase().split(".")[0];
      h.fleet_node = h.seen.includes("self")
        ? scanningNode
        : short
        ? byName.get(short) ?? null
        : null;
    }
    return r;
  }

  /** Stops a running scan; its partial result is kept, marked cancelled. */
  async cancel(id: string, by: Principal): Promise<NetworkScan> {
    const scan = getScan(this.#o.db, id);
    if (!scan) throw new NotFound(`no scan ${id}: see GET /api/v1/network/scans`);
    const run = this.#running.get(id);
    await recordAudit(this.#o.db, {
      actor: by,
      action: "network.scan_cancel",
      target: `${scan.node_id}/${scan.target}`,
      result: "ok",
      detail: { scan_id: id, was: scan.state },
    });
    // Already over: nothing to stop, the answer is how it ended.
    if (scan.state !== "running" || !run) return scan;
    run.session.send({ type: "stream.cancel", ch: run.ch });
    return await run.done;
  }

  /** One scan with its result. */
  get(id: string): NetworkScan {
    const scan = getScan(this.#o.db, id);
    if (!scan) throw new NotFound(`no scan ${id}: see GET /api/v1/network/scans`);
    return scan;
  }

  /** Scans newest first (without results). */
  list(q: { node?: string; kind?: Kind; limit: number }): NetworkScan[] {
    return listScans(this.#o.db, q);
  }

  /** The newest finished scan of a kind on a node (e.g. its last WAN check), or null. */
  latest(nodeId: string, kind: Kind): NetworkScan | null {
    return latestScan(this.#o.db, nodeId, kind) ?? null;
  }

  /** The configured WAN targets (names and addresses only). */
  settings(): NetworkSettings {
    return this.#o.settings();
  }

  /** A node's listening services and established connections, read now. */
  async connections(nodeId: string): Promise<NodeConnections> {
    const session = this.#session(nodeId);
    let data: unknown;
    try {
      data = await session.request(
        (ch) => ({ type: "net", ch, op: "connections" }),
        CONNECTIONS_TIMEOUT_MS,
      );
    } catch (error) {
      if (error instanceof ControlRequestError) {
        throw controlProblem(nodeId, error.code, error.message);
      }
      throw error;
    }
    const parsed = NodeConnections.safeParse(data);
    if (!parsed.success) {
      throw controlProblem(nodeId, "failed", "the agent's socket list did not parse");
    }
    return { ...parsed.data, node_id: nodeId };
  }

  /** Stops waiting for running scans (hub shutdown); they are marked failed at next start. */
  stop(): void {
    for (const run of this.#running.values()) {
      run.session.send({ type: "stream.cancel", ch: run.ch });
    }
  }
}

function foundOf(r: ScanResult): number {
  if (r.kind === "lan") return r.hosts.length;
  if (r.kind === "port") return r.counts.open;
  return r.targets.filter((t) => t.ok).length;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
