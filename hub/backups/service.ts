/**
 * Backups as a fleet feature: a request (nodes, a cluster or every node × targets) becomes one
 * backup row per node and target; each runs on its node's agent over the control channel
 * (`backup` frame → `stream.data` progress → `reply`), with the S3 keys handed over on that
 * authenticated socket only. Progress goes to the stream as `backup.progress`, state changes as
 * `backup.state`. Only a backup whose agent reported a complete snapshot is `done` (good); a
 * refused, failed, cancelled or interrupted one (agent killed, hub restarted) is marked so and
 * has no manifest, so its chunks are orphans that the next prune removes.
 *
 * Browsing, verify and retention run on the hub against the bucket itself.
 *
 * @module
 */
import {
  type BackupInfo,
  BackupProgress,
  type BackupStatus,
  type BackupTarget,
  SnapshotResult,
  targetLabel,
  type TreeListing,
  type VerifyResult,
} from "../../shared/protocol/mod.ts";
import { forget, prune, readTree, verify } from "../../shared/backup/mod.ts";
import type { Principal } from "../core/auth.ts";
import type { Database } from "../core/db.ts";
import type { EventBus } from "../core/bus.ts";
import { BadInput, Conflict, NotFound, Unavailable } from "../core/errors.ts";
import { insertAudit, recordAudit } from "../core/store.ts";
import { getNodeRow, listNodeRows } from "../fleet/store.ts";
import type { AgentSession, AgentSessions } from "../control/agent_sessions.ts";
import { type BackupConfig, cronIntervalMs, type Keep, NO_BACKUPS } from "./config.ts";
import {
  agentAccess,
  bucketProblem,
  failureMessage,
  failureProblem,
  nodesRepo,
  requireS3,
} from "./repository.ts";
import {
  type BackupEnd,
  finishBackup,
  getBackup,
  goodBackupsOf,
  insertBackup,
  interruptRunning,
  lastGoodPerNode,
  listBackups,
  markPruned,
  recordVerify,
} from "./store.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("backups");

/** Who started something: a caller, or a schedule. */
export type BackupActor = Principal | { kind: "schedule"; name: string; token_id: null };

/** A backup in progress: waiting for a slot, or running on its node's agent. */
interface LiveBackup {
  id: number;
  nodeId: string;
  session: AgentSession;
  target: BackupTarget;
  s3: NonNullable<BackupConfig["s3"]>;
  /** Sent to the agent (false while it waits for its node or a fleet-wide slot). */
  started: boolean;
  ch: number;
  progress: BackupProgress | null;
  /** When progress last went to the stream. */
  publishedAt: number;
  cancelled: boolean;
  done: Promise<BackupInfo>;
  end: (e: Omit<BackupEnd, "finished_at">) => Promise<void>;
}

/** Collaborators of {@link Backups}. */
export interface BackupsOptions {
  db: Database;
  bus: EventBus;
  agents: AgentSessions;
  /** The current backup configuration (re-read on reload). */
  config: () => BackupConfig;
  /** Member nodes (and lent roamers) of a cluster, or undefined for an unknown one. */
  clusterNodes: (id: string) => string[] | undefined;
}

function byOf(a: BackupActor): { name: string; kind: string } {
  return { name: a.name, kind: a.kind };
}

function auditActor(a: BackupActor) {
  return a.kind === "schedule"
    ? { name: `schedule:${a.name}`, kind: "schedule", token_id: null }
    : a;
}

/** The node backups of the fleet. */
export class Backups {
  #o: BackupsOptions;
  #live = new Map<number, LiveBackup>();
  #closing = false;

  constructor(options: BackupsOptions) {
    this.#o = options;
  }

  get #config(): BackupConfig {
    return this.#o.config() ?? NO_BACKUPS;
  }

  /** Marks what a previous hub process left running as interrupted (call at start). */
  async recover(): Promise<void> {
    const n = await this.#o.db.write((tx) => interruptRunning(tx, Date.now()));
    if (n.backups || n.restores) {
      logger.warn("marked backups and restores of the previous hub interrupted", n);
    }
  }

  /** The nodes a request selects; throws `BadInput` for an unknown node or cluster. */
  selectNodes(req: { nodes?: string[]; cluster?: string; all?: true }): string[] {
    if (req.all) return listNodeRows(this.#o.db).map((n) => n.id);
    if (req.cluster !== undefined) {
      const nodes = this.#o.clusterNodes(req.cluster);
      if (!nodes) {
        throw new BadInput(`unknown cluster ${req.cluster}`, [{
          path: "cluster",
          message: "not in fleet.yml",
        }]);
      }
      return [...new Set(nodes)];
    }
    const nodes = req.nodes ?? [];
    const unknown = nodes.filter((n) => !getNodeRow(this.#o.db, n));
    if (unknown.length) {
      throw new BadInput(
        `unknown node ${unknown.join(", ")}: nothing was backed up (see GET /api/v1/fleet)`,
        unknown.map((n) => ({ path: `nodes.${nodes.indexOf(n)}`, message: `no node ${n}` })),
      );
    }
    return [...new Set(nodes)];
  }

  /**
   * Starts backups; resolves once each is stored and sent to its agent (or refused: offline
   * node, unusable bucket — those rows are `failed` with the reason). Audited.
   */
  async create(
    req: { nodes?: string[]; cluster?: string; all?: true; targets: BackupTarget[]; note?: string },
    by: BackupActor,
    schedule: string | null = null,
  ): Promise<BackupInfo[]> {
    if (this.#closing) throw new Unavailable("the hub is stopping: start the backup after it");
    const s3 = requireS3(this.#config.s3);
    const nodes = this.selectNodes(req);
    if (nodes.length === 0) throw new BadInput("no nodes selected: the fleet has none");
    // One look at the bucket first: bad keys, a wrong endpoint or a missing bucket are named once,
    // on every backup of the request, before any agent starts.
    const bucket = await bucketProblem(s3);
    const now = Date.now();
    const plan = nodes.flatMap((nodeId) =>
      req.targets.map((target) => {
        const session = this.#o.agents.get(nodeId);
        let error: string | null = bucket;
        if (!error && !session) error = `node ${nodeId}: its agent is not connected to the hub`;
        if (!error && session && !session.can("backup")) {
          error = `node ${nodeId}: the agent (version ${session.version}) cannot run backups`;
        }
        if (!error && target.kind === "volume" && session && !session.can("docker")) {
          error = `node ${nodeId}: volume backups need Docker on the node`;
        }
        const running = [...this.#live.values()].some((l) =>
          l.nodeId === nodeId && getBackup(this.#o.db, l.id)?.target_label === targetLabel(target)
        );
        if (!error && running) {
          error = `a backup of ${targetLabel(target)} already runs on ${nodeId}`;
        }
        return { nodeId, target, session, error };
      })
    );
    const rows = await this.#o.db.write((tx) => {
      const rows = plan.map((p) =>
        insertBackup(tx, {
          node_id: p.nodeId,
          target: p.target,
          target_label: targetLabel(p.target),
          state: p.error ? "failed" : "running",
          error: p.error,
          schedule,
          note: req.note ?? null,
          by: byOf(by),
          started_at: now,
        })
      );
      insertAudit(tx, {
        actor: auditActor(by),
        action: "backup.create",
        target: req.all
          ? "all"
          : req.cluster !== undefined
          ? `cluster:${req.cluster}`
          : nodes.join(",").slice(0, 1000),
        result: rows.every((r) => r.state === "failed") ? "error" : "ok",
        detail: {
          backups: rows.map((r) => r.id),
          targets: req.targets.map(targetLabel),
          nodes,
          ...(schedule ? { schedule } : {}),
          refused: rows.filter((r) => r.state === "failed").map((r) => `${r.node_id}: ${r.error}`),
        },
        at: now,
      });
      return rows;
    });
    for (const r of rows) {
      const queued = r.state === "running" ? { queued: true } : {};
      this.#o.bus.publish({ type: "backup.state", backup: { ...r, ...queued } });
    }
    rows.forEach((row, i) => {
      const p = plan[i];
      if (row.state === "running") this.#enqueue(Number(row.id), p.session!, p.target, s3);
    });
    this.#pump();
    logger.info("backups started", {
      by: by.name,
      nodes: nodes.length,
      targets: req.targets.map(targetLabel),
      refused: rows.filter((r) => r.state === "failed").length,
    });
    return rows;
  }

  /**
   * Starts waiting backups while slots are free: one at a time per node (a Jetson backing up
   * three targets at once would fight itself for memory and disk), at most `maxParallel` nodes
   * across the fleet (so a fleet-wide run does not flood the S3 server).
   */
  #pump(): void {
    const max = this.#config.maxParallel;
    let running = [...this.#live.values()].filter((l) => l.started).length;
    for (const live of [...this.#live.values()].sort((a, b) => a.id - b.id)) {
      if (running >= max) break;
      if (live.started) continue;
      const nodeBusy = [...this.#live.values()].some((l) => l.started && l.nodeId === live.nodeId);
      if (nodeBusy) continue;
      this.#launch(live);
      running++;
    }
  }

  #enqueue(
    id: number,
    session: AgentSession,
    target: BackupTarget,
    s3: NonNullable<BackupConfig["s3"]>,
  ): void {
    const settled = Promise.withResolvers<BackupInfo>();
    const live: LiveBackup = {
      id,
      nodeId: session.nodeId,
      session,
      target,
      s3,
      started: false,
      ch: 0,
      progress: null,
      publishedAt: 0,
      cancelled: false,
      done: settled.promise,
      end: async () => {},
    };
    live.end = async (e: Omit<BackupEnd, "finished_at">) => {
      if (!this.#live.has(id)) return;
      this.#live.delete(id);
      if (live.started) live.session.release(live.ch);
      this.#pump();
      const info = await this.#o.db.write((tx) =>
        finishBackup(tx, id, { ...e, finished_at: Date.now() })
      ).catch((error) => {
        logger.error("could not record a backup's end", { backup_id: id, error });
        return undefined;
      });
      const final = info ?? getBackup(this.#o.db, id)!;
      this.#o.bus.publish({ type: "backup.state", backup: final });
      (final.state === "done" ? logger.info : logger.warn)("backup ended", {
        backup_id: id,
        node_id: final.node_id,
        target: final.target_label,
        state: final.state,
        error: final.error,
      });
      settled.resolve(final);
    };
    this.#live.set(id, live);
  }

  /** Sends a waiting backup to its node's agent (the node's current connection). */
  #launch(live: LiveBackup): void {
    const id = live.id;
    const end = live.end;
    live.started = true;
    const session = this.#o.agents.get(live.nodeId);
    if (!session || session.ended) {
      live.started = false;
      void end({
        state: "interrupted",
        error: `node ${live.nodeId}: its agent disconnected while the backup waited for a slot`,
      });
      return;
    }
    live.session = session;
    live.ch = session.open({
      message: (m) => {
        if (m.type === "stream.data") {
          let parsed;
          try {
            parsed = BackupProgress.safeParse(JSON.parse(m.data));
          } catch {
            return;
          }
          if (!parsed.success) return;
          live.progress = parsed.data;
          // At most two a second per backup on the stream: a long fleet-wide run must not push
          // the other events out of the resume window.
          const t = Date.now();
          const p = parsed.data;
          const last = p.total_bytes !== null && p.bytes >= p.total_bytes;
          if (t - live.publishedAt < 500 && !last) return;
          live.publishedAt = t;
          this.#o.bus.publish({
            type: "backup.progress",
            backup_id: String(id),
            node_id: session.nodeId,
            progress: parsed.data,
          });
        } else if (m.type === "reply") {
          if (!m.ok) {
            void end({ state: live.cancelled ? "cancelled" : "failed", error: m.error });
            return;
          }
          const r = SnapshotResult.safeParse(m.data);
          if (!r.success) {
            void end({ state: "failed", error: "the agent's answer was malformed" });
            return;
          }
          void end({
            // Files that changed while read make a snapshot that restores but is not good.
            state: r.data.warnings.length ? "partial" : "done",
            snapshot_id: r.data.snapshot_id,
            files: r.data.files,
            size_b: r.data.size_b,
            new_b: r.data.new_b,
            chunks_new: r.data.chunks_new,
            chunks_reused: r.data.chunks_reused,
            warnings: r.data.warnings,
            error: r.data.warnings.length
              ? `${r.data.warnings.length} file(s) changed or were unreadable while read`
              : null,
          });
        }
      },
      lost: (reason) => {
        void end({
          state: "interrupted",
          error:
            `the connection to ${session.nodeId} was lost (${reason}); no snapshot was written`,
        });
      },
    });
    const sent = session.send({
      type: "backup",
      ch: live.ch,
      op: "create",
      backup_id: String(id),
      node_id: session.nodeId,
      target: live.target,
      s3: agentAccess(live.s3),
    });
    if (!sent) {
      void end({ state: "failed", error: "the connection to the agent is gone" });
      return;
    }
    this.#o.bus.publish({ type: "backup.state", backup: this.get(String(id)) });
  }

  /** Waits for a running backup to end (tests, schedules); resolves with its final row. */
  async settled(id: string): Promise<BackupInfo> {
    const live = this.#live.get(Number(id));
    if (live) return await live.done;
    return this.get(id);
  }

  /** Stops a running backup; audited. */
  async cancel(id: string, by: Principal): Promise<BackupInfo> {
    const info = this.get(id);
    const live = this.#live.get(Number(id));
    if (!live) throw new Conflict(`backup ${id} is ${info.state}, not running`);
    live.cancelled = true;
    if (live.started) live.session.send({ type: "stream.cancel", ch: live.ch });
    else void live.end({ state: "cancelled", error: "cancelled before it started" });
    await recordAudit(this.#o.db, {
      actor: by,
      action: "backup.cancel",
      target: `${info.node_id}/${info.target_label}`,
      result: "ok",
      detail: { backup_id: id },
    });
    // The agent answers the cancel with a failed reply; a silent one is cut off after 10 s.
    const timer = setTimeout(() => {
      void live.end({ state: "cancelled", error: "cancelled (the agent did not confirm)" });
    }, 10_000);
    try {
      return await live.done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One backup (with live progress while it runs). */
  get(id: string): BackupInfo {
    const n = Number(id);
    const info = Number.isSafeInteger(n) ? getBackup(this.#o.db, n) : undefined;
    if (!info) throw new NotFound(`no backup ${id}: see GET /api/v1/backups`);
    const live = this.#live.get(n);
    return live ? { ...info, progress: live.progress, queued: !live.started } : info;
  }

  /** Backups, newest first. */
  list(
    q: {
      node?: string;
      state?: BackupInfo["state"];
      good?: boolean;
      limit: number;
      cursor?: string;
    },
  ): {
    backups: BackupInfo[];
    next_cursor: string | null;
  } {
    const before = q.cursor !== undefined ? Number(q.cursor) : undefined;
    if (before !== undefined && !Number.isSafeInteger(before)) {
      throw new BadInput("cursor: not a backup id", [{
        path: "cursor",
        message: "expected an id",
      }]);
    }
    const state = q.good ? "done" : q.state;
    const rows = listBackups(this.#o.db, { node: q.node, state, before, limit: q.limit }).map(
      (b) => {
        const live = this.#live.get(Number(b.id));
        return live ? { ...b, progress: live.progress } : b;
      },
    );
    return { backups: rows, next_cursor: rows.length === q.limit ? rows.at(-1)!.id : null };
  }

  /** A good (or partial) backup with its snapshot, for browsing and restoring. */
  withSnapshot(id: string): BackupInfo & { snapshot_id: string } {
    const b = this.get(id);
    if (!b.snapshot_id || (b.state !== "done" && b.state !== "partial")) {
      throw new Conflict(`backup ${id} is ${b.state}: it has no snapshot to browse or restore`);
    }
    return b as BackupInfo & { snapshot_id: string };
  }

  /** The entries of a snapshot's tree under `path` (its direct children unless `recursive`). */
  async tree(
    id: string,
    q: { path: string; recursive: boolean; limit: number },
  ): Promise<TreeListing> {
    const b = this.withSnapshot(id);
    const s3 = requireS3(this.#config.s3);
    const under = q.path.replace(/^\/+|\/+$/g, "");
    let entries;
    try {
      entries = await readTree(nodesRepo(s3), b.snapshot_id, {
        ...(under ? { under } : {}),
        ...(q.recursive ? {} : { depth: 1 }),
        limit: q.limit + 1,
        signal: AbortSignal.timeout(60_000),
      });
    } catch (error) {
      throw failureProblem(error);
    }
    const mapped = entries.filter((e) => e.path !== under).map((e) => ({
      path: e.path,
      type: e.type === "dir" || e.type === "file" || e.type === "symlink"
        ? e.type
        : "other" as const,
      size: e.size ?? 0,
      mode: e.mode,
      mtime: e.mtimeMs,
      ...(e.target !== undefined ? { target: e.target } : {}),
    }));
    return {
      backup_id: b.id,
      snapshot_id: b.snapshot_id,
      path: under,
      entries: mapped.slice(0, q.limit),
      truncated: mapped.length > q.limit,
    };
  }

  /** Checks a backup's chunks in the bucket (and re-hashes `read_data` of them); audited. */
  async verify(id: string, readData: number, by: Principal): Promise<VerifyResult> {
    const b = this.withSnapshot(id);
    const s3 = requireS3(this.#config.s3);
    let result: VerifyResult;
    try {
      const r = await verify({
        repo: nodesRepo(s3),
        snapshots: [b.snapshot_id],
        readDataShare: readData,
        signal: AbortSignal.timeout(30 * 60_000),
      });
      const missing = r.problems.filter((p) => p.kind === "missing").length;
      const corrupt = r.problems.filter((p) => p.kind === "corrupt").length;
      result = {
        backup_id: id,
        ok: r.ok,
        chunks: r.chunksReferenced,
        missing,
        corrupt,
        checked_data: r.chunksRead,
        detail: r.ok
          ? `${r.chunksReferenced} chunks present${
            r.chunksRead ? `, ${r.chunksRead} re-hashed` : ""
          }`
          : [
            ...r.badManifests.map((m) => `manifest ${m.id}: ${m.message}`),
            ...r.problems.slice(0, 5).map((p) =>
              `${p.kind} chunk ${p.chunk.slice(0, 12)}: ${p.message}`
            ),
          ].join("; ").slice(0, 2000) || `${r.problemsTotal} problem(s)`,
        at: Date.now(),
      };
    } catch (error) {
      await recordAudit(this.#o.db, {
        actor: by,
        action: "backup.verify",
        target: `${b.node_id}/${b.target_label}`,
        result: "error",
        detail: { backup_id: id, error: failureMessage(error) },
      });
      throw failureProblem(error);
    }
    await this.#o.db.write((tx) => {
      recordVerify(tx, Number(id), result.at, result.ok, result.detail);
      insertAudit(tx, {
        actor: by,
        action: "backup.verify",
        target: `${b.node_id}/${b.target_label}`,
        result: "ok",
        detail: { backup_id: id, ok: result.ok, read_data: readData, detail: result.detail },
      });
    });
    this.#o.bus.publish({ type: "backup.state", backup: this.get(id) });
    return result;
  }

  /**
   * Retention: per schedule, node and target, forgets the snapshots its `keep` no longer wants,
   * then prunes chunks no manifest references (the engine never deletes a chunk a kept snapshot
   * needs, and waits for running backups). Audited.
   */
  async applyRetention(by: BackupActor): Promise<{ removed: number; chunks_deleted: number }> {
    const s3 = requireS3(this.#config.s3);
    const repo = nodesRepo(s3);
    let removed = 0;
    const removedIds: string[] = [];
    try {
      for (const s of this.#config.schedules) {
        const nodes = (() => {
          try {
            return this.selectNodes(s);
          } catch {
            return [];
          }
        })();
        for (const node of nodes) {
          for (const t of s.targets) {
            const label = targetLabel(t);
            if (goodBackupsOf(this.#o.db, node, label).length === 0) continue;
            const r = await forget({
              repo,
              policy: keepPolicy(s.keep),
              filter: { node, target: label },
              groupBy: ["node", "target"],
            });
            removed += r.removed.length;
            removedIds.push(...r.removed.map((d) => d.id));
          }
        }
      }
      // The hub starts every node backup: with none running, any lock left is a dead agent's.
      const p = await prune({
        repo,
        graceMs: this.#config.pruneGraceMs,
        // (-1: every other lock counts as stale, even one written this second.)
        ...(this.#live.size === 0 ? { staleLockMs: -1 } : {}),
      });
      await this.#o.db.write((tx) => {
        markPruned(tx, removedIds, Date.now());
        insertAudit(tx, {
          actor: auditActor(by),
          action: "backup.prune",
          target: s3.bucket,
          result: "ok",
          detail: {
            snapshots_removed: removed,
            chunks_deleted: p.chunksDeleted,
            bytes_deleted: p.bytesDeleted,
          },
        });
      });
      return { removed, chunks_deleted: p.chunksDeleted };
    } catch (error) {
      await recordAudit(this.#o.db, {
        actor: auditActor(by),
        action: "backup.prune",
        target: s3.bucket,
        result: "error",
        detail: { error: failureMessage(error) },
      });
      throw failureProblem(error);
    }
  }

  /** Whether S3 is configured, the schedules, and each node's last good backup and staleness. */
  status(nextRun: (name: string) => number | null, hubDbNext: number | null): BackupStatus {
    const c = this.#config;
    const last = lastGoodPerNode(this.#o.db);
    const allowed = new Map<string, number>();
    const schedules = c.schedules.map((s) => {
      let nodes: string[] = [];
      try {
        nodes = this.selectNodes(s);
      } catch { /* a schedule naming a node that left the fleet */ }
      const interval = cronIntervalMs(s.cron);
      for (const n of nodes) {
        if (interval !== null) allowed.set(n, Math.min(allowed.get(n) ?? Infinity, interval));
      }
      return {
        name: s.name,
        cron: s.cron,
        nodes,
        targets: s.targets.map(targetLabel),
        keep: { ...s.keep },
        next_at: nextRun(s.name),
        interval_ms: interval,
      };
    });
    const nodes: BackupStatus["nodes"] = {};
    const now = Date.now();
    for (const n of listNodeRows(this.#o.db)) {
      const at = last.get(n.id) ?? null;
      const gap = allowed.get(n.id);
      // Stale: a schedule covers the node and its newest good backup is older than the schedule's
      // longest gap plus an hour of slack (a backup takes time).
      const stale = gap !== undefined && (at === null || now - at > gap + 3_600_000);
      nodes[n.id] = { last_good_at: at, stale };
    }
    return {
      configured: c.s3 !== null,
      endpoint: c.s3?.endpoint ?? null,
      bucket: c.s3?.bucket ?? null,
      configs_bucket: c.s3?.configsBucket ?? null,
      encrypted: !!c.s3?.encryptionKey,
      schedules,
      hub_db: { cron: c.hubDb?.cron ?? null, next_at: hubDbNext },
      nodes,
    };
  }

  /** Running backups (for shutdown and tests). */
  get running(): number {
    return this.#live.size;
  }

  /** Hub shutdown: running backups are cut off as interrupted (their agents stop with them). */
  async shutdown(): Promise<void> {
    this.#closing = true;
    const all = [...this.#live.values()];
    for (const l of all) l.session.send({ type: "stream.cancel", ch: l.ch });
    await this.#o.db.write((tx) => interruptRunning(tx, Date.now())).catch(() => {});
    this.#live.clear();
  }
}

/** fleet.yml `keep` as the engine's retention policy. */
export function keepPolicy(
  k: Keep,
): { keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number } {
  const p = {
    ...(k.last !== undefined ? { keepLast: k.last } : {}),
    ...(k.daily !== undefined ? { keepDaily: k.daily } : {}),
    ...(k.weekly !== undefined ? { keepWeekly: k.weekly } : {}),
    ...(k.monthly !== undefined ? { keepMonthly: k.monthly } : {}),
  };
  // A keep with no rule would forget everything: keep the newest one at least.
  return Object.keys(p).length ? p : { keepLast: 1 };
}
