/**
 * Public types of the backup engine (see `mod.ts` for the functions and `docs/backups.md` for
 * the format). Plain data only: every type here can be JSON-encoded and sent over the control
 * channel or the API.
 *
 * @module
 */
import type { S3Config, S3Options } from "../s3.ts";

/** A repository: a prefix inside a bucket that holds config, chunks, snapshots and locks. */
export interface RepoRef {
  s3: S3Config;
  /** Key prefix without a trailing slash, e.g. `fleet/nodes`; "" for the bucket root. */
  prefix: string;
  /**
   * Client-side encryption passphrase (AES-256-GCM; key derived with PBKDF2-SHA-256). A repo is
   * encrypted or not from its first backup on: a key on a plain repo, no key or a wrong key on an
   * encrypted one fail with {@link BackupErrorCode} `wrong-key` / `encryption-mismatch`.
   */
  encryptionKey?: string;
  /** Concurrency, retries and timeout of S3 requests. */
  s3Options?: S3Options;
}

/** Why an engine call failed; the hub maps each to an HTTP problem and a UI message. */
export type BackupErrorCode =
  | "s3-credentials" // S3 refused the keys
  | "s3-unreachable" // endpoint down or wrong
  | "s3-no-bucket" // bucket missing
  | "s3-error" // any other S3 failure after retries
  | "wrong-key" // encryption key does not open this repository
  | "encryption-mismatch" // key given for a plain repo, or none for an encrypted one
  | "repo-busy" // prune holds the lock (backup) or a backup does (prune)
  | "not-found" // snapshot or repository does not exist
  | "bad-manifest" // a manifest or tree fails validation (corrupt or malicious)
  | "integrity" // a chunk's hash does not match, or it cannot be decrypted
  | "bad-input" // options out of range (source not a directory, unsafe path, …)
  | "io" // the local file system refused (permission, disk full, read-only)
  | "aborted"; // the caller's signal fired

/** A progress tick (at most ~4 per second, and one at the end). */
export interface BackupProgress {
  phase: "scanning" | "uploading" | "finishing";
  /** Entries (files, dirs, links) found so far / in total once the scan is done. */
  files: number;
  filesTotal: number | null;
  /** Logical bytes of regular files read so far / in total once the scan is done. */
  bytes: number;
  bytesTotal: number | null;
  chunksNew: number;
  chunksReused: number;
  /** Bytes sent to S3 (compressed, encrypted). */
  bytesUploaded: number;
  /** Logical bytes read per second since the start. */
  rateBytesPerSec: number;
  /** Seconds left at the current rate; null while scanning. */
  etaSeconds: number | null;
  currentPath: string | null;
}

/** What to back up and where. */
export interface BackupOptions {
  repo: RepoRef;
  /** Absolute directory whose contents are saved; tree paths are relative to it. */
  root: string;
  /**
   * Only these paths (relative to `root`, files or directories) and what is under them; default:
   * the whole root. Their parent directories are recorded too, so a restore recreates them.
   */
  paths?: string[];
  /** Relative paths or globs (`*` within a segment, `**` across) left out. */
  exclude?: string[];
  /** Host name recorded in the snapshot (retention groups by host + target). */
  host: string;
  /** Node id in the fleet, when it differs from the host name. */
  node?: string;
  /** Target name (e.g. `volume:pgdata`, `config:/etc/fleet`, `hub-db`); retention is per target. */
  target: string;
  tags?: string[];
  onProgress?: (p: BackupProgress) => void;
  signal?: AbortSignal;
  /** How long to wait for a running prune's lock before failing `repo-busy` (default 10 min). */
  lockWaitMs?: number;
  /**
   * The snapshot whose file list lets unchanged files (same size, mtime, ctime and inode) be
   * reused without reading them: default the newest snapshot of the same host, target and root;
   * `false` reads every file.
   */
  parent?: string | false;
}

/** A file that was skipped or changed while being read. */
export interface BackupWarning {
  path: string;
  kind: "changed" | "unreadable" | "skipped-type" | "vanished";
  message: string;
}

/** Statistics of one snapshot (recorded in its manifest). */
export interface SnapshotStats {
  files: number;
  dirs: number;
  symlinks: number;
  /** Hard links, devices, FIFOs. */
  others: number;
  /** Logical bytes of regular files. */
  bytes: number;
  /** Chunks referenced by files and by the tree. */
  chunks: number;
  chunksNew: number;
  chunksReused: number;
  /** Bytes PUT to S3 for new chunks (after compression/encryption). */
  bytesUploaded: number;
  /** PUT requests made by this backup (chunks, tree, manifest; not locks). */
  objectsPut: number;
  /** Files reused from the parent snapshot without reading them. */
  filesUnchanged?: number;
  durationMs: number;
}

/** One snapshot as listed (its manifest, without the tree). */
export interface SnapshotSummary {
  id: string;
  /** Start and end of the backup, ISO 8601 UTC. */
  time: string;
  endTime: string;
  host: string;
  node: string | null;
  target: string;
  root: string;
  paths: string[];
  tags: string[];
  /**
   * `complete`: every file read consistently. `partial`: some files changed while being read or
   * could not be read (listed in `warnings`); the snapshot is still restorable. A backup that
   * fails writes no manifest at all, so it is never listed.
   */
  status: "complete" | "partial";
  warnings: BackupWarning[];
  /** More warnings than `warnings` holds (it keeps the first 100). */
  warningsTotal: number;
  stats: SnapshotStats;
  encrypted: boolean;
}

/** Kinds of tree entries. */
export type EntryType = "dir" | "file" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** A chunk of a file: its id (hex SHA-256, or HMAC-SHA-256 when encrypted) and plain size. */
export interface ChunkRef {
  id: string;
  size: number;
}

/** One entry of a snapshot's tree. */
export interface TreeEntry {
  /** Relative POSIX path (`a/b.txt`), never absolute, never with `.`/`..` segments. */
  path: string;
  type: EntryType;
  /** Permission bits incl. setuid/setgid/sticky (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, ms since the epoch. */
  mtimeMs: number;
  /** Regular files: logical size. */
  size?: number;
  /** Regular files: chunks in order. */
  chunks?: ChunkRef[];
  /** Symlinks: the link text as stored. */
  target?: string;
  /** Hard links: the path (in this tree) of the file it links to. */
  linkTo?: string;
  /** Devices: `rdev` as the kernel reports it. */
  rdev?: number;
  /** The file changed while being read (its content may mix two versions). */
  changed?: boolean;
  /** Regular files: status-change time (ms) and inode, to skip unchanged files next time. */
  ctimeMs?: number;
  ino?: number;
}

/** Filters of {@link listSnapshots}. */
export interface SnapshotFilter {
  host?: string;
  node?: string;
  target?: string;
  /** Every one of these tags. */
  tags?: string[];
}

/** A restore's progress tick. */
export interface RestoreProgress {
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
  rateBytesPerSec: number;
  etaSeconds: number | null;
  currentPath: string | null;
}

/** What to restore and where. */
export interface RestoreOptions {
  repo: RepoRef;
  snapshot: string;
  /** Only these tree paths and what is under them (default: everything). */
  paths?: string[];
  /** Absolute directory written into (created if missing). Nothing is written outside it. */
  target: string;
  /** List what would be written, write nothing. */
  dryRun?: boolean;
  /** Create device nodes (refused by default). */
  allowDevices?: boolean;
  /**
   * Restore symlinks whose target leaves `target` (e.g. absolute links in /etc). Default false:
   * they are refused and reported. Writes never follow a symlink either way.
   */
  allowEscapingSymlinks?: boolean;
  /** Restore uid/gid: default true when running as root, else owners are left as they are. */
  owners?: boolean;
  onProgress?: (p: RestoreProgress) => void;
  signal?: AbortSignal;
}

/** One path a restore wrote (or would write, in a dry run). */
export interface RestoredItem {
  path: string;
  type: EntryType;
  size: number;
}

/** An entry the restore refused or could not write. */
export interface RestoreRefusal {
  path: string;
  reason: string;
}

/** What a restore did. */
export interface RestoreReport {
  snapshot: string;
  target: string;
  dryRun: boolean;
  files: number;
  dirs: number;
  symlinks: number;
  others: number;
  bytes: number;
  /** The first 1000 items written (or to be written); `writtenTotal` counts them all. */
  written: RestoredItem[];
  writtenTotal: number;
  /** Entries refused (unsafe path, escaping link, device not allowed) or failed. */
  refused: RestoreRefusal[];
  /** Whether owners were restored (false when not root or not asked). */
  ownersRestored: boolean;
  durationMs: number;
}

/** What {@link verify} checks. */
export interface VerifyOptions {
  repo: RepoRef;
  /** Snapshot ids (default: all). */
  snapshots?: string[];
  /** Share (0…1) of referenced chunks to download and re-hash; 0 checks existence only. */
  readDataShare?: number;
  onProgress?: (p: { phase: "listing" | "reading"; done: number; total: number }) => void;
  signal?: AbortSignal;
}

/** A problem {@link verify} found. */
export interface VerifyProblem {
  chunk: string;
  kind: "missing" | "corrupt";
  /** Snapshots that need this chunk. */
  snapshots: string[];
  message: string;
}

/** Result of {@link verify}. */
export interface VerifyReport {
  ok: boolean;
  snapshots: number;
  chunksReferenced: number;
  chunksRead: number;
  bytesRead: number;
  /** The first 1000 problems; `problemsTotal` counts them all. */
  problems: VerifyProblem[];
  problemsTotal: number;
  /** Snapshot ids with at least one problem. */
  badSnapshots: string[];
  /** Manifests that could not be read or failed validation. */
  badManifests: { id: string; message: string }[];
  durationMs: number;
}

/**
 * Retention: a snapshot is kept when any rule keeps it (restic semantics). `keepDaily: 7` keeps
 * the newest snapshot of each of the last 7 days that have one; days/weeks/months are UTC,
 * weeks ISO (Monday first). At least one rule must be set.
 */
export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Keep everything younger than this many ms. */
  keepWithinMs?: number;
  /** Keep snapshots carrying any of these tags. */
  keepTags?: string[];
}

/** What {@link forget} removes. */
export interface ForgetOptions {
  repo: RepoRef;
  policy: RetentionPolicy;
  /** Groups the policy applies to, each on its own (default `["host", "target"]`). */
  groupBy?: ("host" | "node" | "target")[];
  /** Restrict to these snapshots' host/target (default: every group). */
  filter?: SnapshotFilter;
  dryRun?: boolean;
  /** Also prune afterwards (default false). */
  prune?: boolean | Omit<PruneOptions, "repo">;
  /** Evaluate the policy at this time (tests); default now. */
  now?: Date;
  signal?: AbortSignal;
}

/** The decision for one snapshot. */
export interface ForgetDecision {
  id: string;
  host: string;
  target: string;
  time: string;
  keep: boolean;
  /** Rules that keep it (`last`, `daily`, …), empty when removed. */
  reasons: string[];
}

/** Result of {@link forget}. */
export interface ForgetReport {
  dryRun: boolean;
  kept: ForgetDecision[];
  removed: ForgetDecision[];
  prune: PruneReport | null;
}

/**
 * What {@link prune} deletes: chunks no manifest references that are older than `graceMs`
 * (measured on the server's clock, from the prune's own lock object).
 */
export interface PruneOptions {
  repo: RepoRef;
  /** Unreferenced chunks younger than this stay (default 1 h). */
  graceMs?: number;
  /**
   * A lock not refreshed for this long belongs to a dead process and is removed (default 15 min;
   * holders refresh every minute). Lower it only when no backup can be running.
   */
  staleLockMs?: number;
  dryRun?: boolean;
  onProgress?: (
    p: { phase: "manifests" | "listing" | "deleting"; done: number; total: number },
  ) => void;
  signal?: AbortSignal;
}

/** Result of {@link prune}. */
export interface PruneReport {
  dryRun: boolean;
  snapshots: number;
  chunksTotal: number;
  chunksReferenced: number;
  chunksDeleted: number;
  bytesDeleted: number;
  /** Unreferenced chunks kept because they are younger than the grace period. */
  chunksYoungKept: number;
  /** Stale lock objects (dead backups) removed. */
  staleLocksRemoved: number;
  durationMs: number;
}

/** Repository facts (`describeRepo`). */
export interface RepoInfo {
  exists: boolean;
  encrypted: boolean;
  version: number;
  created: string | null;
  /** Lock objects present: running backups/prunes (or stale ones of dead processes). */
  locks: { kind: "backup" | "prune"; host: string; since: string; stale: boolean }[];
}
