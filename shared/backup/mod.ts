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
import type {
  BackupErrorCode,
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

/** An engine failure; `code` is stable, `message` is for people and never holds a secret. */
export class BackupError extends Error {
  constructor(readonly code: BackupErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackupError";
  }
}

/**
 * Backs up `root` (or `paths` under it) as one snapshot: walks the tree, splits files into
 * content-defined chunks (~1 MiB average), uploads only chunks the repository lacks, then writes
 * the tree and, last, the manifest. Creates the repository on first use. Files that change while
 * being read are re-read, then reported (`status: "partial"`), never silently torn. Fails without
 * a manifest (so nothing is listed) on any S3 error or abort.
 */
export function backup(_options: BackupOptions): Promise<SnapshotSummary> {
  return Promise.reject(new BackupError("bad-input", "not yet"));
}

/** Snapshots of the repository, oldest first (an absent repository has none). */
export function listSnapshots(
  _repo: RepoRef,
  _filter?: SnapshotFilter,
  _signal?: AbortSignal,
): Promise<SnapshotSummary[]> {
  return Promise.reject(new BackupError("bad-input", "not yet"));
}

/** One snapshot's manifest; `not-found` when absent. */
export function getSnapshot(
  _repo: RepoRef,
  id: string,
  _signal?: AbortSignal,
): Promise<SnapshotSummary> {
  return Promise.reject(new BackupError("not-found", `snapshot ${id}: not yet`));
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
export function readTree(
  _repo: RepoRef,
  _snapshot: string,
  _options?: ReadTreeOptions,
): Promise<TreeEntry[]> {
  return Promise.reject(new BackupError("bad-input", "not yet"));
}

/**
 * Restores a snapshot (or `paths` of it) into `target`. Never writes outside `target`: refuses
 * `..`, absolute paths, writes through symlinks, hard links out of the tree, escaping symlinks
 * (unless allowed) and device nodes (unless allowed). Every chunk's hash is checked before its
 * bytes are written; files are written to a temp name and renamed. Restores modes, mtimes and,
 * as root, owners. `dryRun` lists what would be written.
 */
export function restore(_options: RestoreOptions): Promise<RestoreReport> {
  return Promise.reject(new BackupError("bad-input", "not yet"));
}

/**
 * Checks that every chunk the snapshots reference exists; with `readDataShare` > 0 downloads that
 * share of them (chosen at random) and re-hashes each.
 */
export function verify(_options: VerifyOptions): Promise<VerifyReport> {
  return Promise.reject(new BackupError("bad-input", "not yet"));
}

/**
 * Applies a retention policy per group (host + target by default): deletes the manifests of
 * snapshots no rule keeps, then (with `prune`) the chunks no remaining manifest needs.
 */
export function forget(_options: ForgetOptions): Promise<ForgetReport> {
  return Promise.reject(new BackupError("bad-input", "not yet"));
}

/**
 * Deletes chunks that no manifest references. Safe while backups upload: it holds an exclusive
 * lock object (a backup holds a shared one, so each waits for the other), and it also keeps
 * unreferenced chunks younger than `graceMs` in case a lock was judged stale wrongly. A
 * half-uploaded snapshot's orphan chunks go at the first prune after the grace period.
 */
export function prune(_options: PruneOptions): Promise<PruneReport> {
  return Promise.reject(new BackupError("bad-input", "not yet"));
}

/** Which snapshots a policy keeps (pure; the UI previews with it). Sorted newest first. */
export function applyRetention(
  _snapshots: Pick<SnapshotSummary, "id" | "time" | "tags">[],
  _policy: RetentionPolicy,
  _now?: Date,
): { id: string; keep: boolean; reasons: string[] }[] {
  throw new BackupError("bad-input", "not yet");
}

/** Whether the repository exists, is encrypted, and who holds locks. */
export function describeRepo(_repo: RepoRef, _signal?: AbortSignal): Promise<RepoInfo> {
  return Promise.reject(new BackupError("bad-input", "not yet"));
}
