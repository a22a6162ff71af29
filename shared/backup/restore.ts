/**
 * Restore: writes a snapshot's entries under a target directory and nowhere else.
 *
 * How "nowhere else" holds: tree paths are validated (relative, no `..`/`.`/empty segments) before
 * anything is written, so a malicious tree fails as a whole; every parent directory is checked
 * with lstat on the way down and must be a real directory (a symlink there — from the target as
 * found or from this restore — refuses the entry, so no write goes through a link); files are
 * written to a fresh temp name created exclusively in that directory and renamed over the final
 * name (rename replaces a symlink, it never follows it); a hard link must point at a file this
 * restore wrote; symlinks that point outside the target and device nodes are refused unless
 * allowed. Each chunk is re-hashed before its bytes are written.
 *
 * @module
 */
import { lutimes } from "../lutimes.ts";
import { BackupError, toBackupError } from "./errors.ts";
import { Repo } from "./repo.ts";
import { isSafeRelPath } from "./schema.ts";
import { loadTree } from "./tree.ts";
import type {
  RestoredItem,
  RestoreOptions,
  RestoreProgress,
  RestoreReport,
  TreeEntry,
} from "./types.ts";

const PREFETCH = 16;

/** True when `link`, a symlink's text at `rel`, resolves outside the restore target. */
export function symlinkEscapes(rel: string, link: string): boolean {
  if (link.startsWith("/")) return true;
  const parts = rel.split("/").slice(0, -1);
  for (const seg of link.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (!parts.length) return true;
      parts.pop();
    } else parts.push(seg);
  }
  return false;
}

/** Entries of `tree` at or under one of `paths`, plus their ancestor directories. */
function select(tree: TreeEntry[], paths: string[] | undefined): TreeEntry[] {
  if (!paths?.length) return tree;
  const want = paths.map((p) => p.replace(/^\.?\/+|\/+$/g, ""));
  for (const p of want) {
    if (!isSafeRelPath(p)) throw new BackupError("bad-input", `restore path "${p}" is not valid`);
  }
  const ancestors = new Set<string>();
  for (const p of want) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) ancestors.add(parts.slice(0, i).join("/"));
  }
  const out = tree.filter((e) =>
    ancestors.has(e.path) || want.some((p) => e.path === p || e.path.startsWith(p + "/"))
  );
  if (!out.some((e) => want.some((p) => e.path === p || e.path.startsWith(p + "/")))) {
    throw new BackupError("not-found", `none of ${want.join(", ")} is in the snapshot`);
  }
  // A hard link whose first path is not restored becomes a copy of that file.
  const chosen = new Set(out.map((e) => e.path));
  const byPath = new Map(tree.map((e) => [e.path, e]));
  return out.map((e) => {
    if (e.type !== "hardlink" || chosen.has(e.linkTo!)) return e;
    const src = byPath.get(e.linkTo!);
    if (src?.type !== "file") return e;
    const { linkTo: _l, ...rest } = e;
    return { ...rest, type: "file", size: src.size, chunks: src.chunks };
  });
}

function isAllZero(b: Uint8Array): boolean {
  const words = b.length >> 3;
  const v = new BigUint64Array(b.buffer, b.byteOffset, b.byteOffset % 8 === 0 ? words : 0);
  for (let i = 0; i < v.length; i++) if (v[i] !== 0n) return false;
  for (let i = v.length * 8; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** See `mod.ts`. */
export async function runRestore(o: RestoreOptions): Promise<RestoreReport> {
  try {
    return await restoreInner(o);
  } catch (e) {
    throw toBackupError(e);
  }
}

async function restoreInner(o: RestoreOptions): Promise<RestoreReport> {
  const t0 = performance.now();
  const signal = o.signal;
  if (!o.target.startsWith("/")) {
    throw new BackupError("bad-input", "restore target must be an absolute path");
  }
  const repo = await Repo.open(o.repo, false, signal);
  const manifest = await repo.getManifest(o.snapshot, signal);
  // Validated as a whole before anything is written: one bad path refuses the snapshot.
  const entries = select(await loadTree(repo, manifest, signal), o.paths);
  const dryRun = !!o.dryRun;
  const owners = o.owners ?? Deno.uid() === 0;
  const canChown = owners && Deno.uid() === 0;
  const report: RestoreReport = {
    snapshot: manifest.id,
    target: o.target,
    dryRun,
    files: 0,
    dirs: 0,
    symlinks: 0,
    others: 0,
    bytes: 0,
    written: [],
    writtenTotal: 0,
    refused: [],
    ownersRestored: canChown && !dryRun,
    durationMs: 0,
  };
  // Directories checked (or made) by this restore: real directories, never symlinks.
  const safeDirs = new Set<string>([""]);
  // Refused paths: nothing is written under them either.
  const refusedDirs = new Set<string>();
  const refuse = (path: string, reason: string) => {
    report.refused.push({ path, reason });
    refusedDirs.add(path);
  };
  const wrote = (e: TreeEntry, size: number) => {
    report.writtenTotal++;
    if (report.written.length < 1000) {
      report.written.push({ path: e.path, type: e.type, size } satisfies RestoredItem);
    }
  };

  if (!dryRun) await Deno.mkdir(o.target, { recursive: true });
  const root = dryRun ? o.target : await Deno.realPath(o.target);
  if (!dryRun && !(await Deno.lstat(root)).isDirectory) {
    throw new BackupError("bad-input", `restore target ${o.target} is not a directory`);
  }

  const ensureDir = async (rel: string): Promise<string | null> => {
    if (safeDirs.has(rel)) return null;
    const parts = rel.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join("/");
      if (safeDirs.has(sub)) continue;
      if (refusedDirs.has(sub)) return `parent ${sub} was refused`;
      const abs = `${root}/${sub}`;
      const st = await Deno.lstat(abs).catch(() => null);
      if (!st) {
        if (!dryRun) await Deno.mkdir(abs, { mode: 0o700 });
      } else if (st.isSymlink) {
        refusedDirs.add(sub);
        return `${sub} is a symlink in the target; nothing is written through it`;
      } else if (!st.isDirectory) {
        refusedDirs.add(sub);
        return `${sub} exists in the target and is not a directory`;
      }
      safeDirs.add(sub);
    }
    return null;
  };
  const parentOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
  /** Removes what is at `abs` unless it is a directory; an error text when it is. */
  const clearSpot = async (abs: string): Promise<string | null> => {
    const st = await Deno.lstat(abs).catch(() => null);
    if (!st) return null;
    if (st.isDirectory) return "a directory is in the way";
    if (!dryRun) await Deno.remove(abs);
    return null;
  };

  const files = entries.filter((e) => e.type === "file");
  const total: RestoreProgress = {
    files: 0,
    filesTotal: entries.length,
    bytes: 0,
    bytesTotal: files.reduce((a, e) => a + (e.size ?? 0), 0),
    rateBytesPerSec: 0,
    etaSeconds: null,
    currentPath: null,
  };
  let lastTick = 0;
  const tick = (force = false) => {
    if (!o.onProgress) return;
    const now = performance.now();
    if (!force && now - lastTick < 250) return;
    lastTick = now;
    total.rateBytesPerSec = Math.round(total.bytes / Math.max((now - t0) / 1000, 0.001));
    total.etaSeconds = total.rateBytesPerSec > 0
      ? Math.round((total.bytesTotal - total.bytes) / total.rateBytesPerSec)
      : null;
    try {
      o.onProgress({ ...total });
    } catch { /* listener */ }
  };

  // Chunks are fetched ahead, in order, a few at a time; the same id is fetched once at a time.
  const plan: string[] = dryRun ? [] : files.flatMap((e) => (e.chunks ?? []).map((c) => c.id));
  const pending = new Map<number, Promise<Uint8Array>>();
  const byId = new Map<string, Promise<Uint8Array>>();
  let next = 0;
  const fill = () => {
    while (next < plan.length && pending.size < PREFETCH) {
      const id = plan[next];
      let p = byId.get(id);
      if (!p) {
        p = repo.getChunk(id, signal);
        byId.set(id, p);
        p.catch(() => {});
      }
      pending.set(next++, p);
    }
  };
  let cursor = 0;
  const take = async (): Promise<Uint8Array> => {
    fill();
    const p = pending.get(cursor)!;
    pending.delete(cursor);
    const id = plan[cursor++];
    const data = await p;
    // Keep a chunk only while a later slot in the window still needs it.
    let later = false;
    for (let i = cursor; i < next; i++) if (plan[i] === id) later = true;
    if (!later) byId.delete(id);
    fill();
    return data;
  };

  const restoredFiles = new Set<string>();
  const dirs: TreeEntry[] = [];
  const metaLater: { abs: string; e: TreeEntry }[] = [];
  for (const e of entries) {
    if (signal?.aborted) throw new BackupError("aborted", "restore aborted");
    total.currentPath = e.path;
    const parentErr = await ensureDir(parentOf(e.path));
    if (parentErr) {
      // The file's chunks were planned: consume them so the prefetch window stays aligned.
      if (e.type === "file" && !dryRun) { for (const _ of e.chunks ?? []) await take(); }
      refuse(e.path, parentErr);
      continue;
    }
    const abs = `${root}/${e.path}`;
    if (e.type === "dir") {
      const err = await ensureDir(e.path);
      if (err) {
        refuse(e.path, err);
        continue;
      }
      dirs.push(e);
      report.dirs++;
      wrote(e, 0);
    } else if (e.type === "file") {
      const spot = await Deno.lstat(abs).catch(() => null);
      if (spot?.isDirectory) {
        if (!dryRun) { for (const _ of e.chunks ?? []) await take(); }
        refuse(e.path, "a directory is in the way");
        continue;
      }
      if (!dryRun) {
        await writeFile(abs, e, take, (n) => {
          total.bytes += n;
          tick();
        }, canChown);
      } else total.bytes += e.size ?? 0;
      restoredFiles.add(e.path);
      report.files++;
      report.bytes += e.size ?? 0;
      wrote(e, e.size ?? 0);
    } else if (e.type === "symlink") {
      if (!o.allowEscapingSymlinks && symlinkEscapes(e.path, e.target!)) {
        refuse(e.path, `symlink to ${e.target} points outside the target`);
        continue;
      }
      const err = await clearSpot(abs);
      if (err) {
        refuse(e.path, err);
        continue;
      }
      if (!dryRun) {
        await Deno.symlink(e.target!, abs);
        if (canChown) await lchown(abs, e.uid, e.gid);
        await lutimes(abs, e.mtimeMs);
      }
      report.symlinks++;
      wrote(e, 0);
    } else if (e.type === "hardlink") {
      if (!restoredFiles.has(e.linkTo!)) {
        refuse(e.path, `hard link to ${e.linkTo}, which this restore did not write`);
        continue;
      }
      const err = await clearSpot(abs);
      if (err) {
        refuse(e.path, err);
        continue;
      }
      if (!dryRun) {
        const src = `${root}/${e.linkTo}`;
        const st = await Deno.lstat(src);
        if (!st.isFile) {
          refuse(e.path, `hard link target ${e.linkTo} is not a regular file`);
          continue;
        }
        await Deno.link(src, abs);
      }
      report.others++;
      wrote(e, 0);
    } else {
      if ((e.type === "char" || e.type === "block") && !o.allowDevices) {
        refuse(e.path, `${e.type} device refused (allowDevices is off)`);
        continue;
      }
      const err = await clearSpot(abs);
      if (err) {
        refuse(e.path, err);
        continue;
      }
      if (!dryRun) {
        const res = await makeNode(abs, e);
        if (res) {
          refuse(e.path, res);
          continue;
        }
        metaLater.push({ abs, e });
      }
      report.others++;
      wrote(e, 0);
    }
    total.files++;
    tick();
  }
  if (!dryRun) {
    for (const { abs, e } of metaLater) await setMeta(abs, e, canChown);
    // Directories last and deepest first: writing into a directory changes its mtime.
    for (const e of dirs.reverse()) await setMeta(`${root}/${e.path}`, e, canChown);
  }
  report.durationMs = Math.round(performance.now() - t0);
  total.currentPath = null;
  tick(true);
  return report;
}

/** Writes a file via an exclusive temp name in its directory, then renames it into place. */
async function writeFile(
  abs: string,
  e: TreeEntry,
  take: () => Promise<Uint8Array>,
  onBytes: (n: number) => void,
  canChown: boolean,
): Promise<void> {
  const dir = abs.slice(0, abs.lastIndexOf("/"));
  const tmp = `${dir}/.fleet-restore-${crypto.randomUUID().slice(0, 8)}`;
  const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    let pos = 0;
    let holes = false;
    for (const c of e.chunks ?? []) {
      const data = await take();
      if (data.length !== c.size) {
        throw new BackupError("integrity", `${e.path}: a chunk has the wrong size`);
      }
      // All-zero chunks become holes again (sparse files stay sparse).
      if (isAllZero(data)) {
        holes = true;
      } else {
        if (holes) await f.seek(pos, Deno.SeekMode.Start);
        let off = 0;
        while (off < data.length) off += await f.write(data.subarray(off));
        holes = false;
      }
      pos += data.length;
      onBytes(data.length);
    }
    await f.truncate(pos);
  } catch (err) {
    f.close();
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  f.close();
  await setMeta(tmp, e, canChown);
  await Deno.rename(tmp, abs);
}

async function setMeta(abs: string, e: TreeEntry, canChown: boolean): Promise<void> {
  // chown first: it clears setuid/setgid, which chmod then puts back.
  if (canChown) await Deno.chown(abs, e.uid, e.gid).catch(() => {});
  await Deno.chmod(abs, e.mode);
  const t = new Date(e.mtimeMs);
  await Deno.utime(abs, t, t);
}

async function lchown(abs: string, uid: number, gid: number): Promise<void> {
  await new Deno.Command("chown", { args: ["-h", `${uid}:${gid}`, "--", abs] }).output()
    .catch(() => {});
}

/** Creates a FIFO or device node with mknod(1); an error text when it fails. */
async function makeNode(abs: string, e: TreeEntry): Promise<string | null> {
  const rdev = e.rdev ?? 0;
  // Linux dev_t: major in bits 8–19 (and 32+), minor in bits 0–7 and 20–31.
  const major = ((rdev >> 8) & 0xfff) | Math.floor(rdev / 2 ** 32) & ~0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & ~0xff);
  const args = e.type === "fifo"
    ? [abs, "p"]
    : [abs, e.type === "char" ? "c" : "b", String(major), String(minor)];
  const out = await new Deno.Command("mknod", { args: ["-m", "600", ...args], stderr: "piped" })
    .output().catch((err) => ({ success: false, stderr: new TextEncoder().encode(String(err)) }));
  return out.success ? null : `mknod failed: ${new TextDecoder().decode(out.stderr).trim()}`;
}
