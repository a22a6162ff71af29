/**
 * Restores: a good snapshot (or some of its paths) back onto its node or another one, into its
 * original place or another directory, run by that node's agent (which never writes outside the
 * directory and checks every chunk's hash). A dry run lists what would be written. Progress goes
 * to the stream as `backup.restore` events; every restore is audited.
 *
 * @module
 */
import {
  BackupProgress,
  type RestoreInfo,
  type RestoreRequest,
  RestoreResult,
} from "../../shared/protocol/mod.ts";
import type { Principal } from "../core/auth.ts";
import type { Database } from "../core/db.ts";
import type { EventBus } from "../core/bus.ts";
import { BadInput, NotFound, Unavailable } from "../core/errors.ts";
import { insertAudit } from "../core/store.ts";
import { getNodeRow } from "../fleet/store.ts";
import type { AgentSessions } from "../control/agent_sessions.ts";
import type { BackupConfig } from "./config.ts";
import { agentAccess, requireS3 } from "./repository.ts";
import type { Backups } from "./service.ts";
import { finishRestore, getRestore, insertRestore } from "./store.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("backups");

/** Collaborators of {@link Restores}. */
export interface RestoresOptions {
  db: Database;
  bus: EventBus;
  agents: AgentSessions;
  backups: Backups;
  config: () => BackupConfig;
}

/** Restores of node snapshots. */
export class Restores {
  #o: RestoresOptions;
  #live = new Map<number, { progress: BackupProgress | null; done: Promise<RestoreInfo> }>();

  constructor(options: RestoresOptions) {
    this.#o = options;
  }

  /**
   * Starts a restore; resolves with its row (running) and a promise of its end. Throws before
   * anything runs for an unknown node, a node whose agent is not connected, or a backup without
   * a snapshot.
   */
  async start(
    backupId: string,
    req: Omit<RestoreRequest, "dry_run"> & { dry_run: boolean },
    by: Principal,
  ): Promise<{ restore: RestoreInfo; done: Promise<RestoreInfo> }> {
    const s3 = requireS3(this.#o.config().s3);
    const b = this.#o.backups.withSnapshot(backupId);
    const nodeId = req.node ?? b.node_id;
    if (!getNodeRow(this.#o.db, nodeId)) {
      throw new BadInput(`unknown node ${nodeId}`, [{
        path: "node",
        message: `no node ${nodeId}`,
      }]);
    }
    if (b.target.kind === "swarm" && req.to === undefined) {
      throw new BadInput("a swarm state backup restores only into another directory", [
        { path: "to", message: "give a directory: the live swarm state is never overwritten" },
      ]);
    }
    const session = this.#o.agents.get(nodeId);
    if (!session) throw new Unavailable(`node ${nodeId}: its agent is not connected to the hub`);
    if (!session.can("backup")) {
      throw new Unavailable(
        `node ${nodeId}: the agent (version ${session.version}) cannot restore`,
      );
    }
    const dest = req.to ??
      (b.target.kind === "volume"
        ? `volume:${b.target.name}`
        : b.target.kind === "swarm"
        ? ""
        : b.target.path);
    const now = Date.now();
    const row = await this.#o.db.write((tx) => {
      const row = insertRestore(tx, {
        backup_id: Number(b.id),
        node_id: nodeId,
        dest,
        paths: req.paths ?? null,
        dry_run: req.dry_run,
        by: { name: by.name, kind: by.kind },
        started_at: now,
      });
      insertAudit(tx, {
        actor: by,
        action: req.dry_run ? "backup.restore.plan" : "backup.restore",
        target: `${nodeId}:${dest}`,
        result: "ok",
        detail: {
          restore_id: row.id,
          backup_id: b.id,
          from_node: b.node_id,
          target: b.target_label,
          ...(req.paths ? { paths: req.paths.slice(0, 50) } : {}),
          dry_run: req.dry_run,
        },
        at: now,
      });
      return row;
    });
    this.#o.bus.publish({ type: "backup.restore", restore: row });
    const id = Number(row.id);
    const settled = Promise.withResolvers<RestoreInfo>();
    const live = { progress: null as BackupProgress | null, done: settled.promise };
    this.#live.set(id, live);
    const end = async (e: Parameters<typeof finishRestore>[2]) => {
      if (!this.#live.has(id)) return;
      this.#live.delete(id);
      session.release(ch);
      const info = await this.#o.db.write((tx) => finishRestore(tx, id, e)).catch(() => undefined);
      const final = info ?? getRestore(this.#o.db, id)!;
      this.#o.bus.publish({ type: "backup.restore", restore: final });
      (final.state === "done" ? logger.info : logger.warn)("restore ended", {
        restore_id: id,
        node_id: nodeId,
        state: final.state,
        error: final.error,
      });
      settled.resolve(final);
    };
    const ch = session.open({
      message: (m) => {
        if (m.type === "stream.data") {
          try {
            const p = BackupProgress.safeParse(JSON.parse(m.data));
            if (!p.success) return;
            live.progress = p.data;
            this.#o.bus.publish({
              type: "backup.restore",
              restore: { ...getRestore(this.#o.db, id)!, progress: p.data },
            });
          } catch { /* not JSON: ignored */ }
        } else if (m.type === "reply") {
          if (!m.ok) {
            void end({ state: "failed", finished_at: Date.now(), error: m.error });
            return;
          }
          const r = RestoreResult.safeParse(m.data);
          if (!r.success) {
            void end({
              state: "failed",
              finished_at: Date.now(),
              error: "malformed answer from the agent",
            });
            return;
          }
          void end({
            state: "done",
            finished_at: Date.now(),
            files: r.data.files,
            bytes: r.data.bytes,
            dest: r.data.to,
            written: r.data.written.slice(0, 1000),
          });
        }
      },
      lost: (reason) => {
        void end({
          state: "interrupted",
          finished_at: Date.now(),
          error: `the connection to ${nodeId} was lost: ${reason}`,
        });
      },
    });
    const sent = session.send({
      type: "backup",
      ch,
      op: "restore",
      restore_id: row.id,
      snapshot_id: b.snapshot_id,
      target: b.target,
      ...(req.to !== undefined ? { to: req.to } : {}),
      ...(req.paths ? { paths: req.paths } : {}),
      dry_run: req.dry_run,
      s3: agentAccess(s3),
    });
    if (!sent) {
      void end({
        state: "failed",
        finished_at: Date.now(),
        error: "the agent's connection is gone",
      });
    }
    return { restore: row, done: settled.promise };
  }

  /** One restore (with live progress while it runs). */
  get(id: string): RestoreInfo {
    const n = Number(id);
    const r = Number.isSafeInteger(n) ? getRestore(this.#o.db, n) : undefined;
    if (!r) throw new NotFound(`no restore ${id}`);
    const live = this.#live.get(n);
    return live ? { ...r, progress: live.progress } : r;
  }
}
