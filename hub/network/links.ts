/**
 * Link quality per node: every ping round it reads each node's control-channel pings (round trip,
 * loss: pings not answered within the ping timeout), the agent's own probe of the hub (carried
 * in its newest sample as `link`) and the node's interface rates, publishes the links that
 * changed as one `link.quality` event, and folds the readings into one row per node and minute.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type { EventBus } from "../core/bus.ts";
import type { AgentSessions } from "../control/agent_sessions.ts";
import type { FleetView, LiveNode } from "../fleet/service.ts";
import type {
  LinkHistory,
  LinkList,
  LinkPoint,
  NodeLink,
  NodeSummary,
} from "../../shared/protocol/mod.ts";
import {
  deleteLinkMinutes,
  linkMinutes,
  pruneLinkMinutes,
  upsertLinkMinute,
} from "./links_store.ts";
import { NotFound } from "../core/errors.ts";
import { linkBadness } from "../../shared/link_rank.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("links");

const MINUTE = 60_000;

/** Interfaces that are not the node's link to the network (loopback, containers, bridges). */
const LOCAL_IFACE = /^(lo|docker\d*|veth.*|br-.*|virbr.*|cni.*|flannel.*|cali.*)$/;

/** Sums of one node's readings within the current minute. */
interface MinuteSums {
  rtt: number;
  rttN: number;
  rttMax: number | null;
  loss: number;
  lossN: number;
  probeRtt: number;
  probeRttN: number;
  probeLoss: number;
  probeLossN: number;
  rx: number;
  tx: number;
  bwN: number;
}

const emptySums = (): MinuteSums => ({
  rtt: 0,
  rttN: 0,
  rttMax: null,
  loss: 0,
  lossN: 0,
  probeRtt: 0,
  probeRttN: 0,
  probeLoss: 0,
  probeLossN: 0,
  rx: 0,
  tx: 0,
  bwN: 0,
});

const mean = (sum: number, n: number, digits = 100): number | null =>
  n > 0 ? Math.round(sum / n * digits) / digits : null;

function pointOf(minute: number, m: MinuteSums): LinkPoint {
  return {
    ts: minute,
    rtt_ms: mean(m.rtt, m.rttN),
    rtt_max_ms: m.rttMax,
    loss_pct: mean(m.loss, m.lossN),
    probe_rtt_ms: mean(m.probeRtt, m.probeRttN),
    probe_loss_pct: mean(m.probeLoss, m.probeLossN),
    rx_bps: mean(m.rx, m.bwN, 1),
    tx_bps: mean(m.tx, m.bwN, 1),
  };
}

/** Rx and tx bytes per second of a node's newest sample, outside loopback and containers. */
export function bandwidthOf(
  n: Pick<NodeSummary, "last_sample">,
): { rx: number; tx: number } | null {
  const net = n.last_sample?.net;
  if (!net) return null;
  let rx = 0, tx = 0;
  for (const i of net) {
    if (LOCAL_IFACE.test(i.iface)) continue;
    rx += i.rx_bps;
    tx += i.tx_bps;
  }
  return { rx: Math.round(rx), tx: Math.round(tx) };
}

/**
 * A value's bucket on a 5 % logarithmic scale, `floor` wide near zero: readings in one bucket
 * count as unchanged. (Dividing a value by 5 % of itself would put every value in bucket 20.)
 */
export function changeBucket(v: number | null, floor: number): number | "-" {
  return v === null ? "-" : Math.round(Math.log(Math.max(0, v) + floor * 20) / Math.log(1.05));
}

/** What a reading is compared by to decide whether it changed (bucketed, without its time). */
export function changeKey(l: NodeLink): string {
  return [
    l.connected,
    changeBucket(l.rtt_avg_ms, 0.5),
    l.loss_pct,
    changeBucket(l.probe_rtt_ms, 0.5),
    l.probe_loss_pct,
    changeBucket(l.rx_bps, 100),
    changeBucket(l.tx_bps, 100),
  ].join("|");
}

/** Options of {@link LinkMonitor}. */
export interface LinkMonitorOptions {
  /** How often links are read (the control ping interval). */
  everyMs: number;
  /** How long minute rows are kept. */
  retentionMs: number;
}

/** Reads, publishes and keeps every node's link quality. */
export class LinkMonitor {
  #db: Database;
  #bus: EventBus;
  #agents: AgentSessions;
  #fleet: FleetView;
  #options: LinkMonitorOptions;
  #current = new Map<string, NodeLink>();
  #published = new Map<string, string>();
  #minute = 0;
  #sums = new Map<string, MinuteSums>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #pruneTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    deps: { db: Database; bus: EventBus; agents: AgentSessions; fleet: FleetView },
    options: LinkMonitorOptions,
  ) {
    this.#db = deps.db;
    this.#bus = deps.bus;
    this.#agents = deps.agents;
    this.#fleet = deps.fleet;
    this.#options = options;
  }

  /** Starts reading every interval and pruning old minutes. */
  start(): void {
    this.#timer = setInterval(() => this.tick(), this.#options.everyMs);
    this.#pruneTimer = setInterval(() => void this.#prune(), 10 * MINUTE);
  }

  /** Stops the loops and writes the minute in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearInterval(this.#pruneTimer);
    await this.#flush(this.#minute).catch((error) =>
      logger.warn("could not write the last link minute", { error })
    );
  }

  /** Every node's current link, worst first. */
  list(): LinkList {
    if (this.#current.size === 0) this.tick();
    const links = [...this.#current.values()].sort((a, b) =>
      linkBadness(b) - linkBadness(a) || a.node_id.localeCompare(b.node_id)
    );
    return {
      ts: Date.now(),
      ping_ms: this.#agents.pingMs,
      ping_timeout_ms: this.#agents.pingTimeoutMs,
      links,
    };
  }

  /** A node's minutes in `[from, to)`, the minute in progress included. */
  history(nodeId: string, from: number, to: number): LinkHistory {
    if (!this.#fleet.list().some((n) => n.id === nodeId)) {
      throw new NotFound(`no node ${nodeId}`);
    }
    const points = linkMinutes(this.#db, nodeId, from, to);
    const sums = this.#sums.get(nodeId);
    if (sums && this.#minute >= from && this.#minute < to) {
      if (points.at(-1)?.ts !== this.#minute) points.push(pointOf(this.#minute, sums));
    }
    return { node_id: nodeId, from, to, points };
  }

  /** Reads every node's link now; publishes the changed ones. */
  tick(now = Date.now()): void {
    const minute = Math.floor(now / MINUTE) * MINUTE;
    if (this.#minute && minute !== this.#minute) {
      const done = this.#minute;
      void this.#flush(done).catch((error) =>
        logger.warn("could not write link minutes", { error })
      );
    }
    this.#minute = minute;
    const changed: NodeLink[] = [];
    const seen = new Set<string>();
    for (const n of this.#fleet.live()) {
      seen.add(n.id);
      const link = this.#read(n, now);
      this.#current.set(n.id, link);
      this.#fold(n.id, link);
      const key = changeKey(link);
      if (this.#published.get(n.id) !== key) {
        this.#published.set(n.id, key);
        changed.push(link);
      }
    }
    for (const id of [...this.#current.keys()]) {
      if (!seen.has(id)) {
        // The node was removed: its link history goes with its samples and rollups.
        this.#current.delete(id);
        this.#published.delete(id);
        this.#sums.delete(id);
        void this.#db.write((tx) => deleteLinkMinutes(tx, id)).catch((error) =>
          logger.warn("could not delete a removed node's link minutes", { node_id: id, error })
        );
      }
    }
    if (changed.length) this.#bus.publish({ type: "link.quality", links: changed });
  }

  #read(n: LiveNode, now: number): NodeLink {
    const ping = this.#agents.link(n.id);
    const probe = n.last_sample?.link;
    const bw = bandwidthOf(n);
    // A sample older than a few intervals no longer describes the link.
    const fresh = n.last_seen !== null && now - n.last_seen < 60_000;
    return {
      node_id: n.id,
      ts: now,
      ...ping,
      probe_rtt_ms: fresh ? probe?.rtt_ms ?? null : null,
      probe_loss_pct: fresh ? probe?.loss_pct ?? null : null,
      rx_bps: fresh ? bw?.rx ?? null : null,
      tx_bps: fresh ? bw?.tx ?? null : null,
    };
  }

  #fold(id: string, l: NodeLink): void {
    if (!l.connected && l.probe_rtt_ms === null && l.rx_bps === null) return;
    let m = this.#sums.get(id);
    if (!m) this.#sums.set(id, m = emptySums());
    const rtt = l.rtt_avg_ms ?? l.rtt_ms;
    if (rtt !== null) {
      m.rtt += rtt;
      m.rttN++;
      m.rttMax = Math.max(m.rttMax ?? 0, l.rtt_ms ?? rtt);
    }
    if (l.loss_pct !== null) {
      m.loss += l.loss_pct;
      m.lossN++;
    }
    if (l.probe_rtt_ms !== null) {
      m.probeRtt += l.probe_rtt_ms;
      m.probeRttN++;
    }
    if (l.probe_loss_pct !== null) {
      m.probeLoss += l.probe_loss_pct;
      m.probeLossN++;
    }
    if (l.rx_bps !== null && l.tx_bps !== null) {
      m.rx += l.rx_bps;
      m.tx += l.tx_bps;
      m.bwN++;
    }
  }

  async #flush(minute: number): Promise<void> {
    if (!minute || this.#sums.size === 0) return;
    const rows = [...this.#sums].map(([id, m]) => [id, pointOf(minute, m)] as const);
    this.#sums = new Map();
    await this.#db.write((tx) => {
      for (const [id, p] of rows) upsertLinkMinute(tx, id, p);
    });
  }

  async #prune(): Promise<void> {
    const cutoff = Date.now() - this.#options.retentionMs;
    try {
      for (let i = 0; i < 100; i++) {
        const n = await this.#db.write((tx) => pruneLinkMinutes(tx, cutoff, 2000));
        if (n < 2000) break;
      }
    } catch (error) {
      logger.warn("link minutes prune failed", { error });
    }
  }
}
