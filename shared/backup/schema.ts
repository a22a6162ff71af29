/**
 * zod schemas of everything the engine reads back from a bucket (config, manifests, tree
 * entries, locks): a bucket is input like any other, and a manifest written by someone else may
 * be malicious. Tree paths must be relative, with no empty, `.` or `..` segment; a hard link must
 * point at such a path too.
 *
 * @module
 */
import { z } from "zod";

/** True for a relative POSIX path without empty, `.` or `..` segments, NUL or backslash tricks. */
export function isSafeRelPath(p: string): boolean {
  if (p.length === 0 || p.length > 4096 || p.startsWith("/") || p.includes("\0")) return false;
  return p.split("/").every((s) => s !== "" && s !== "." && s !== ".." && s.length <= 255);
}

const relPath = z.string().refine(isSafeRelPath, {
  message: "must be a relative path without '..', '.' or empty segments",
});
const hexId = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 hex digits");
const int = z.number().int();
const nonNeg = int.min(0);

export const chunkRefSchema = z.object({ id: hexId, size: nonNeg.max(64 * 1024 * 1024) });

export const treeEntrySchema = z.object({
  path: relPath,
  type: z.enum(["dir", "file", "symlink", "hardlink", "char", "block", "fifo"]),
  mode: nonNeg.max(0o7777),
  uid: nonNeg,
  gid: nonNeg,
  mtimeMs: z.number().finite(),
  size: nonNeg.optional(),
  chunks: z.array(chunkRefSchema).max(1_000_000).optional(),
  target: z.string().min(1).max(4096).refine((s) => !s.includes("\0")).optional(),
  linkTo: relPath.optional(),
  rdev: nonNeg.optional(),
  changed: z.boolean().optional(),
  ctimeMs: z.number().finite().optional(),
  ino: nonNeg.optional(),
}).superRefine((e, ctx) => {
  const need = (field: string, ok: boolean) => {
    if (!ok) ctx.addIssue({ code: "custom", path: [field], message: `required for ${e.type}` });
  };
  if (e.type === "file") {
    need("chunks", !!e.chunks);
    need("size", e.size !== undefined);
    const sum = (e.chunks ?? []).reduce((a, c) => a + c.size, 0);
    if (e.size !== undefined && sum !== e.size) {
      ctx.addIssue({ code: "custom", path: ["size"], message: "differs from the chunks' sum" });
    }
  }
  if (e.type === "symlink") need("target", !!e.target);
  if (e.type === "hardlink") need("linkTo", !!e.linkTo);
});

const warningSchema = z.object({
  path: z.string().max(4096),
  kind: z.enum(["changed", "unreadable", "skipped-type", "vanished"]),
  message: z.string().max(2000),
});

export const manifestSchema = z.object({
  v: z.literal(1),
  id: z.string().regex(/^[0-9A-Za-z-]{1,80}$/),
  time: z.string(),
  endTime: z.string(),
  host: z.string().max(256),
  node: z.string().max(256).nullable(),
  target: z.string().max(1024),
  root: z.string().max(4096),
  paths: z.array(z.string().max(4096)).max(10_000),
  tags: z.array(z.string().max(256)).max(100),
  status: z.enum(["complete", "partial"]),
  warnings: z.array(warningSchema).max(100),
  warningsTotal: nonNeg,
  stats: z.object({
    files: nonNeg,
    dirs: nonNeg,
    symlinks: nonNeg,
    others: nonNeg,
    bytes: nonNeg,
    chunks: nonNeg,
    chunksNew: nonNeg,
    chunksReused: nonNeg,
    bytesUploaded: nonNeg,
    objectsPut: nonNeg,
    filesUnchanged: nonNeg.optional(),
    durationMs: nonNeg,
  }),
  encrypted: z.boolean(),
  /** Chunks of the tree (NDJSON of entries, in path order). */
  tree: z.array(chunkRefSchema).max(1_000_000),
  entries: nonNeg,
  /** The snapshot unchanged files were taken from. */
  parent: z.string().max(80).nullable().optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

export const repoConfigSchema = z.object({
  v: z.literal(1),
  id: z.string().max(80),
  created: z.string(),
  chunker: z.object({
    min: int.min(64 * 1024).max(4 * 1024 * 1024),
    avg: int.min(128 * 1024).max(4 * 1024 * 1024),
    max: int.min(256 * 1024).max(6 * 1024 * 1024),
    /** Gear seed (hex) of a plain repository; an encrypted one derives it from its key. */
    seed: z.string().regex(/^[0-9a-f]{32,128}$/).nullable(),
  }),
  encryption: z.object({
    kdf: z.literal("pbkdf2-sha256"),
    iterations: int.min(10_000).max(10_000_000),
    salt: z.string().max(100),
    wrapped: z.string().max(1000),
  }).nullable(),
});
export type RepoConfig = z.infer<typeof repoConfigSchema>;

export const lockSchema = z.object({
  kind: z.enum(["backup", "prune"]),
  host: z.string().max(256),
  pid: int,
  time: z.string(),
});
export type LockBody = z.infer<typeof lockSchema>;

/** Zod issues as `field: message; …` with the entry's line when given. */
export function describeIssues(err: z.ZodError, where: string): string {
  return `${where}: ` +
    err.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}
