/**
 * One backup run: lock, list the chunks the bucket holds, scan, read and chunk every file,
 * upload only new chunks (bounded in flight), write the tree, check that every chunk the snapshot
 * needs is still there, and write the manifest last — so a run that dies half-way leaves only
 * orphan chunks (removed by the next prune after its grace period) and no listed snapshot.
 *
 * @module
 */
import { chunkBuffer, chunkStream } from "./chunker.ts";
import { BackupError, toBackupError } from "./errors.ts";
import { chunkId } from "./format.ts";
import { type Lock, Repo } from "./repo.ts";
import type { Manifest } from "./schema.ts";
import { loadTree, treeChunks } from "./tree.ts";
import { scan, type ScanEntry } from "./walk.ts";
import type {
  BackupOptions,
  BackupProgress,
  BackupWarning,
  ChunkRef,
  SnapshotStats,
  SnapshotSummary,
  TreeEntry,
} from "./types.ts";

/** Chunk uploads in flight at once, and their bytes, before reading waits. */
const MAX_INFLIGHT = 8;
const MAX_INFLIGHT_BYTES = 32 * 1024 * 1024;
/** Extra reads of a file that changed while being read, before it is reported as changed. */
const REREADS = 2;

/** A new snapshot id: UTC time (sorts by age) and 8 random hex digits. */
export function newSnapshotId(d = new Date()): string {
  const t = d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const r = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return `${t}-${r}`;
}

/** Waits for a running prune to finish, holding our shared lock; `repo-busy` after `waitMs`. */
async function takeBackupLock(
  repo: Repo,
  host: string,
  waitMs: number,
  signal?: AbortSignal,
): Promise<Lock> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0;; attempt++) {
    const lock = await repo.lock("backup", host, signal);
    let prune;
    try {
      prune = (await repo.listLocks(lock.name, undefined, signal))
        .find((l) => l.kind === "prune" && !l.stale);
    } catch (e) {
      await lock.release();
      throw e;
    }
    if (!prune) return lock;
    await lock.release();
    if (Date.now() >= deadline) {
      throw new BackupError(
        "repo-busy",
        `a prune by ${prune.host} (since ${prune.since}) holds the repository; try again later`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(2000 * (attempt + 1), 10_000)));
    if (signal?.aborted) throw new BackupError("aborted", "backup aborted");
  }
}

/** See `mod.ts`. */
export async function runBackup(o: BackupOptions): Promise<SnapshotSummary> {
  const started = new Date();
  const t0 = performance.now();
  const signal = o.signal;
  if (!o.root.startsWith("/")) throw new BackupError("bad-input", "root must be an absolute path");
  const rootStat = await Deno.stat(o.root).catch(() => null);
  if (!rootStat?.isDirectory) {
    throw new BackupError("bad-input", `root ${o.root} is not a directory`);
  }
  if (!o.target || o.target.length > 1024) {
    throw new BackupError("bad-input", "target must be a name of 1–1024 characters");
  }
  const repo = await Repo.open(o.repo, true, signal);
  const lock = await takeBackupLock(repo, o.host, o.lockWaitMs ?? 10 * 60_000, signal)
    .catch((e) => {
      throw toBackupError(e);
    });
  try {
    return await backupLocked(o, repo, started, t0);
  } catch (e) {
    throw toBackupError(e);
  } finally {
    await lock.release();
  }
}

async function backupLocked(
  o: BackupOptions,
  repo: Repo,
  started: Date,
  t0: number,
): Promise<SnapshotSummary> {
  const signal = o.signal;
  const warnings: BackupWarning[] = [];
  const stats: SnapshotStats = {
    files: 0,
    dirs: 0,
    symlinks: 0,
    others: 0,
    bytes: 0,
    chunks: 0,
    chunksNew: 0,
    chunksReused: 0,
    bytesUploaded: 0,
    objectsPut: 0,
    durationMs: 0,
  };
  const progress: BackupProgress = {
    phase: "scanning",
    files: 0,
    filesTotal: null,
    bytes: 0,
    bytesTotal: null,
    chunksNew: 0,
    chunksReused: 0,
    bytesUploaded: 0,
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
    const secs = Math.max((now - t0) / 1000, 0.001);
    progress.rateBytesPerSec = Math.round(progress.bytes / secs);
    progress.chunksNew = stats.chunksNew;
    progress.chunksReused = stats.chunksReused;
    progress.bytesUploaded = stats.bytesUploaded;
    progress.etaSeconds = progress.bytesTotal !== null && progress.rateBytesPerSec > 0
      ? Math.round((progress.bytesTotal - progress.bytes) / progress.rateBytesPerSec)
      : null;
    try {
      o.onProgress({ ...progress });
    } catch { /* a listener's failure is not the backup's */ }
  };

  // What the bucket holds now: a chunk listed here is not uploaded again.
  const existing = await repo.listChunks(signal);
  const parent = await findParent(repo, o, signal);
  const parentFiles = new Map<string, TreeEntry>();
  if (parent) {
    for (const e of await loadTree(repo, parent, signal)) {
      if (e.type === "file" && !e.changed && e.ctimeMs !== undefined && e.ino !== undefined) {
        parentFiles.set(e.path, e);
      }
    }
  }
  const buffer = chunkBuffer(repo.chunker);
  const scanned = await scan(o.root, o.paths, o.exclude, warnings, () => {
    progress.files++;
    tick();
  }, signal);
  progress.phase = "uploading";
  progress.filesTotal = scanned.length;
  progress.bytesTotal = scanned.reduce((a, e) => a + (e.type === "file" ? e.size ?? 0 : 0), 0);
  progress.files = 0;
  tick(true);

  const seen = new Set<string>();
  const inflight = new Set<Promise<void>>();
  let inflightBytes = 0;
  let uploadError: unknown = null;
  const referenced = new Set<string>();
  const submit = async (id: string, data: Uint8Array) => {
    stats.chunks++;
    referenced.add(id);
    if (existing.has(id) || seen.has(id)) {
      stats.chunksReused++;
      return;
    }
    seen.add(id);
    stats.chunksNew++;
    while (!uploadError && (inflight.size >= MAX_INFLIGHT || inflightBytes > MAX_INFLIGHT_BYTES)) {
      await Promise.race(inflight);
    }
    if (uploadError) throw uploadError;
    inflightBytes += data.length;
    const p: Promise<void> = repo.putChunk(id, data, signal).then(
      (n) => {
        stats.bytesUploaded += n;
        stats.objectsPut++;
      },
      (e) => {
        uploadError ??= e;
      },
    ).finally(() => {
      inflight.delete(p);
      inflightBytes -= data.length;
    });
    inflight.add(p);
  };

  const entries: TreeEntry[] = [];
  for (const e of scanned) {
    if (signal?.aborted) throw new BackupError("aborted", "backup aborted");
    if (uploadError) throw uploadError;
    progress.currentPath = e.path;
    const pe = e.type === "file" ? parentFiles.get(e.path) : undefined;
    if (
      pe && pe.size === e.size && pe.mtimeMs === e.mtimeMs && pe.ctimeMs === e.ctimeMs &&
      pe.ino === e.ino && pe.chunks!.every((c) => existing.has(c.id))
    ) {
      // Unchanged since the parent snapshot (size, mtime, ctime, inode): its chunks, unread.
      for (const c of pe.chunks!) await submit(c.id, new Uint8Array());
      stats.files++;
      stats.filesUnchanged = (stats.filesUnchanged ?? 0) + 1;
      stats.bytes += e.size ?? 0;
      progress.bytes += e.size ?? 0;
      entries.push({ ...plain(e), chunks: pe.chunks, ino: e.ino });
    } else if (e.type === "file") {
      const done = await readFile(e, repo, submit, warnings, signal, buffer, (n) => {
        progress.bytes += n;
        tick();
      });
      if (!done) continue;
      stats.files++;
      stats.bytes += done.size ?? 0;
      entries.push(done);
    } else {
      if (e.type === "dir") stats.dirs++;
      else if (e.type === "symlink") stats.symlinks++;
      else stats.others++;
      entries.push(plain(e));
    }
    progress.files++;
    tick();
  }
  // Hard links whose first path vanished or was unreadable become unlinked: drop them.
  const filePaths = new Set(entries.filter((e) => e.type === "file").map((e) => e.path));
  const kept = entries.filter((e) => e.type !== "hardlink" || filePaths.has(e.linkTo!));
  for (const e of entries) {
    if (e.type === "hardlink" && !filePaths.has(e.linkTo!)) {
      warnings.push({ path: e.path, kind: "vanished", message: "its link target was not saved" });
    }
  }

  progress.phase = "finishing";
  progress.currentPath = null;
  tick(true);
  const tree: ChunkRef[] = [];
  for await (const c of treeChunks(repo, kept)) {
    tree.push({ id: c.id, size: c.data.length });
    await submit(c.id, c.data);
  }
  await Promise.all(inflight);
  if (uploadError) throw uploadError;

  // A chunk that existed at the start may have gone since (a prune that judged this backup's
  // lock stale): never write a manifest that needs a missing chunk.
  const now = await repo.listChunks(signal);
  const missing = [...referenced].filter((id) => !now.has(id));
  if (missing.length) {
    throw new BackupError(
      "integrity",
      `${missing.length} chunk(s) vanished from the bucket during the backup; run it again`,
    );
  }

  const endTime = new Date();
  stats.durationMs = Math.round(performance.now() - t0);
  stats.objectsPut++; // the manifest
  const m: Manifest = {
    v: 1,
    id: newSnapshotId(started),
    time: started.toISOString(),
    endTime: endTime.toISOString(),
    host: o.host,
    node: o.node ?? null,
    target: o.target,
    root: o.root,
    paths: o.paths ?? [],
    tags: o.tags ?? [],
    status: warnings.some((w) => w.kind !== "skipped-type") ? "partial" : "complete",
    warnings: warnings.slice(0, 100),
    warningsTotal: warnings.length,
    stats,
    encrypted: repo.keys !== null,
    tree,
    entries: kept.length,
    parent: parent?.id ?? null,
  };
  await repo.putManifest(m, signal);
  progress.bytesUploaded = stats.bytesUploaded;
  tick(true);
  return toSummary(m);
}

/** The manifest without its tree references. */
export function toSummary(m: Manifest): SnapshotSummary {
  const { tree: _t, entries: _e, v: _v, parent: _p, ...rest } = m;
  return rest;
}

/**
 * The parent snapshot: the one named, or the newest of the same host, target and root (manifest
 * ids sort by time, so the search reads manifests newest first and stops at the first match).
 */
async function findParent(
  repo: Repo,
  o: BackupOptions,
  signal?: AbortSignal,
): Promise<Manifest | null> {
  if (o.parent === false) return null;
  if (typeof o.parent === "string") return await repo.getManifest(o.parent, signal);
  const ids = await repo.listManifestIds(signal);
  for (let i = ids.length - 1; i >= 0 && i >= ids.length - 200; i--) {
    const m = await repo.getManifest(ids[i], signal).catch(() => null);
    if (m && m.host === o.host && m.target === o.target && m.root === o.root) return m;
  }
  return null;
}

function plain(e: ScanEntry): TreeEntry {
  const { abs: _a, dev: _d, ino: _i, nlink: _n, ...rest } = e;
  return rest;
}

/**
 * Reads and chunks one file. A file whose size, mtime, ctime or inode moved while it was read is
 * read again (up to {@link REREADS} times); if it still moves, the last read is kept, marked
 * `changed` and reported. Null when the file vanished or cannot be read.
 */
async function readFile(
  e: ScanEntry,
  repo: Repo,
  submit: (id: string, data: Uint8Array) => Promise<void>,
  warnings: BackupWarning[],
  signal: AbortSignal | undefined,
  buffer: Uint8Array,
  onBytes: (n: number) => void,
): Promise<TreeEntry | null> {
  for (let attempt = 0;; attempt++) {
    let f: Deno.FsFile;
    try {
      f = await Deno.open(e.abs, { read: true });
    } catch (err) {
      const gone = err instanceof Deno.errors.NotFound;
      warnings.push({
        path: e.path,
        kind: gone ? "vanished" : "unreadable",
        message: gone ? "removed before it was read" : (err as Error).message,
      });
      return null;
    }
    try {
      const before = await f.stat();
      if (!before.isFile) {
        warnings.push({ path: e.path, kind: "vanished", message: "replaced by a non-file" });
        return null;
      }
      const chunks: ChunkRef[] = [];
      let size = 0;
      for await (const data of chunkStream(f, repo.gear, repo.chunker, buffer)) {
        if (signal?.aborted) throw new BackupError("aborted", "backup aborted");
        const id = await chunkId(data, repo.keys);
        chunks.push({ id, size: data.length });
        size += data.length;
        onBytes(data.length);
        await submit(id, data);
      }
      const after = await f.stat();
      const moved = after.size !== before.size || size !== before.size ||
        after.mtime?.getTime() !== before.mtime?.getTime() ||
        after.ctime?.getTime() !== before.ctime?.getTime() || after.ino !== before.ino;
      const entry: TreeEntry = {
        path: e.path,
        type: "file",
        mode: (before.mode ?? 0o644) & 0o7777,
        uid: before.uid ?? 0,
        gid: before.gid ?? 0,
        mtimeMs: before.mtime?.getTime() ?? 0,
        size,
        chunks,
        ctimeMs: before.ctime?.getTime() ?? 0,
        ino: before.ino ?? 0,
      };
      if (!moved) return entry;
      if (attempt < REREADS) continue;
      warnings.push({
        path: e.path,
        kind: "changed",
        message: `changed while being read (${REREADS + 1} tries); saved content may be torn`,
      });
      return { ...entry, changed: true };
    } catch (err) {
      if (err instanceof BackupError) throw err;
      if (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.IsADirectory) {
        warnings.push({ path: e.path, kind: "unreadable", message: (err as Error).message });
        return null;
      }
      throw err;
    } finally {
      f.close();
    }
  }
}
