/**
 * Backups to S3: targets, requests, what the API lists, the stream's progress events, and the
 * control-channel frame that starts a snapshot or a restore on a node's agent.
 *
 * Secrets (the S3 keys, the encryption key) appear only in {@link BackupRequestMessage}, which the
 * hub sends to an agent over its authenticated control socket; no API answer, event or audit
 * entry carries them.
 *
 * @module
 */
import { z } from "zod";
import { NodeId } from "./common.ts";
import { BACKUP_STATES, BACKUP_TARGET_KINDS, RESTORE_STATES } from "./enums.ts";
import { TokenKind } from "./tokens.ts";

/** Where a backup stands; only `done` is a good backup. */
export const BackupState = z.enum(BACKUP_STATES);
export type BackupState = z.infer<typeof BackupState>;

/** Where a restore stands. */
export const RestoreState = z.enum(RESTORE_STATES);
export type RestoreState = z.infer<typeof RestoreState>;

/** The kind of a backup target. */
export const BackupTargetKind = z.enum(BACKUP_TARGET_KINDS);

/** An absolute path on a node: no `..` segment, no NUL, bounded. */
export const NodePath = z.string().min(1).max(1024)
  .refine((p) => p.startsWith("/"), "must be an absolute path (starting with /)")
  .refine((p) => !p.split("/").includes(".."), "must not contain a '..' segment")
  .refine((p) => !p.includes("\0"), "must not contain NUL");

/** A Docker volume name as the Engine API accepts it. */
export const VolumeName = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/,
  "volume: a name (letters, digits, '_', '.', '-')",
);

/** What one backup copies. */
export const BackupTarget = z.discriminatedUnion("kind", [
  /** A Docker volume (its mountpoint, resolved by the node's engine). */
  z.strictObject({ kind: z.literal("volume"), name: VolumeName }),
  /** A config directory; `/etc/fleet` when left out. */
  z.strictObject({ kind: z.literal("config"), path: NodePath.default("/etc/fleet") }),
  /** The engine's swarm state (`<docker root>/swarm`), copied while the engine is stopped. */
  z.strictObject({ kind: z.literal("swarm") }),
  /** Any directory or file. */
  z.strictObject({ kind: z.literal("path"), path: NodePath }),
]);
export type BackupTarget = z.infer<typeof BackupTarget>;

/** A target as one short line (`volume:models`, `config:/etc/fleet`, `swarm`, `path:/srv`). */
export function targetLabel(t: BackupTarget): string {
  switch (t.kind) {
    case "volume":
      return `volume:${t.name}`;
    case "config":
      return `config:${t.path}`;
    case "swarm":
      return "swarm";
    case "path":
      return `path:${t.path}`;
  }
}

/** Which nodes a request is for: exactly one of `nodes`, `cluster` or `all`. */
const NodeSelection = {
  nodes: z.array(NodeId).min(1).max(1000).optional(),
  cluster: NodeId.optional(),
  all: z.literal(true).optional(),
};

function oneSelection(
  r: { nodes?: unknown; cluster?: unknown; all?: unknown },
  ctx: z.RefinementCtx,
): void {
  const given = [r.nodes, r.cluster, r.all].filter((x) => x !== undefined).length;
  if (given !== 1) {
    ctx.addIssue({ code: "custom", path: ["nodes"], message: "give one of nodes, cluster or all" });
  }
}

/** `POST /api/v1/backups` body: targets on some nodes, a cluster or every node. */
export const BackupCreate = z.strictObject({
  ...NodeSelection,
  targets: z.array(BackupTarget).min(1).max(16).default([{ kind: "config", path: "/etc/fleet" }]),
  /** Free text kept with the snapshot (e.g. "before upgrade"). */
  note: z.string().max(256).optional(),
}).superRefine(oneSelection);
export type BackupCreate = z.input<typeof BackupCreate>;

/** Live progress of a running backup or restore. */
export const BackupProgress = z.object({
  files: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
  /** Bytes the walk found so far (or in total once it is done); null while unknown. */
  total_bytes: z.number().nonnegative().nullable(),
  chunks_new: z.number().int().nonnegative(),
  chunks_reused: z.number().int().nonnegative(),
  /** Bytes uploaded (after compression and encryption). */
  uploaded_bytes: z.number().nonnegative(),
  rate_bps: z.number().nonnegative(),
  /** Seconds left at the current rate; null while the total is unknown. */
  eta_s: z.number().nonnegative().nullable(),
});
export type BackupProgress = z.infer<typeof BackupProgress>;

/** Who started something. */
const By = z.object({ name: z.string(), kind: z.union([TokenKind, z.string()]) });

/** One backup: a snapshot of one target on one node, as `GET /api/v1/backups` lists it. */
export const BackupInfo = z.object({
  id: z.string(),
  node_id: z.string(),
  target: BackupTarget,
  target_label: z.string(),
  state: BackupState,
  /** The snapshot's id in the repository (only a `done` backup has a manifest). */
  snapshot_id: z.string().nullable(),
  started_at: z.number(),
  finished_at: z.number().nullable(),
  duration_ms: z.number().nullable(),
  files: z.number().int().nullable(),
  /** Bytes of the files in the snapshot. */
  size_b: z.number().nullable(),
  /** Bytes this backup uploaded (new chunks only, compressed). */
  new_b: z.number().nullable(),
  chunks_new: z.number().int().nullable(),
  chunks_reused: z.number().int().nullable(),
  /** Files that changed while they were read (reported, never silently torn). */
  warnings: z.array(z.string()),
  error: z.string().nullable(),
  /** The schedule that started it, or null for a manual backup. */
  schedule: z.string().nullable(),
  note: z.string().nullable(),
  by: By,
  /** Last progress while it runs. */
  progress: BackupProgress.nullable(),
  /** Waiting for its node (one backup at a time per node) or a fleet-wide slot. */
  queued: z.boolean().optional(),
  /** Last verify of its snapshot. */
  verified_at: z.number().nullable(),
  verify_ok: z.boolean().nullable(),
  verify_detail: z.string().nullable(),
});
export type BackupInfo = z.infer<typeof BackupInfo>;

/** `POST /api/v1/backups` answer: one backup per node × target (refused ones as `failed`). */
export const BackupCreated = z.object({ backups: z.array(BackupInfo) });
export type BackupCreated = z.infer<typeof BackupCreated>;

/** `GET /api/v1/backups` query. */
export const BackupListQuery = z.strictObject({
  node: NodeId.optional(),
  state: BackupState.optional(),
  /** Only good backups (`done`). */
  good: z.stringbool().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Backups started before this one (an id), for the next page. */
  cursor: z.string().max(64).optional(),
});

/** One entry of a snapshot's file tree. */
export const TreeEntry = z.object({
  path: z.string(),
  type: z.enum(["file", "dir", "symlink", "other"]),
  size: z.number().nonnegative(),
  mode: z.number().int(),
  mtime: z.number(),
  target: z.string().optional(),
});
export type TreeEntry = z.infer<typeof TreeEntry>;

/** `GET /api/v1/backups/:id/tree` query: the entries under `path` (a directory of the snapshot). */
export const TreeQuery = z.strictObject({
  path: z.string().max(4096).default(""),
  /** Every entry below `path` instead of its direct children. */
  recursive: z.stringbool().default(false),
  limit: z.coerce.number().int().min(1).max(100_000).default(5000),
});

/** `GET /api/v1/backups/:id/tree` answer. */
export const TreeListing = z.object({
  backup_id: z.string(),
  snapshot_id: z.string(),
  path: z.string(),
  entries: z.array(TreeEntry),
  truncated: z.boolean(),
});
export type TreeListing = z.infer<typeof TreeListing>;

/** A path inside a snapshot, relative to its root. */
export const SnapshotPath = z.string().min(1).max(4096)
  .refine((p) => !p.startsWith("/"), "a path inside the snapshot is relative (no leading /)")
  .refine((p) => !p.split("/").includes(".."), "must not contain a '..' segment");

/** `POST /api/v1/backups/:id/restore` body. */
export const RestoreRequest = z.strictObject({
  /** The node to restore on; the backup's own node when left out. */
  node: NodeId.optional(),
  /**
   * Directory to restore into; the original place (the volume, or the target's path) when left
   * out. Restore never writes outside it.
   */
  to: NodePath.optional(),
  /** Only these files or directories of the snapshot. */
  paths: z.array(SnapshotPath).max(1000).optional(),
  /** List what would be written, write nothing. */
  dry_run: z.boolean().default(false),
});
export type RestoreRequest = z.input<typeof RestoreRequest>;

/** A restore as the API shows it. */
export const RestoreInfo = z.object({
  id: z.string(),
  backup_id: z.string(),
  node_id: z.string(),
  to: z.string(),
  paths: z.array(z.string()).nullable(),
  dry_run: z.boolean(),
  state: RestoreState,
  started_at: z.number(),
  finished_at: z.number().nullable(),
  files: z.number().int().nullable(),
  bytes: z.number().nullable(),
  /** What was written (or, for a dry run, would be), capped. */
  written: z.array(z.string()),
  error: z.string().nullable(),
  by: By,
  progress: BackupProgress.nullable(),
});
export type RestoreInfo = z.infer<typeof RestoreInfo>;

/** `POST /api/v1/backups/:id/verify` body. */
export const VerifyRequest = z.strictObject({
  /** Share of chunks to download and re-hash (0 = only check that they exist). */
  read_data: z.number().min(0).max(1).default(0),
});
export type VerifyRequest = z.input<typeof VerifyRequest>;

/** A verify's result. */
export const VerifyResult = z.object({
  backup_id: z.string(),
  ok: z.boolean(),
  chunks: z.number().int(),
  missing: z.number().int(),
  corrupt: z.number().int(),
  checked_data: z.number().int(),
  detail: z.string(),
  at: z.number(),
});
export type VerifyResult = z.infer<typeof VerifyResult>;

/** `POST /api/v1/backups/hub-db` answer: the hub database's snapshot in the bucket. */
export const HubDbBackupInfo = z.object({
  key: z.string(),
  url: z.string(),
  size_b: z.number(),
  at: z.number(),
  duration_ms: z.number(),
});
export type HubDbBackupInfo = z.infer<typeof HubDbBackupInfo>;

/** `GET /api/v1/backups/status` answer: whether S3 is configured, schedules and their next runs. */
export const BackupStatus = z.object({
  configured: z.boolean(),
  endpoint: z.string().nullable(),
  bucket: z.string().nullable(),
  configs_bucket: z.string().nullable(),
  encrypted: z.boolean(),
  schedules: z.array(z.object({
    name: z.string(),
    cron: z.string(),
    nodes: z.array(z.string()),
    targets: z.array(z.string()),
    keep: z.record(z.string(), z.number()),
    next_at: z.number().nullable(),
    /** Longest gap the schedule allows between two good backups (ms). */
    interval_ms: z.number().nullable(),
  })),
  hub_db: z.object({ cron: z.string().nullable(), next_at: z.number().nullable() }),
  /** Per node: its last good backup's finish time and whether it is older than its schedule allows. */
  nodes: z.record(
    z.string(),
    z.object({ last_good_at: z.number().nullable(), stale: z.boolean() }),
  ),
});
export type BackupStatus = z.infer<typeof BackupStatus>;

/** A node config file as the hub keeps it in the configs bucket (`fleet-configs/<node>/…`). */
export const ConfigFile = z.object({
  path: SnapshotPath,
  mode: z.number().int().min(0).max(0o7777),
  /** File content, base64. */
  data: z.string().max(4 * 1_048_576),
});
export type ConfigFile = z.infer<typeof ConfigFile>;

/** `PUT /api/v1/agent/configs` body: the node's config directory (small files only). */
export const ConfigSync = z.strictObject({
  files: z.array(ConfigFile).max(1000),
});
export type ConfigSync = z.infer<typeof ConfigSync>;

// Stream events

/** A backup started, changed state or finished. */
export const BackupStateEvent = z.object({
  type: z.literal("backup.state"),
  backup: BackupInfo,
});
/** Progress of a running backup (at most a few per second per backup). */
export const BackupProgressEvent = z.object({
  type: z.literal("backup.progress"),
  backup_id: z.string(),
  node_id: z.string(),
  progress: BackupProgress,
});
/** A restore started, progressed or finished. */
export const RestoreEvent = z.object({
  type: z.literal("backup.restore"),
  restore: RestoreInfo,
});

// Control channel (hub → agent)

/** A channel id (as in `control.ts`, repeated so that module can import this one). */
const ChannelId = z.number().int().positive().max(2 ** 31);

/** Where the agent reads and writes the repository, with the keys (control frames only). */
export const S3Access = z.strictObject({
  endpoint: z.string().min(1).max(512),
  region: z.string().min(1).max(64),
  bucket: z.string().min(1).max(255),
  access_key: z.string().min(1).max(256),
  secret_key: z.string().min(1).max(256),
  path_style: z.boolean(),
  /** Client-side encryption key, when configured. */
  encryption_key: z.string().max(256).optional(),
});
export type S3Access = z.infer<typeof S3Access>;

/**
 * Starts a snapshot or a restore on the node. The agent answers with `stream.data` frames whose
 * data is a JSON {@link BackupProgress}, then one `reply` (the result, or the error). A
 * `stream.cancel` of the channel stops it.
 */
export const BackupRequestMessage = z.discriminatedUnion("op", [
  z.strictObject({
    type: z.literal("backup"),
    ch: ChannelId,
    op: z.literal("create"),
    backup_id: z.string().max(64),
    node_id: NodeId,
    target: BackupTarget,
    s3: S3Access,
  }),
  z.strictObject({
    type: z.literal("backup"),
    ch: ChannelId,
    op: z.literal("restore"),
    restore_id: z.string().max(64),
    snapshot_id: z.string().max(128),
    target: BackupTarget,
    to: NodePath.optional(),
    paths: z.array(SnapshotPath).max(1000).optional(),
    dry_run: z.boolean(),
    s3: S3Access,
  }),
]);
export type BackupRequestMessage = z.infer<typeof BackupRequestMessage>;

/** What the agent's `reply` carries when a snapshot was written. */
export const SnapshotResult = z.object({
  snapshot_id: z.string(),
  files: z.number().int(),
  size_b: z.number(),
  new_b: z.number(),
  chunks_new: z.number().int(),
  chunks_reused: z.number().int(),
  warnings: z.array(z.string()).max(1000),
});
export type SnapshotResult = z.infer<typeof SnapshotResult>;

/** What the agent's `reply` carries when a restore ended. */
export const RestoreResult = z.object({
  files: z.number().int(),
  bytes: z.number(),
  to: z.string(),
  written: z.array(z.string()).max(10_000),
});
export type RestoreResult = z.infer<typeof RestoreResult>;

/** Who started a backup, for rows and events. */
export type BackupBy = z.infer<typeof By>;
