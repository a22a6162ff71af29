/**
 * The hub's own database in the bucket: a consistent copy made with SQLite's online backup API
 * (page by page, restarted by SQLite if another connection writes meanwhile, so the hub keeps
 * serving and nothing half-committed is copied; `VACUUM INTO` would need ATTACH, which Deno allows
 * only under --allow-all, and the hub runs with less), saved as an engine snapshot (target `hub-db`, prefix `hub`)
 * on a schedule and on demand; and `restore-db`, which brings the newest (or a named) snapshot
 * back into an empty data dir.
 *
 * @module
 */
import { join } from "node:path";
import { backup as sqliteBackup } from "node:sqlite";
import { hostname } from "node:os";
import { backup, listSnapshots, restore } from "../../shared/backup/mod.ts";
import type { HubDbBackupInfo } from "../../shared/protocol/mod.ts";
import type { Database } from "../core/db.ts";
import type { S3Settings } from "./config.ts";
import { repoAt } from "./repository.ts";
import { HUB_DB_TARGET, HUB_PREFIX } from "../../shared/backup_repo.ts";

/** Makes a consistent copy of the database and stores it as a snapshot; returns where. */
export async function snapshotHubDb(
  db: Database,
  s3: S3Settings,
  dataDir: string,
  signal?: AbortSignal,
): Promise<HubDbBackupInfo> {
  const started = Date.now();
  // In the data dir (private, same file system), never in a shared /tmp.
  const dir = await Deno.makeTempDir({ dir: dataDir, prefix: ".hub-db-backup-" });
  try {
    await Deno.chmod(dir, 0o700);
    const file = join(dir, "fleet.db");
    await sqliteBackup(db.raw, file);
    const snap = await backup({
      repo: repoAt(s3, s3.bucket, HUB_PREFIX),
      root: dir,
      host: hostname(),
      target: HUB_DB_TARGET,
      tags: ["hub-db"],
      signal,
    });
    return {
      key: `s3://${s3.bucket}/${HUB_PREFIX}/${snap.id}`,
      url: `s3://${s3.bucket}/${HUB_PREFIX}`,
      size_b: snap.stats.bytes,
      at: Date.parse(snap.endTime) || Date.now(),
      duration_ms: Date.now() - started,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** `s3://bucket/prefix[/snapshot-id]` taken apart. */
export function parseS3Url(url: string): { bucket: string; prefix: string; snapshot?: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`--from ${url}: expected s3://BUCKET/PREFIX[/SNAPSHOT]`);
  const parts = (m[2] ?? HUB_PREFIX).split("/").filter(Boolean);
  // A last segment shaped like a snapshot id (`20261206T012731Z-85399933`) names one snapshot.
  const last = parts.at(-1);
  if (parts.length > 1 && last && /^\d{8}T\d{6}Z-[0-9a-f]{8}$/.test(last)) {
    return { bucket: m[1], prefix: parts.slice(0, -1).join("/"), snapshot: last };
  }
  return { bucket: m[1], prefix: parts.join("/") || HUB_PREFIX };
}

/**
 * Restores the hub database from `from` into `dataDir`, which must not hold a database yet.
 * Returns the snapshot used and its time.
 */
export async function restoreHubDb(
  s3: S3Settings,
  from: string,
  dataDir: string,
): Promise<{ snapshot: string; time: string; bytes: number }> {
  const where = parseS3Url(from);
  const repo = repoAt(s3, where.bucket, where.prefix);
  for (const f of ["fleet.db", "fleet.db-wal"]) {
    const exists = await Deno.stat(join(dataDir, f)).then(() => true, () => false);
    if (exists) {
      throw new Error(
        `${join(dataDir, f)} exists: restore-db writes only into an empty data dir ` +
          "(move the old one aside first)",
      );
    }
  }
  let id = where.snapshot;
  let time = "";
  if (!id) {
    const snaps = await listSnapshots(repo, { target: HUB_DB_TARGET });
    const newest = snaps.at(-1);
    if (!newest) throw new Error(`no hub database snapshot under ${from}`);
    id = newest.id;
    time = newest.time;
  }
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const report = await restore({ repo, snapshot: id, target: dataDir, paths: ["fleet.db"] });
  await Deno.chmod(join(dataDir, "fleet.db"), 0o600);
  return { snapshot: id, time, bytes: report.bytes };
}
