/**
 * The roamer pool: idle nodes lent to a
 * cluster (or a template) on demand. The hub assigns (by hand or by the autoscaler) and
 * releases by the assignment's mode; the roamer's agent reports PROVISIONING → RUNNING →
 * CLEANUP → IDLE (or FAILED). Illegal transitions are refused with 409 and change nothing.
 *
 * Autoscaler: when a cluster's pending jobs exceed 2 × its active workers, one idle, online
 * roamer is assigned to it (one per tick, then a cooldown for that cluster); roamers listed under
 * `roamers.manual_only` are never lent by it, so some stay free for assignment by hand.
 *
 * Failover: when a dedicated member of a cluster is offline while the cluster has pending jobs,
 * a roamer is lent at the next tick, whatever the queue depth and the cooldown, one per offline
 * member. The assignment's `by` records why (`autoscaler (covering for agx-03)`), which the API
 * shows as `assignment.covering` and the canvas as a chip on both cards.
 *
 * A roamer can also be assigned to a custom image: it pulls the image like a template's and
 * serves no queue; jobs submitted with `node: <roamer>` run there (as on any node).
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import { type AuditActor, insertAudit } from "../core/store.ts";
import {
  assignRoamer,
  ensureRoamers,
  getRoamerRow,
  listRoamerRows,
  releaseRoamer,
  reportRoamer,
  type RoamerRow,
} from "./store.ts";
import { activeJobCounts, type Eligibility, jobSpec } from "./store.ts";
import type { EventBus } from "../core/bus.ts";
import { getNodeRow } from "../fleet/store.ts";
import type { FleetView } from "../fleet/service.ts";
import type { JobQueue } from "./service.ts";
import type { HubConfig } from "../core/config.ts";
import type {
  ClusterInfo,
  JobSpec,
  RoamerAssign,
  RoamerInfo,
  RoamerState,
} from "../../shared/protocol/mod.ts";
import { BadInput, Conflict, NotFound } from "../core/errors.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("roamers");

/** States in which a roamer counts as a worker of its assignment. */
const SERVING: readonly RoamerState[] = ["ASSIGNED", "PROVISIONING", "RUNNING"];

/** What a custom-image assignment stores (the `custom` column, JSON). */
interface CustomImage {
  image: string;
  command: string | string[] | null;
  env: Record<string, string>;
  gpu: boolean;
}

/** The `by` of an assignment that stands in for an offline cluster member. */
const COVERING = /^autoscaler \(covering for ([A-Za-z0-9][A-Za-z0-9._-]*)\)$/;

/** The member an assignment stands in for, from its `by`. */
function coveringOf(by: string | null): string | null {
  return (by && COVERING.exec(by)?.[1]) ?? null;
}

/** Parsed assignment request. */
type Assign = Omit<RoamerAssign, "mode"> & { mode: NonNullable<RoamerAssign["mode"]> };

/** The pool service. */
export class RoamerPool {
  #db: Database;
  #bus: EventBus;
  #config: HubConfig;
  #queue: JobQueue;
  #fleet: FleetView;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastScale = new Map<string, number>();
  #idleSince = new Map<string, number>();
  #watchers = new Map<string, Set<AbortController>>();
  /**
   * Nodes that have a roamer row (rows are only ever added, by {@link start}): a claim by any
   * other node skips the lookup, which was ~6 % of the hub's thread under claim load.
   */
  #ids: Set<string> | undefined;

  constructor(db: Database, bus: EventBus, config: HubConfig, queue: JobQueue, fleet: FleetView) {
    this.#db = db;
    this.#bus = bus;
    this.#config = config;
    this.#queue = queue;
    this.#fleet = fleet;
    queue.eligibility = (nodeId) => this.eligibility(nodeId);
  }

  /** Creates rows for fleet.yml's roamers and starts the autoscaler (again after a reload). */
  async start(): Promise<void> {
    const now = Date.now();
    await this.#db.write((tx) => ensureRoamers(tx, this.#config.inventory.roamers, now));
    this.#ids = new Set(listRoamerRows(this.#db).map((r) => r.node_id));
    clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      this.tick().catch((error) => logger.error("autoscaler tick failed", { error }));
    }, this.#config.autoscaleMs);
  }

  /** Stops the autoscaler and releases waiting watchers. */
  stop(): void {
    clearInterval(this.#timer);
    for (const set of this.#watchers.values()) for (const c of set) c.abort();
  }

  /** The cluster a dedicated node belongs to. */
  #clusterOf(nodeId: string): string | undefined {
    return this.#config.inventory.clusters.find((c) => c.nodes.includes(nodeId))?.id;
  }

  #manualOnly(nodeId: string): boolean {
    return this.#config.inventory.manualRoamers?.includes(nodeId) ?? false;
  }

  #templateOf(row: RoamerRow): string | null {
    if (row.template) return row.template;
    return this.#config.inventory.clusters.find((c) => c.id === row.cluster)?.template ?? null;
  }

  /** The API form of a row. */
  info(row: RoamerRow): RoamerInfo {
    const template = this.#templateOf(row);
    const custom = row.custom === null ? null : JSON.parse(row.custom) as CustomImage;
    const assigned = row.state !== "IDLE" &&
      (row.cluster !== null || row.template !== null || custom !== null);
    const image = custom?.image ??
      (template ? this.#config.inventory.templates[template]?.image ?? null : null);
    return {
      node_id: row.node_id,
      state: row.state,
      assignment: assigned
        ? {
          cluster: row.cluster,
          template: row.template,
          image,
          custom: custom ? { command: custom.command, env: custom.env, gpu: custom.gpu } : null,
          mode: row.mode!,
          until: row.until,
          covering: coveringOf(row.assigned_by),
          by: row.assigned_by ?? "unknown",
          at: row.assigned_at ?? row.state_at,
        }
        : null,
      release_requested: row.release_requested === 1,
      manual_only: this.#manualOnly(row.node_id),
      state_at: row.state_at,
      detail: row.detail,
    };
  }

  /** Every roamer. */
  list(): RoamerInfo[] {
    return listRoamerRows(this.#db).map((r) => this.info(r));
  }

  /** One roamer, if `nodeId` is one. */
  get(nodeId: string): RoamerInfo | undefined {
    const row = this.#lookup(nodeId);
    return row ? this.info(row) : undefined;
  }

  /** Which jobs `nodeId` may claim: roamers only their assignment's, while serving it. */
  eligibility(nodeId: string): Eligibility {
    return this.#eligibility(nodeId, this.#lookup(nodeId));
  }

  /** The node's roamer row, if it is a roamer. */
  #lookup(nodeId: string): RoamerRow | undefined {
    if (this.#ids && !this.#ids.has(nodeId)) return undefined;
    return getRoamerRow(this.#db, nodeId);
  }

  #eligibility(nodeId: string, row: RoamerRow | undefined): Eligibility {
    if (!row) {
      const cluster = this.#clusterOf(nodeId);
      return { clusters: cluster ? [cluster] : [], templates: [], unscoped: true };
    }
    if (row.state !== "RUNNING" || row.release_requested === 1) {
      return { clusters: [], templates: [], unscoped: false };
    }
    return {
      clusters: row.cluster ? [row.cluster] : [],
      templates: row.template ? [row.template] : [],
      unscoped: false,
    };
  }

  /** The roamer's agent has something to do (provision, clean up): answer its claim at once. */
  needsAgent(nodeId: string): boolean {
    return needsAgent(this.#lookup(nodeId));
  }

  /**
   * For a claim that does not wait (a worker's report asking for its next job), from one read
   * of the roamer row: what the node may take (`undefined` when its roamer's agent has something
   * else to do first) and its roamer, for the answer.
   */
  nextClaim(nodeId: string): { can: Eligibility | undefined; roamer: RoamerInfo | null } {
    const row = this.#lookup(nodeId);
    return {
      can: needsAgent(row) ? undefined : this.#eligibility(nodeId, row),
      roamer: row ? this.info(row) : null,
    };
  }

  /**
   * A worker's long-poll for a job: up to `waitMs`, ended early when the caller goes away or
   * (for a roamer) when its assignment changes, so it can provision at once.
   */
  async claimFor(
    nodeId: string,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<{ job: JobSpec | null; roamer: RoamerInfo | null }> {
    const watch = this.watch(nodeId);
    try {
      const wait = this.needsAgent(nodeId) ? 0 : waitMs;
      const row = await this.#queue.claim(nodeId, wait, AbortSignal.any([signal, watch.signal]));
      return { job: row ? jobSpec(row) : null, roamer: this.get(nodeId) ?? null };
    } finally {
      watch.done();
    }
  }

  /**
   * A signal that aborts when `nodeId`'s roamer row changes, so its long-polling claim returns
   * at once with the new assignment. Call the returned `done` when the request ends.
   */
  watch(nodeId: string): { signal: AbortSignal; done: () => void } {
    const c = new AbortController();
    let set = this.#watchers.get(nodeId);
    if (!set) this.#watchers.set(nodeId, set = new Set());
    set.add(c);
    return {
      signal: c.signal,
      done: () => {
        set!.delete(c);
        if (set!.size === 0) this.#watchers.delete(nodeId);
      },
    };
  }

  #changed(row: RoamerRow, previous: RoamerState | null): void {
    this.#bus.publish({ type: "roamer.state", roamer: this.info(row), previous });
    for (const c of this.#watchers.get(row.node_id) ?? []) c.abort();
    this.#queue.nudge();
  }

  #row(nodeId: string): RoamerRow {
    const row = getRoamerRow(this.#db, nodeId);
    if (!row) {
      throw new NotFound(
        `${nodeId} is not a roamer: list roamers under roamers.nodes in fleet.yml`,
      );
    }
    return row;
  }

  /**
   * Assigns an IDLE roamer to a cluster or template (409 otherwise). `by` is an operator (the
   * assignment is audited) or the name of the hub's own part that decided (`autoscaler`).
   */
  async assign(nodeId: string, spec: Assign, actor: AuditActor | string): Promise<RoamerInfo> {
    const by = typeof actor === "string" ? actor : `${actor.kind}:${actor.name}`;
    const before = this.#row(nodeId);
    const inv = this.#config.inventory;
    if (spec.cluster !== undefined && !inv.clusters.some((c) => c.id === spec.cluster)) {
      throw new BadInput(`unknown cluster ${spec.cluster}`, [
        { path: "cluster", message: "not in fleet.yml" },
      ]);
    }
    if (spec.template !== undefined && !(spec.template in inv.templates)) {
      throw new BadInput(`unknown template ${spec.template}`, [
        { path: "template", message: "not in fleet.yml" },
      ]);
    }
    const custom: CustomImage | null = spec.image === undefined ? null : {
      image: spec.image,
      command: spec.command ?? null,
      env: spec.env ?? {},
      gpu: spec.gpu ?? false,
    };
    const now = Date.now();
    const row = await this.#db.write((tx) => {
      const assigned = assignRoamer(tx, nodeId, {
        cluster: spec.cluster ?? null,
        template: spec.template ?? null,
        custom: custom ? JSON.stringify(custom) : null,
        mode: spec.mode,
        until: spec.mode === "minutes" ? now + spec.minutes! * 60_000 : null,
        by,
      }, now);
      if (assigned && typeof actor !== "string") {
        insertAudit(tx, {
          actor,
          action: "roamer.assign",
          target: nodeId,
          result: "ok",
          detail: {
            cluster: assigned.cluster,
            template: assigned.template,
            image: custom?.image ?? null,
            mode: assigned.mode,
            until: assigned.until,
          },
          at: now,
        });
      }
      return assigned;
    });
    if (!row) {
      const now = getRoamerRow(this.#db, nodeId) ?? before;
      // A release under way ends in IDLE by itself: "release it" would be the wrong advice.
      if (now.release_requested === 1 || now.state === "CLEANUP") {
        throw new Conflict(
          `roamer ${nodeId} is releasing; wait until it is IDLE, then assign it again`,
        );
      }
      throw new Conflict(
        `roamer ${nodeId} is ${now.state}; only an IDLE roamer can be assigned — release it ` +
          `or wait until it is IDLE again`,
      );
    }
    logger.info("roamer assigned", {
      node_id: nodeId,
      cluster: row.cluster,
      template: row.template,
      image: custom?.image,
      mode: row.mode,
      by,
    });
    this.#changed(row, before.state);
    return this.info(row);
  }

  /**
   * Releases a roamer (409 when there is nothing to release). `by` is an operator (the release is
   * audited) or the hub's own reason (`queue empty`).
   */
  async release(nodeId: string, by: AuditActor | string): Promise<RoamerInfo> {
    const reason = typeof by === "string" ? by : `released by ${by.kind}:${by.name}`;
    const before = this.#row(nodeId);
    const now = Date.now();
    const row = await this.#db.write((tx) => {
      const released = releaseRoamer(tx, nodeId, reason, now);
      if (released && typeof by !== "string") {
        insertAudit(tx, {
          actor: by,
          action: "roamer.release",
          target: nodeId,
          result: "ok",
          detail: {
            cluster: before.cluster,
            template: before.template,
            from: before.state,
            state: released.state,
          },
          at: now,
        });
      }
      return released;
    });
    if (!row) {
      throw new Conflict(
        before.release_requested
          ? `roamer ${nodeId} is already being released`
          : `roamer ${nodeId} is ${before.state}; nothing to release`,
      );
    }
    logger.info("roamer released", { node_id: nodeId, reason, state: row.state });
    this.#changed(row, before.state);
    return this.info(row);
  }

  /** A state reported by the roamer's agent (409 when not allowed from its state). */
  async report(nodeId: string, state: RoamerState, detail: string | null): Promise<RoamerInfo> {
    const before = this.#row(nodeId);
    const now = Date.now();
    const row = await this.#db.write((tx) => reportRoamer(tx, nodeId, state, detail, now));
    if (!row) {
      throw new Conflict(`roamer ${nodeId} cannot go from ${before.state} to ${state}`);
    }
    if (state === "FAILED") logger.error("roamer failed", { node_id: nodeId, detail });
    this.#changed(row, before.state);
    return this.info(row);
  }

  /** Cluster overview: workers, roamers and queue depth per cluster. */
  clusters(): ClusterInfo[] {
    const roamers = listRoamerRows(this.#db);
    const counts = activeJobCounts(this.#db);
    return this.#config.inventory.clusters.map((c) => {
      const lent = roamers.filter((r) => r.cluster === c.id && SERVING.includes(r.state))
        .map((r) => r.node_id);
      const workers = [...c.nodes, ...lent];
      const mine = counts.filter((n) => n.cluster === c.id);
      return {
        id: c.id,
        purpose: c.purpose ?? null,
        template: c.template ?? null,
        nodes: c.nodes,
        roamers: lent,
        workers: {
          online: workers.filter((n) => this.#fleet.statusOf(n) === "online").length,
          total: workers.length,
        },
        queue: {
          pending: mine.filter((n) => n.state === "pending").reduce((a, n) => a + n.n, 0),
          running: mine.filter((n) => n.state !== "pending").reduce((a, n) => a + n.n, 0),
        },
      };
    });
  }

  /** An idle, online roamer the autoscaler may lend. */
  #idleRoamer(): RoamerRow | undefined {
    return listRoamerRows(this.#db).find((r) =>
      r.state === "IDLE" && !this.#manualOnly(r.node_id) &&
      this.#fleet.statusOf(r.node_id) === "online"
    );
  }

  /**
   * A dedicated member offline while its cluster has pending jobs: a roamer stands in for it at
   * once (no depth rule, no cooldown), unless one already does.
   */
  async #failover(): Promise<void> {
    const rows = listRoamerRows(this.#db);
    const covered = new Set(
      rows.filter((r) => SERVING.includes(r.state) && r.release_requested === 0)
        .map((r) => coveringOf(r.assigned_by)).filter((n) => n !== null),
    );
    for (const c of this.clusters()) {
      if (c.queue.pending === 0) continue;
      for (const member of c.nodes) {
        if (covered.has(member) || this.#fleet.statusOf(member) !== "offline") continue;
        // Only a member that was up and went away: one that never reported is not a failure.
        if (!getNodeRow(this.#db, member)?.last_seen) continue;
        const idle = this.#idleRoamer();
        if (!idle) {
          logger.warn("cluster member offline with work pending, and no idle roamer to cover", {
            cluster: c.id,
            node_id: member,
            pending: c.queue.pending,
          });
          return;
        }
        logger.warn("cluster member offline with work pending: a roamer covers for it", {
          cluster: c.id,
          offline: member,
          pending: c.queue.pending,
          node_id: idle.node_id,
        });
        try {
          await this.assign(
            idle.node_id,
            { cluster: c.id, mode: "until_idle" },
            `autoscaler (covering for ${member})`,
          );
          covered.add(member);
          this.#lastScale.set(c.id, Date.now());
        } catch (error) {
          logger.warn("failover assignment failed", { error });
        }
      }
    }
  }

  /**
   * One autoscaler round: release by mode rule, cover offline cluster members that have work,
   * then scale up at most one cluster by queue depth.
   */
  async tick(now = Date.now()): Promise<void> {
    const rows = listRoamerRows(this.#db);
    const counts = activeJobCounts(this.#db);
    // A custom-image roamer serves no queue: until_idle releases it after the grace period.
    const depth = (r: RoamerRow) =>
      r.custom !== null
        ? 0
        : counts.filter((n) =>
          r.cluster !== null ? n.cluster === r.cluster : n.template === r.template
        ).reduce((a, n) => a + n.n, 0);
    for (const r of rows) {
      if (!SERVING.includes(r.state) || r.release_requested === 1) {
        this.#idleSince.delete(r.node_id);
        continue;
      }
      if (r.mode === "minutes" && r.until !== null && now >= r.until) {
        await this.release(r.node_id, "assignment time is up").catch(() => {});
      } else if (r.mode === "until_idle") {
        if (depth(r) > 0) this.#idleSince.delete(r.node_id);
        else {
          const since = this.#idleSince.get(r.node_id) ?? now;
          this.#idleSince.set(r.node_id, since);
          if (now - since >= this.#config.roamerIdleGraceMs) {
            this.#idleSince.delete(r.node_id);
            await this.release(r.node_id, "queue empty").catch(() => {});
          }
        }
      }
    }
    await this.#failover();
    for (const c of this.clusters()) {
      const active = c.workers.online;
      if (c.queue.pending <= 2 * active) continue;
      if (now - (this.#lastScale.get(c.id) ?? 0) < this.#config.autoscaleCooldownMs) continue;
      const idle = this.#idleRoamer();
      if (!idle) continue;
      this.#lastScale.set(c.id, now);
      logger.info("autoscaler lends a roamer", {
        cluster: c.id,
        pending: c.queue.pending,
        workers: active,
        node_id: idle.node_id,
      });
      await this.assign(idle.node_id, { cluster: c.id, mode: "until_idle" }, "autoscaler")
        .catch((error) => logger.warn("autoscaler assignment failed", { error }));
      return; // one per tick
    }
  }
}

/** The roamer's agent has something to do (provision, clean up) before it takes jobs. */
function needsAgent(row: RoamerRow | undefined): boolean {
  if (!row) return false;
  return row.state === "ASSIGNED" || row.state === "PROVISIONING" || row.state === "CLEANUP" ||
    (row.release_requested === 1 && row.state === "RUNNING");
}
