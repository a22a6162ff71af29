/**
 * Prune: delete chunks no manifest references.
 *
 * Why it is safe while another backup uploads: a running backup holds a shared lock object and
 * prune takes an exclusive one (both write first, list second, so they always see each other);
 * prune refuses (`repo-busy`) while a live backup lock exists, and a backup waits while a prune
 * lock exists. Two more guards cover a lock wrongly judged stale (a backup that stopped
 * refreshing but still runs): prune keeps unreferenced chunks younger than `graceMs` (on the
 * server's clock, so client clock skew does not matter), and a backup re-lists the bucket before
 * writing its manifest and fails rather than reference a chunk that vanished. Prune also stops
 * before deleting anything when a manifest or tree cannot be read: it never deletes a chunk
 * whose users it cannot see.
 *
 * @module
 */
import { BackupError, toBackupError } from "./errors.ts";
import { DEFAULT_STALE_LOCK_MS, Repo } from "./repo.ts";
import { loadTree } from "./tree.ts";
import type { PruneOptions, PruneReport } from "./types.ts";

/** Default grace for unreferenced chunks. */
export const DEFAULT_GRACE_MS = 60 * 60_000;

/** Every chunk id the manifests need (files and trees); throws when one cannot be read. */
export async function referencedChunks(
  repo: Repo,
  ids: string[],
  signal?: AbortSignal,
  onManifest?: (done: number) => void,
): Promise<Map<string, string[]>> {
  const refs = new Map<string, string[]>();
  const need = (id: string, snap: string) => {
    const l = refs.get(id);
    if (!l) refs.set(id, [snap]);
    else if (l[l.length - 1] !== snap) l.push(snap);
  };
  let done = 0;
  for (const id of ids) {
    const m = await repo.getManifest(id, signal);
    for (const t of m.tree) need(t.id, id);
    for (const e of await loadTree(repo, m, signal)) for (const c of e.chunks ?? []) need(c.id, id);
    onManifest?.(++done);
  }
  return refs;
}

/** See `mod.ts`. */
export async function runPrune(o: PruneOptions & { host?: string }): Promise<PruneReport> {
  const t0 = performance.now();
  const signal = o.signal;
  const grace = o.graceMs ?? DEFAULT_GRACE_MS;
  const staleMs = o.staleLockMs ?? DEFAULT_STALE_LOCK_MS;
  let repo: Repo;
  try {
    repo = await Repo.open(o.repo, false, signal);
  } catch (e) {
    throw toBackupError(e);
  }
  const host = o.host ?? Deno.hostname();
  const lock = await repo.lock("prune", host, signal).catch((e) => {
    throw toBackupError(e);
  });
  try {
    const locks = await repo.listLocks(lock.name, staleMs, signal);
    const busy = locks.find((l) => !l.mine && !l.stale);
    if (busy) {
      throw new BackupError(
        "repo-busy",
        `a ${busy.kind} by ${busy.host} (since ${busy.since}) is running; prune later`,
      );
    }
    let staleLocksRemoved = 0;
    if (!o.dryRun) {
      for (const l of locks.filter((l) => !l.mine && l.stale)) {
        await repo.s3.delete(l.key, { signal });
        staleLocksRemoved++;
      }
    }
    const serverNow = locks.find((l) => l.mine)?.serverTime.getTime() ?? Date.now();
    const ids = await repo.listManifestIds(signal);
    const refs = await referencedChunks(
      repo,
      ids,
      signal,
      (done) => o.onProgress?.({ phase: "manifests", done, total: ids.length }),
    );
    o.onProgress?.({ phase: "listing", done: 0, total: 0 });
    const chunks = await repo.listChunks(signal);
    const doomed: { id: string; size: number }[] = [];
    let young = 0;
    for (const [id, info] of chunks) {
      if (refs.has(id)) continue;
      if (serverNow - info.lastModified.getTime() < grace) young++;
      else doomed.push({ id, size: info.size });
    }
    let deleted = 0;
    let bytes = 0;
    if (!o.dryRun) {
      // The S3 store bounds concurrency; batches keep the number of pending promises small.
      for (let i = 0; i < doomed.length; i += 64) {
        if (signal?.aborted) throw new BackupError("aborted", "prune aborted");
        const batch = doomed.slice(i, i + 64);
        await Promise.all(batch.map((c) => repo.s3.delete(repo.chunkKey(c.id), { signal })));
        deleted += batch.length;
        bytes += batch.reduce((a, c) => a + c.size, 0);
        o.onProgress?.({ phase: "deleting", done: deleted, total: doomed.length });
      }
    } else {
      deleted = doomed.length;
      bytes = doomed.reduce((a, c) => a + c.size, 0);
    }
    return {
      dryRun: !!o.dryRun,
      snapshots: ids.length,
      chunksTotal: chunks.size,
      chunksReferenced: refs.size,
      chunksDeleted: deleted,
      bytesDeleted: bytes,
      chunksYoungKept: young,
      staleLocksRemoved,
      durationMs: Math.round(performance.now() - t0),
    };
  } catch (e) {
    throw toBackupError(e);
  } finally {
    await lock.release();
  }
}
