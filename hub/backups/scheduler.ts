/**
 * Backup schedules from fleet.yml (cron via croner): each schedule starts its backups, the hub
 * database is snapshotted on its own schedule, and retention + prune run on `backups.prune`
 * (daily by default). A run still going when its next one is due is skipped (croner's
 * `protect`), and every run is audited as coming from its schedule.
 *
 * @module
 */
import { Cron } from "croner";
import { forget } from "../../shared/backup/mod.ts";
import type { HubDbBackupInfo } from "../../shared/protocol/mod.ts";
import type { Database } from "../core/db.ts";
import { recordAudit } from "../core/store.ts";
import type { BackupConfig } from "./config.ts";
import { snapshotHubDb } from "./hub_db.ts";
import { failureMessage, failureProblem, repoAt, requireS3 } from "./repository.ts";
import { HUB_DB_TARGET, HUB_PREFIX } from "../../shared/backup_repo.ts";
import { type BackupActor, type Backups, keepPolicy } from "./service.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("backups");

/** Collaborators of {@link BackupScheduler}. */
export interface BackupSchedulerOptions {
  db: Database;
  backups: Backups;
  config: () => BackupConfig;
  dataDir: string;
}

/** The cron jobs of backups. */
export class BackupScheduler {
  #o: BackupSchedulerOptions;
  #jobs = new Map<string, Cron>();
  #hubDb: Cron | undefined;
  #prune: Cron | undefined;

  constructor(options: BackupSchedulerOptions) {
    this.#o = options;
  }

  /** (Re)arms every schedule from the current config. */
  start(): void {
    this.stop();
    const c = this.#o.config();
    if (!c.s3) {
      if (c.schedules.length || c.hubDb) {
        logger.warn("backup schedules are configured but S3 is not: none will run");
      }
      return;
    }
    for (const s of c.schedules) {
      const actor: BackupActor = { kind: "schedule", name: s.name, token_id: null };
      this.#jobs.set(
        s.name,
        new Cron(s.cron, { protect: true, name: `backup:${s.name}` }, async () => {
          try {
            const rows = await this.#o.backups.create({ ...s, note: undefined }, actor, s.name);
            await Promise.all(rows.map((r) => this.#o.backups.settled(r.id)));
          } catch (error) {
            logger.error("scheduled backup failed to start", {
              schedule: s.name,
              error: failureMessage(error),
            });
          }
        }),
      );
    }
    if (c.hubDb) {
      this.#hubDb = new Cron(c.hubDb.cron, { protect: true, name: "backup:hub-db" }, async () => {
        await this.hubDb({ kind: "schedule", name: "hub-db", token_id: null }).catch(() => {});
      });
    }
    this.#prune = new Cron(c.prune, { protect: true, name: "backup:prune" }, async () => {
      const actor: BackupActor = { kind: "schedule", name: "prune", token_id: null };
      await this.#o.backups.applyRetention(actor).catch((error) =>
        logger.error("retention failed", { error: failureMessage(error) })
      );
    });
  }

  /** Stops every cron job. */
  stop(): void {
    for (const j of this.#jobs.values()) j.stop();
    this.#jobs.clear();
    this.#hubDb?.stop();
    this.#prune?.stop();
    this.#hubDb = this.#prune = undefined;
  }

  /** When a schedule runs next (ms), or null. */
  nextRun(name: string): number | null {
    return this.#jobs.get(name)?.nextRun()?.getTime() ?? null;
  }

  /** When the hub database is snapshotted next (ms), or null. */
  get hubDbNext(): number | null {
    return this.#hubDb?.nextRun()?.getTime() ?? null;
  }

  /** Snapshots the hub database now, then applies its retention; audited. */
  async hubDb(by: BackupActor): Promise<HubDbBackupInfo> {
    const c = this.#o.config();
    const s3 = requireS3(c.s3);
    const actor = by.kind === "schedule"
      ? { name: `schedule:${by.name}`, kind: "schedule", token_id: null }
      : by;
    let info: HubDbBackupInfo;
    try {
      info = await snapshotHubDb(this.#o.db, s3, this.#o.dataDir);
      if (c.hubDb) {
        await forget({
          repo: repoAt(s3, s3.bucket, HUB_PREFIX),
          policy: keepPolicy(c.hubDb.keep),
          filter: { target: HUB_DB_TARGET },
          prune: true,
        });
      }
    } catch (error) {
      logger.error("hub database backup failed", { error: failureMessage(error) });
      await recordAudit(this.#o.db, {
        actor,
        action: "backup.hub_db",
        target: `s3://${s3.bucket}/${HUB_PREFIX}`,
        result: "error",
        detail: { error: failureMessage(error) },
      });
      throw failureProblem(error);
    }
    await recordAudit(this.#o.db, {
      actor,
      action: "backup.hub_db",
      target: info.url,
      result: "ok",
      detail: { key: info.key, size_b: info.size_b, duration_ms: info.duration_ms },
    });
    logger.info("hub database backed up", { key: info.key, size_b: info.size_b });
    return info;
  }
}
