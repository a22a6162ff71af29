/**
 * The backup parts of fleet.yml (`s3:` and `backups:`) and their `FLEET_S3_*` environment twins:
 * where the repository lives, its keys, schedules (cron, via croner) with per-target retention,
 * and the hub database's own schedule. Env beats the file, like every other setting.
 *
 * @module
 */
import { z } from "zod";
import { Cron } from "croner";
import { BackupTarget, NodeId, targetLabel } from "../../shared/protocol/mod.ts";
import { ConfigError } from "../../shared/yaml_config.ts";
import { DurationSchema } from "../../shared/duration.ts";

/** A cron expression croner accepts (5 or 6 fields). */
const CronExpr = z.string().min(9).max(128).superRefine((expr, ctx) => {
  try {
    new Cron(expr, { paused: true });
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `not a cron expression: ${(error as Error).message}` });
  }
});

/** How many snapshots retention keeps, per node and target (restic's `forget --keep-*`). */
export const Keep = z.strictObject({
  last: z.number().int().min(0).max(10_000).optional(),
  daily: z.number().int().min(0).max(10_000).optional(),
  weekly: z.number().int().min(0).max(10_000).optional(),
  monthly: z.number().int().min(0).max(10_000).optional(),
});
export type Keep = z.infer<typeof Keep>;

/** `s3:` of fleet.yml. */
export const S3Section = z.strictObject({
  endpoint: z.string().url().max(512).optional(),
  region: z.string().min(1).max(64).optional(),
  bucket: z.string().min(3).max(63).optional(),
  configs_bucket: z.string().min(3).max(63).optional(),
  access_key: z.string().min(1).max(256).optional(),
  secret_key: z.string().min(1).max(256).optional(),
  path_style: z.boolean().optional(),
  /** Client-side encryption key of every chunk and manifest (keep a copy off the fleet). */
  encryption_key: z.string().min(16).max(256).optional(),
});

/** One schedule of `backups.schedules`. */
export const ScheduleSection = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "name: letters, digits, . _ -"),
  cron: CronExpr,
  nodes: z.array(NodeId).min(1).max(1000).optional(),
  cluster: NodeId.optional(),
  all: z.literal(true).optional(),
  targets: z.array(BackupTarget).min(1).max(16),
  keep: Keep.default({ last: 7 }),
}).superRefine((s, ctx) => {
  const given = [s.nodes, s.cluster, s.all].filter((x) => x !== undefined).length;
  if (given !== 1) {
    ctx.addIssue({ code: "custom", path: ["nodes"], message: "give one of nodes, cluster or all" });
  }
});
export type ScheduleSection = z.infer<typeof ScheduleSection>;

/** `backups:` of fleet.yml. */
export const BackupsSection = z.strictObject({
  schedules: z.array(ScheduleSection).max(100).default([]),
  /** The hub's own database: a consistent snapshot (SQLite's backup API) on this schedule. */
  hub_db: z.strictObject({ cron: CronExpr, keep: Keep.default({ last: 7 }) }).optional(),
  /** How often retention and prune run (cron); default daily at 04:00. */
  prune: CronExpr.optional(),
  /** Unreferenced chunks younger than this survive a prune (a backup may still need them). */
  prune_grace: DurationSchema.optional(),
  /** Nodes backing up at once across the fleet (each node runs its targets one at a time). */
  max_parallel: z.number().int().min(1).max(256).optional(),
});

/** Where the repository lives; null when S3 is not configured. */
export interface S3Settings {
  endpoint: string;
  region: string;
  bucket: string;
  configsBucket: string;
  accessKey: string;
  secretKey: string;
  pathStyle: boolean;
  encryptionKey?: string;
}

/** The resolved backup configuration. */
export interface BackupConfig {
  s3: S3Settings | null;
  schedules: ScheduleSection[];
  hubDb: { cron: string; keep: Keep } | null;
  prune: string;
  /** Orphan chunks younger than this are kept by prune (ms). */
  pruneGraceMs: number;
  /** Nodes backing up at once. */
  maxParallel: number;
}

/** No S3, no schedules. */
export const NO_BACKUPS: BackupConfig = {
  s3: null,
  schedules: [],
  hubDb: null,
  prune: "0 4 * * *",
  pruneGraceMs: 3_600_000,
  maxParallel: 4,
};

/**
 * Resolves `s3:` and `backups:` with the `FLEET_S3_*` variables (and `FLEET_BACKUP_KEY` for the
 * encryption key) taking precedence.
 *
 * @throws {ConfigError} when S3 is half configured (an endpoint without keys, or keys without one).
 */
export function resolveBackupConfig(
  s3File: z.infer<typeof S3Section> | undefined,
  backupsFile: z.infer<typeof BackupsSection> | undefined,
  env: Record<string, string | undefined>,
  clusterIds?: readonly string[],
): BackupConfig {
  const f = s3File ?? {};
  const endpoint = env.FLEET_S3_ENDPOINT || f.endpoint;
  const accessKey = env.FLEET_S3_ACCESS_KEY || f.access_key;
  const secretKey = env.FLEET_S3_SECRET_KEY || f.secret_key;
  let s3: S3Settings | null = null;
  if (endpoint || accessKey || secretKey) {
    const missing = [
      ["endpoint (s3.endpoint / FLEET_S3_ENDPOINT)", endpoint],
      ["access key (s3.access_key / FLEET_S3_ACCESS_KEY)", accessKey],
      ["secret key (s3.secret_key / FLEET_S3_SECRET_KEY)", secretKey],
    ].filter(([, v]) => !v).map(([k]) => k);
    if (missing.length) {
      throw new ConfigError(`S3 is half configured: missing ${missing.join(", ")}`);
    }
    try {
      const u = new URL(endpoint!);
      if (!/^https?:$/.test(u.protocol)) throw new Error("scheme");
    } catch {
      throw new ConfigError(
        `S3 endpoint ${JSON.stringify(endpoint)} is not an http(s) URL like http://minio:9000`,
      );
    }
    const pathStyleEnv = env.FLEET_S3_PATH_STYLE;
    s3 = {
      endpoint: endpoint!.replace(/\/+$/, ""),
      region: env.FLEET_S3_REGION || f.region || "us-east-1",
      bucket: env.FLEET_S3_BUCKET || f.bucket || "fleet-backups",
      configsBucket: env.FLEET_S3_CONFIGS_BUCKET || f.configs_bucket || "fleet-configs",
      accessKey: accessKey!,
      secretKey: secretKey!,
      pathStyle: pathStyleEnv ? pathStyleEnv !== "false" : f.path_style ?? true,
      encryptionKey: env.FLEET_BACKUP_KEY || f.encryption_key,
    };
    if (s3.encryptionKey !== undefined && s3.encryptionKey.length < 16) {
      throw new ConfigError("the backup encryption key (FLEET_BACKUP_KEY) needs 16+ characters");
    }
  }
  const b = backupsFile;
  const names = new Set<string>();
  for (const s of b?.schedules ?? []) {
    if (names.has(s.name)) throw new ConfigError(`backups.schedules: ${s.name} is listed twice`);
    names.add(s.name);
    if (s.cluster !== undefined && clusterIds && !clusterIds.includes(s.cluster)) {
      throw new ConfigError(
        `backups.schedules: ${s.name} names cluster ${s.cluster}, which is not under clusters:`,
      );
    }
  }
  return {
    s3,
    schedules: b?.schedules ?? [],
    hubDb: b?.hub_db ?? null,
    prune: b?.prune ?? NO_BACKUPS.prune,
    pruneGraceMs: b?.prune_grace ?? NO_BACKUPS.pruneGraceMs,
    maxParallel: b?.max_parallel ?? NO_BACKUPS.maxParallel,
  };
}

/** The longest gap a cron expression leaves between two runs (from its next few), in ms. */
export function cronIntervalMs(expr: string): number | null {
  const runs = new Cron(expr, { paused: true }).nextRuns(6);
  if (runs.length < 2) return null;
  let max = 0;
  for (let i = 1; i < runs.length; i++) {
    max = Math.max(max, runs[i].getTime() - runs[i - 1].getTime());
  }
  return max;
}

/** The labels of a schedule's targets. */
export function scheduleTargets(s: ScheduleSection): string[] {
  return s.targets.map(targetLabel);
}
