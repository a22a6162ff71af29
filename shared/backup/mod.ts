/**
 * The backup engine: content-addressed, deduplicated, optionally encrypted snapshots of a
 * directory tree in an S3 bucket (restic-style). Used by the agent (node targets) and the hub (its
 * own database); the hub's `backups` feature orchestrates it. Format and safety rules are in
 * `docs/backups.md`.
 *
 * Layout under the repository prefix: `config` (format version, chunker seed, wrapped key),
 * `chunks/<2 hex>/<id>` (compressed, maybe encrypted chunks), `snapshots/<id>` (manifests,
 * written last), `locks/<kind>-<id>` (running backups and prunes).
 *
 * Every function fails with a {@link BackupError} whose `code` says what to fix.
 *
 * @module
 */
import { runBackup, toSummary } from "./backup.ts";
import { BackupError, toBackupError } from "./errors.ts";
import { runPrune } from "./prune.ts";
import { Repo } from "./repo.ts";
import { runRestore } from "./restore.ts";
import { applyRetention as retention, runForget } from "./retention.ts";
import { isSafeRelPath } from "./schema.ts";
import { loadTree } from "./tree.ts";
import { runVerify } from "./verify.ts";
import type {
  BackupOptions,
  ForgetOptions,
  ForgetReport,
  PruneOptions,
  PruneReport,
  RepoInfo,
  RepoRef,
  RestoreOptions,
  RestoreReport,
  RetentionPolicy,
  SnapshotFilter,
  SnapshotSummary,
  TreeEntry,
  VerifyOptions,
  VerifyReport,
} from "./types.ts";

export type * from "./types.ts";
export type { S3Config, S3Options } from "../s3.ts";

export { BackupError } from "./errors.ts";

/**
 * Backs up `root` (or `paths` under it) as one snapshot: walks the tree, splits files into
 * content-defined chunks (~1 MiB average), uploads only chunks the repository lacks, then writes
 * the tree and, last, the manifest. Creates the repository on first use. Files that change while
 * being read are re-read, then reported (`status: "partial"`), never silently torn. Fails without
 * a manifest (so nothing is listed) on any S3 error or abort.
 */
export function backup(options: BackupOptions): Promise<SnapshotSummary> {
  return runBackup(options);
}

/** Snapshots of the repository, oldest first (an absent repository has none). */
export async function listSnapshots(
  repo: RepoRef,
  filter?: SnapshotFilter,
  signal?: AbortSignal,
): Promise<SnapshotSummary[]> {
  try {
    let r: Repo;
    try {
      r = await Repo.open(repo, false, signal);
    } catch (e) {
      if (e instanceof BackupError && e.code === "not-found") return [];
      throw e;
    }
    const out: SnapshotSummary[] = [];
    const ids = await r.listManifestIds(signal);
    const all: SnapshotSummary[] = [];
    for (let i = 0; i < ids.length; i += 8) {
      const batch = ids.slice(i, i + 8).map((id) => r.getManifest(id, signal));
      for (const m of await Promise.all(batch)) all.push(toSummary(m));
    }
    for (const s of all) {
      if (filter?.host && s.host !== filter.host) continue;
      if (filter?.node && s.node !== filter.node) continue;
      if (filter?.target && s.target !== filter.target) continue;
      if (!(filter?.tags ?? []).every((t) => s.tags.includes(t))) continue;
      out.push(s);
    }
    return out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  } catch (e) {
    throw toBackupError(e);
  }
}

/** One snapshot's manifest; `not-found` when absent. */
export async function getSnapshot(
  repo: RepoRef,
  id: string,
  signal?: AbortSignal,
): Promise<SnapshotSummary> {
  try {
    const r = await Repo.open(repo, false, signal);
    return toSummary(await r.getManifest(id, signal));
  } catch (e) {
    throw toBackupError(e);
  }
}

/** Options of {@link readTree}. */
export interface ReadTreeOptions {
  /** Only entries at or under this path. */
  under?: string;
  /** Only this many levels below `under` (1 = its direct children); default unlimited. */
  depth?: number;
  /** Stop after this many entries (default 100 000). */
  limit?: number;
  signal?: AbortSignal;
}

/** A snapshot's tree entries in path order (validated: a malicious tree fails `bad-manifest`). */
export async function readTree(
  repo: RepoRef,
  snapshot: string,
  options: ReadTreeOptions = {},
): Promise<TreeEntry[]> {
  try {
    const under = (options.under ?? "").replace(/^\.?\/+|\/+$/g, "");
    if (under && !isSafeRelPath(under)) {
      throw new BackupError("bad-input", `"${options.under}" is not a valid tree path`);
    }
    const limit = options.limit ?? 100_000;
    const r = await Repo.open(repo, false, options.signal);
    const tree = await loadTree(r, await r.getManifest(snapshot, options.signal), options.signal);
    const base = under ? under.split("/").length : 0;
    const out: TreeEntry[] = [];
    for (const e of tree) {
      if (under && e.path !== under && !e.path.startsWith(under + "/")) continue;
      if (options.depth !== undefined && e.path.split("/").length - base > options.depth) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  } catch (e) {
    throw toBackupError(e);
  }
}

/**
 * Restores a snapshot (or `paths` of it) into `target`. Never writes outside `target`: refuses
 * `..`, absolute paths, writes through symlinks, hard links out of the tree, escaping symlinks
 * (unless allowed) and device nodes (unless allowed). Every chunk's hash is checked before its
 * bytes are written; files are written to a temp name and renamed. Restores modes, mtimes and,
 * as root, owners. `dryRun` lists what would be written.
 */
export function restore(options: RestoreOptions): Promise<RestoreReport> {
  return runRestore(options);
}

/**
 * Checks that every chunk the snapshots reference exists; with `readDataShare` > 0 downloads that
 * share of them (chosen at random) and re-hashes each.
 */
export function verify(options: VerifyOptions): Promise<VerifyReport> {
  return runVerify(options);
}

/**
 * Applies a retention policy per group (host + target by default): deletes the manifests of
 * snapshots no rule keeps, then (with `prune`) the chunks no remaining manifest needs.
 */
export function forget(options: ForgetOptions): Promise<ForgetReport> {
  return runForget(options);
}

/**
 * Deletes chunks that no manifest references. Safe while backups upload: it holds an exclusive
 * lock object (a backup holds a shared one, so each waits for the other), and it also keeps
 * unreferenced chunks younger than `graceMs` in case a lock was judged stale wrongly. A
 * half-uploaded snapshot's orphan chunks go at the first prune after the grace period.
 */
export function prune(options: PruneOptions): Promise<PruneReport> {
  return runPrune(options);
}

/** Which snapshots a policy keeps (pure; the UI previews with it). Sorted newest first. */
export function applyRetention(
  snapshots: Pick<SnapshotSummary, "id" | "time" | "tags">[],
  policy: RetentionPolicy,
  now?: Date,
): { id: string; keep: boolean; reasons: string[] }[] {
  return retention(snapshots, policy, now);
}

/** Whether the repository exists, is encrypted, and who holds locks. */
export async function describeRepo(repo: RepoRef, signal?: AbortSignal): Promise<RepoInfo> {
  try {
    let r: Repo;
    try {
      r = await Repo.open(repo, false, signal);
    } catch (e) {
      if (e instanceof BackupError && e.code === "not-found") {
        return { exists: false, encrypted: false, version: 0, created: null, locks: [] };
      }
      throw e;
    }
    const locks = await r.listLocks(null, undefined, signal);
    return {
      exists: true,
      encrypted: r.keys !== null,
      version: r.config.v,
      created: r.config.created,
      locks: locks.map((l) => ({ kind: l.kind, host: l.host, since: l.since, stale: l.stale })),
    };
  } catch (e) {
    throw toBackupError(e);
  }
}
