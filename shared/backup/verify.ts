/**
 * Verify (restic `check`): every chunk the snapshots reference exists in the bucket; with a
 * read-data share, a random sample of them is downloaded, decrypted and re-hashed.
 *
 * @module
 */
import { BackupError, toBackupError } from "./errors.ts";
import { Repo } from "./repo.ts";
import { loadTree } from "./tree.ts";
import type { VerifyOptions, VerifyProblem, VerifyReport } from "./types.ts";

/** See `mod.ts`. */
export async function runVerify(o: VerifyOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  const share = o.readDataShare ?? 0;
  if (!(share >= 0 && share <= 1)) {
    throw new BackupError("bad-input", "readDataShare must be between 0 and 1");
  }
  try {
    const repo = await Repo.open(o.repo, false, o.signal);
    const all = await repo.listManifestIds(o.signal);
    const ids = o.snapshots?.length ? o.snapshots : all;
    for (const id of ids) {
      if (!all.includes(id)) throw new BackupError("not-found", `no snapshot ${id}`);
    }
    const existing = await repo.listChunks(o.signal);
    const refs = new Map<string, Set<string>>();
    const badManifests: { id: string; message: string }[] = [];
    let done = 0;
    for (const id of ids) {
      o.onProgress?.({ phase: "listing", done: done++, total: ids.length });
      const need = (c: string) => {
        const s = refs.get(c);
        if (s) s.add(id);
        else refs.set(c, new Set([id]));
      };
      try {
        const m = await repo.getManifest(id, o.signal);
        m.tree.forEach((t) => need(t.id));
        for (const e of await loadTree(repo, m, o.signal)) e.chunks?.forEach((c) => need(c.id));
      } catch (e) {
        const be = toBackupError(e);
        if (!["bad-manifest", "integrity", "not-found"].includes(be.code)) throw be;
        badManifests.push({ id, message: be.message });
      }
    }
    const problems: VerifyProblem[] = [];
    let problemsTotal = 0;
    const bad = new Set<string>(badManifests.map((b) => b.id));
    const report = (p: VerifyProblem) => {
      problemsTotal++;
      if (problems.length < 1000) problems.push(p);
      p.snapshots.forEach((s) => bad.add(s));
    };
    const present: string[] = [];
    for (const [id, snaps] of refs) {
      if (!existing.has(id)) {
        report({ chunk: id, kind: "missing", snapshots: [...snaps], message: "not in the bucket" });
      } else present.push(id);
    }
    // A random sample of the present chunks (Fisher–Yates prefix).
    const n = Math.min(present.length, Math.ceil(present.length * share));
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(Math.random() * (present.length - i));
      [present[i], present[j]] = [present[j], present[i]];
    }
    let chunksRead = 0;
    let bytesRead = 0;
    const sample = present.slice(0, n);
    for (let i = 0; i < sample.length; i += 8) {
      await Promise.all(
        sample.slice(i, i + 8).map(async (id) => {
          try {
            const data = await repo.getChunk(id, o.signal);
            bytesRead += data.length;
          } catch (e) {
            const be = toBackupError(e);
            if (be.code !== "integrity") throw be;
            report({
              chunk: id,
              kind: "corrupt",
              snapshots: [...refs.get(id)!],
              message: be.message,
            });
          }
          chunksRead++;
        }),
      );
      o.onProgress?.({ phase: "reading", done: chunksRead, total: sample.length });
    }
    return {
      ok: problemsTotal === 0 && badManifests.length === 0,
      snapshots: ids.length,
      chunksReferenced: refs.size,
      chunksRead,
      bytesRead,
      problems,
      problemsTotal,
      badSnapshots: [...bad].sort(),
      badManifests,
      durationMs: Math.round(performance.now() - t0),
    };
  } catch (e) {
    throw toBackupError(e);
  }
}
