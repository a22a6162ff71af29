/**
 * The backup engine on a real S3 (one Ceph RADOS Gateway for the whole file): round trip of a
 * varied tree, incremental uploads, retention and prune, malicious manifests, encryption, verify,
 * S3 failures and files changing during the backup.
 */
import assert from "node:assert/strict";
import {
  backup,
  type BackupError,
  describeRepo,
  forget,
  listSnapshots,
  prune,
  readTree,
  type RepoRef,
  restore,
  verify,
} from "../../shared/backup/mod.ts";
import { Repo } from "../../shared/backup/repo.ts";
import { chunkId } from "../../shared/backup/format.ts";
import { newSnapshotId } from "../../shared/backup/backup.ts";
import type { Manifest } from "../../shared/backup/schema.ts";
import { openS3, type S3Store } from "../../shared/s3.ts";
import { type Rgw, RGW_INSTALL, RGW_MISSING, startRgw } from "../helpers/rgw.ts";
import { startLinkProxy } from "../helpers/link_proxy.ts";

const CI = Deno.env.get("CI") === "true";
if (RGW_MISSING.length && !CI) {
  console.error(
    `\n!! SKIPPED backup engine tests: missing ${
      RGW_MISSING.join(", ")
    }; install with: ${RGW_INSTALL}\n`,
  );
}
const MB = 1024 * 1024;

/** Deterministic incompressible bytes (xorshift32). */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const w = new Uint32Array(out.buffer, 0, n >> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < w.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    w[i] = x >>> 0;
  }
  for (let i = w.length * 4; i < n; i++) out[i] = i & 0xff;
  return out;
}

async function sha(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** type, mode, mtime (ms, a symlink's own too), owner, size, content hash or link text of every path under `dir`. */
async function describe(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string) => {
    for await (const d of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      const abs = `${dir}/${p}`;
      const s = await Deno.lstat(abs);
      const mode = (s.mode! & 0o7777).toString(8);
      const base = `mode=${mode} uid=${s.uid} gid=${s.gid}`;
      if (s.isSymlink) {
        out.set(p, `link ${await Deno.readLink(abs)} mtime=${Math.floor(s.mtime!.getTime())}`);
      } else if (s.isDirectory) {
        out.set(p, `dir ${base} mtime=${Math.floor(s.mtime!.getTime())}`);
        await walk(p);
      } else if (s.isFifo) out.set(p, `fifo ${base}`);
      else {
        out.set(
          p,
          `file ${base} mtime=${Math.floor(s.mtime!.getTime())} size=${s.size} ${await sha(abs)}`,
        );
      }
    }
  };
  await walk("");
  return out;
}

/** Object keys under a prefix. */
async function keys(s3: S3Store, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of s3.list(prefix)) out.push(o.key);
  return out;
}

/** Writes a snapshot whose tree is `entries` as given (the engine never writes such trees). */
async function plant(ref: RepoRef, entries: Record<string, unknown>[]): Promise<string> {
  const repo = await Repo.open(ref, true);
  const tree = new TextEncoder().encode(entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
  const id = await chunkId(tree, repo.keys);
  await repo.putChunk(id, tree);
  const now = new Date().toISOString();
  const m: Manifest = {
    v: 1,
    id: newSnapshotId(),
    time: now,
    endTime: now,
    host: "evil",
    node: null,
    target: "planted",
    root: "/nowhere",
    paths: [],
    tags: [],
    status: "complete",
    warnings: [],
    warningsTotal: 0,
    stats: {
      files: 0,
      dirs: 0,
      symlinks: 0,
      others: 0,
      bytes: 0,
      chunks: 1,
      chunksNew: 1,
      chunksReused: 0,
      bytesUploaded: 0,
      objectsPut: 0,
      durationMs: 0,
    },
    encrypted: repo.keys !== null,
    tree: [{ id, size: tree.length }],
    entries: entries.length,
  };
  await repo.putManifest(m);
  return m.id;
}

/** A file entry whose content is stored as one chunk. */
async function fileEntry(ref: RepoRef, path: string, text: string) {
  const repo = await Repo.open(ref, true);
  const data = new TextEncoder().encode(text);
  const id = await chunkId(data, repo.keys);
  await repo.putChunk(id, data);
  return {
    path,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtimeMs: 0,
    size: data.length,
    chunks: [{ id, size: data.length }],
  };
}

async function rejects(p: Promise<unknown>, code: string, text?: RegExp): Promise<BackupError> {
  try {
    await p;
  } catch (e) {
    const be = e as BackupError;
    assert.equal(be.code, code, `expected ${code}, got ${be.code}: ${be.message}`);
    if (text) assert.match(be.message, text);
    return be;
  }
  throw new Error(`expected a ${code} failure`);
}

Deno.test({
  name: "backup engine on a real S3 (Ceph RGW)",
  ignore: RGW_MISSING.length > 0 && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const rgw: Rgw = await startRgw();
    const work = await Deno.makeTempDir({ prefix: "fleet-backup-test-" });
    try {
      const s3 = await rgw.bucket("fleet-backups");
      const ref: RepoRef = { s3: rgw.config("fleet-backups"), prefix: "nodes/n1" };
      const src = `${work}/src`;

      // A varied tree: sizes from 0 to 25 MB, symlinks, a hard link, a FIFO, modes, owners,
      // a sparse file, nested directories.
      await Deno.mkdir(`${src}/etc/fleet/conf.d`, { recursive: true });
      await Deno.mkdir(`${src}/data/deep/er/still`, { recursive: true });
      await Deno.writeFile(`${src}/data/big.bin`, noise(25 * MB, 1));
      await Deno.writeFile(`${src}/data/mid.bin`, noise(3 * MB + 17, 2));
      await Deno.writeTextFile(`${src}/data/text.log`, "line of log text\n".repeat(200_000));
      await Deno.writeFile(`${src}/data/empty`, new Uint8Array());
      await Deno.writeFile(`${src}/data/deep/er/still/one.byte`, new Uint8Array([42]));
      await Deno.writeTextFile(`${src}/etc/fleet/fleet.yml`, "hub: http://10.0.0.1:8765\n");
      await Deno.writeTextFile(`${src}/etc/fleet/conf.d/secret.env`, "TOKEN=abc\n");
      await Deno.chmod(`${src}/etc/fleet/conf.d/secret.env`, 0o600);
      await Deno.writeTextFile(`${src}/run.sh`, "#!/bin/sh\necho hi\n");
      await Deno.chmod(`${src}/run.sh`, 0o4755);
      await Deno.chmod(`${src}/etc/fleet/conf.d`, 0o750);
      await Deno.symlink("fleet.yml", `${src}/etc/fleet/current.yml`);
      await Deno.symlink("../data/big.bin", `${src}/etc/big-link`);
      await Deno.symlink("/usr/share/zoneinfo/UTC", `${src}/etc/localtime`);
      await Deno.link(`${src}/data/mid.bin`, `${src}/data/mid.hardlink`);
      await new Deno.Command("mkfifo", { args: [`${src}/data/pipe`] }).output();
      {
        const f = await Deno.open(`${src}/data/sparse.img`, { write: true, create: true });
        await f.truncate(40 * MB);
        await f.seek(10 * MB, Deno.SeekMode.Start);
        await f.write(noise(4096, 9));
        f.close();
      }
      if (Deno.uid() === 0) await Deno.chown(`${src}/etc/fleet/fleet.yml`, 1234, 5678);
      await Deno.utime(`${src}/data/text.log`, new Date("2024-02-03T04:05:06.789Z"), 1e9);
      await Deno.utime(`${src}/etc/fleet`, 1.5e9, 1.5e9);

      await t.step(
        "S3 access: range GET, stat, list, delete, presigned GET, size limit",
        async () => {
          const body = new TextEncoder().encode("0123456789abcdef");
          await s3.put("probe/a", body);
          await s3.put("probe/b", body);
          assert.equal(
            new TextDecoder().decode(await s3.get("probe/a", { offset: 4, length: 6 })),
            "456789",
          );
          assert.equal((await s3.stat("probe/a"))?.size, 16);
          assert.equal(await s3.stat("probe/none"), null);
          assert.deepEqual(await keys(s3, "probe/"), ["probe/a", "probe/b"]);
          const url = await s3.presignGet("probe/a", 60);
          assert.ok(!url.includes(rgw.secretKey), "no secret in the URL");
          const res = await fetch(url);
          assert.equal(await res.text(), "0123456789abcdef");
          await s3.delete("probe/a");
          await s3.delete("probe/a"); // a missing object is not an error
          assert.deepEqual(await keys(s3, "probe/"), ["probe/b"]);
          await assert.rejects(
            () => s3.put("probe/big", new Uint8Array(8 * MB + 1)),
            (e: Error & { kind?: string }) => e.kind === "too-large",
          );
          await s3.put("probe/max", new Uint8Array(8 * MB)); // exactly 8 MiB: one PUT
          assert.equal((await s3.stat("probe/max"))?.size, 8 * MB);
          await s3.delete("probe/max");
          await s3.delete("probe/b");
        },
      );

      let first!: Awaited<ReturnType<typeof backup>>;
      await t.step("1. back up a varied tree and restore it elsewhere, equal", async () => {
        const ticks: number[] = [];
        first = await backup({
          repo: ref,
          root: src,
          host: "n1",
          target: "custom:/src",
          tags: ["t1"],
          onProgress: (p) => ticks.push(p.bytes),
        });
        assert.equal(first.status, "complete", JSON.stringify(first.warnings));
        assert.ok(first.stats.files >= 9, `files ${first.stats.files}`);
        assert.equal(first.stats.symlinks, 3);
        assert.ok(ticks.length >= 2, "progress was reported");
        // The 40 MB sparse file is mostly zero chunks, stored once.
        assert.ok(first.stats.bytesUploaded < 40 * MB, `uploaded ${first.stats.bytesUploaded}`);
        const objs = await keys(s3, "nodes/n1/chunks/");
        assert.equal(objs.length, first.stats.chunksNew);
        for await (const o of s3.list("nodes/n1/chunks/")) {
          assert.ok(o.size <= 8 * MB, `object ${o.key} is ${o.size} bytes`);
        }

        const out = `${work}/restored`;
        const report = await restore({
          repo: ref,
          snapshot: first.id,
          target: out,
          allowEscapingSymlinks: true,
        });
        assert.deepEqual(report.refused, []);
        const [a, b] = [await describe(src), await describe(out)];
        assert.deepEqual([...b.entries()].sort(), [...a.entries()].sort());
        const [m1, m2] = [
          await Deno.stat(`${out}/data/mid.bin`),
          await Deno.stat(`${out}/data/mid.hardlink`),
        ];
        assert.equal(m1.ino, m2.ino, "hard link restored as a link");
        const sparse = await Deno.stat(`${out}/data/sparse.img`);
        assert.ok(
          sparse.blocks! * 512 < 8 * MB,
          `sparse file holes kept (${sparse.blocks} blocks)`,
        );
        assert.equal(report.ownersRestored, Deno.uid() === 0);

        // By default an absolute symlink (pointing out of the target) is refused and reported.
        const out2 = `${work}/restored2`;
        const r2 = await restore({ repo: ref, snapshot: first.id, target: out2 });
        assert.deepEqual(r2.refused.map((r) => r.path), ["etc/localtime"]);
        // A subset restore, and a dry run that writes nothing.
        const out3 = `${work}/restored3`;
        const r3 = await restore({
          repo: ref,
          snapshot: first.id,
          target: out3,
          paths: ["etc/fleet"],
        });
        assert.ok(r3.written.some((w) => w.path === "etc/fleet/conf.d/secret.env"));
        assert.equal(
          await Deno.readTextFile(`${out3}/etc/fleet/fleet.yml`),
          "hub: http://10.0.0.1:8765\n",
        );
        await assert.rejects(Deno.lstat(`${out3}/data`));
        // A hard link restored without its first path becomes a copy of the file.
        const out4 = `${work}/restored4`;
        await restore({
          repo: ref,
          snapshot: first.id,
          target: out4,
          paths: ["data/mid.hardlink"],
        });
        assert.equal(await sha(`${out4}/data/mid.hardlink`), await sha(`${src}/data/mid.bin`));
        const dry = await restore({
          repo: ref,
          snapshot: first.id,
          target: `${work}/dry`,
          dryRun: true,
          allowEscapingSymlinks: true,
        });
        assert.equal(dry.writtenTotal, report.writtenTotal);
        await assert.rejects(Deno.lstat(`${work}/dry`));

        const tree = await readTree(ref, first.id, { under: "etc", depth: 1 });
        assert.deepEqual(tree.map((e) => e.path), [
          "etc",
          "etc/big-link",
          "etc/fleet",
          "etc/localtime",
        ]);
      });

      await t.step(
        "2. incremental: an unchanged tree uploads no chunk; edits upload only new chunks",
        async () => {
          const before = (await keys(s3, "nodes/n1/")).length;
          const again = await backup({ repo: ref, root: src, host: "n1", target: "custom:/src" });
          assert.equal(again.stats.chunksNew, 0);
          assert.equal(again.stats.objectsPut, 1, "only the manifest");
          assert.equal(
            again.stats.filesUnchanged,
            first.stats.files,
            "unchanged files not re-read",
          );
          // Without the parent's file list every file is read again, and still nothing goes up.
          const full = await backup({
            repo: ref,
            root: src,
            host: "n1",
            target: "custom:/src",
            parent: false,
          });
          assert.equal(full.stats.chunksNew, 0);
          assert.equal(full.stats.filesUnchanged ?? 0, 0);
          assert.equal((await keys(s3, "nodes/n1/")).length, before + 2);

          // One small edit of mid.bin (and its hard link), 1000 bytes inserted in big.bin's middle.
          const oldBig = await Deno.readFile(`${src}/data/big.bin`);
          const oldMid = await sha(`${src}/data/mid.bin`);
          const f = await Deno.open(`${src}/data/mid.bin`, { write: true });
          await f.seek(2 * MB, Deno.SeekMode.Start);
          await f.write(new TextEncoder().encode("EDITED"));
          f.close();
          const big = new Uint8Array(oldBig.length + 1000);
          big.set(oldBig.subarray(0, 12 * MB));
          big.set(noise(1000, 77), 12 * MB);
          big.set(oldBig.subarray(12 * MB), 12 * MB + 1000);
          await Deno.writeFile(`${src}/data/big.bin`, big);

          const s3Count = openS3(ref.s3);
          const before2 = (await keys(s3Count, "nodes/n1/chunks/")).length;
          const second = await backup({ repo: ref, root: src, host: "n1", target: "custom:/src" });
          const added = (await keys(s3Count, "nodes/n1/chunks/")).length - before2;
          assert.equal(added, second.stats.chunksNew);
          // mid.bin: 1–2 chunks around the edit; big.bin: 1–3 around the insert; tree: 1–2.
          assert.ok(
            second.stats.chunksNew >= 2 && second.stats.chunksNew <= 8,
            `new ${second.stats.chunksNew}`,
          );
          assert.ok(second.stats.chunksReused >= 30, `reused ${second.stats.chunksReused}`);
          assert.ok(second.stats.bytesUploaded < 16 * MB, `uploaded ${second.stats.bytesUploaded}`);
          assert.equal(second.stats.objectsPut, second.stats.chunksNew + 1);

          const oldOut = `${work}/old`;
          const newOut = `${work}/new`;
          await restore({ repo: ref, snapshot: first.id, target: oldOut, paths: ["data"] });
          await restore({ repo: ref, snapshot: second.id, target: newOut, paths: ["data"] });
          assert.equal(await sha(`${oldOut}/data/mid.bin`), oldMid);
          assert.deepEqual(await Deno.readFile(`${oldOut}/data/big.bin`), oldBig);
          assert.equal(await sha(`${newOut}/data/mid.bin`), await sha(`${src}/data/mid.bin`));
          assert.equal(await sha(`${newOut}/data/big.bin`), await sha(`${src}/data/big.bin`));
        },
      );

      await t.step(
        "3. retention keeps what the policy says; prune never deletes a kept chunk",
        async () => {
          const rref: RepoRef = { s3: rgw.config("fleet-backups"), prefix: "retention" };
          const dir = `${work}/ret`;
          await Deno.mkdir(dir);
          await Deno.writeFile(`${dir}/shared.bin`, noise(2 * MB, 5));
          const ids: string[] = [];
          for (let i = 0; i < 4; i++) {
            await Deno.writeFile(`${dir}/gen.bin`, noise(MB, 100 + i));
            ids.push((await backup({ repo: rref, root: dir, host: "h", target: "t" })).id);
          }
          // Another target is its own retention group: untouched by keepLast 2 of target t.
          const other = await backup({ repo: rref, root: dir, host: "h", target: "other" });
          const orphan = noise(300_000, 4242);
          const repo = await Repo.open(rref, false);
          const orphanId = await chunkId(orphan, null);
          await repo.putChunk(orphanId, orphan); // a half-uploaded snapshot's leftover

          const dry = await forget({ repo: rref, policy: { keepLast: 2 }, dryRun: true });
          assert.deepEqual(dry.removed.map((d) => d.id).sort(), ids.slice(0, 2).sort());
          assert.equal((await listSnapshots(rref)).length, 5, "dry run deleted nothing");

          // A backup in progress makes prune refuse: a real one, mid-upload. It reaches S3
          // through a proxy that stalls once the upload has begun, so it is still running, its
          // lock held, however fast this machine is; prune goes straight to S3.
          await Deno.writeFile(`${dir}/late.bin`, noise(30 * MB, 31337));
          const stall = startLinkProxy(Number(new URL(rgw.endpoint).port));
          let pruneDuring: Promise<unknown> | null = null;
          let late: Awaited<ReturnType<typeof backup>>;
          try {
            late = await backup({
              repo: { ...rref, s3: { ...rref.s3, endpoint: stall.url } },
              root: dir,
              host: "busy-host",
              target: "late",
              onProgress: (p) => {
                if (p.phase === "uploading" && p.bytes > 0 && !pruneDuring) {
                  stall.shape.hold = true;
                  pruneDuring = (async () => {
                    try {
                      // Bounded: the lock was written before the upload began.
                      for (let i = 0; i < 50; i++) {
                        const locks = await repo.listLocks(null);
                        if (locks.some((l) => l.kind === "backup" && !l.stale)) break;
                        await new Promise((r) => setTimeout(r, 100));
                      }
                      return await prune({ repo: rref, graceMs: 0 }).then(() => null, (e) => e);
                    } finally {
                      stall.shape.hold = false;
                    }
                  })();
                }
              },
            });
          } finally {
            stall.shape.hold = false;
            await stall.close();
          }
          const during = (await pruneDuring!) as BackupError | null;
          assert.equal(during?.code, "repo-busy", String(during));
          assert.match(during!.message, /a backup by busy-host /);
          await repo.deleteManifest(late.id);
          await Deno.remove(`${dir}/late.bin`);
          // And a backup waits for a prune's lock, then gives up with repo-busy.
          const pl = await repo.lock("prune", "pruning-host");
          const info = await describeRepo(rref);
          assert.deepEqual(info.locks.map((l) => [l.kind, l.host, l.stale]), [[
            "prune",
            "pruning-host",
            false,
          ]]);
          assert.equal(info.encrypted, false);
          await rejects(
            backup({ repo: rref, root: dir, host: "h", target: "t", lockWaitMs: 0 }),
            "repo-busy",
            /pruning-host/,
          );
          await pl.release();

          // The default grace period keeps the young orphan.
          const graced = await forget({ repo: rref, policy: { keepLast: 2 }, prune: true });
          assert.deepEqual(graced.removed.map((d) => d.id).sort(), ids.slice(0, 2).sort());
          assert.ok(graced.prune!.chunksYoungKept >= 3, `young ${graced.prune!.chunksYoungKept}`);
          assert.ok((await repo.listChunks()).has(orphanId));

          const pruned = await prune({ repo: rref, graceMs: 0 });
          assert.ok(pruned.chunksDeleted >= 3, `deleted ${pruned.chunksDeleted}`);
          assert.ok(!(await repo.listChunks()).has(orphanId), "orphan chunk pruned");
          const left = (await listSnapshots(rref)).map((s) => s.id);
          assert.deepEqual(left.sort(), [ids[2], ids[3], other.id].sort());
          const check = await verify({ repo: rref, readDataShare: 1 });
          assert.ok(check.ok, JSON.stringify(check.problems));
          assert.equal(check.chunksRead, check.chunksReferenced);
          const out = `${work}/ret-out`;
          await restore({ repo: rref, snapshot: ids[2], target: out });
          assert.deepEqual(await Deno.readFile(`${out}/gen.bin`), noise(MB, 102));
          assert.deepEqual(await Deno.readFile(`${out}/shared.bin`), noise(2 * MB, 5));
        },
      );

      await t.step(
        "4. malicious manifests are refused; nothing is written outside the target",
        async () => {
          const mref: RepoRef = { s3: rgw.config("fleet-backups"), prefix: "evil" };
          const jail = `${work}/jail`;
          const target = `${jail}/target`;
          const outside = `${work}/outside`;
          await Deno.mkdir(outside, { recursive: true });
          await Deno.mkdir(target, { recursive: true });
          await Deno.writeTextFile(`${outside}/canary`, "untouched");
          // What exists outside the targets: the outside dir, the jail's top level, the work dir's.
          const snapshotOf = async () =>
            [
              ...(await describe(outside)).keys(),
              ...[...Deno.readDirSync(jail)].map((d) => `jail/${d.name}`),
              ...[...Deno.readDirSync(work)].map((d) => d.name),
            ].sort();
          const baseline = await snapshotOf();
          const dirE = (path: string) => ({
            path,
            type: "dir",
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtimeMs: 0,
          });

          // Invalid paths: the whole tree is refused before anything is written.
          for (const path of ["../outside/evil", "/tmp/evil-abs", "a/../../evil", "a//b", "./a"]) {
            const id = await plant(mref, [await fileEntry(mref, path, "pwned")]);
            await rejects(restore({ repo: mref, snapshot: id, target }), "bad-manifest");
          }
          const hardOut = await plant(mref, [
            await fileEntry(mref, "a", "x"),
            {
              path: "b",
              type: "hardlink",
              mode: 0o644,
              uid: 0,
              gid: 0,
              mtimeMs: 0,
              linkTo: "../outside/canary",
            },
          ]);
          await rejects(restore({ repo: mref, snapshot: hardOut, target }), "bad-manifest");

          // Valid paths that try to escape: refused entry by entry.
          const esc = await plant(mref, [
            {
              path: "abs",
              type: "symlink",
              mode: 0o777,
              uid: 0,
              gid: 0,
              mtimeMs: 0,
              target: outside,
            },
            await fileEntry(mref, "abs/evil", "through an absolute link"),
            { path: "dev", type: "char", mode: 0o666, uid: 0, gid: 0, mtimeMs: 0, rdev: 259 },
            {
              path: "hl",
              type: "hardlink",
              mode: 0o644,
              uid: 0,
              gid: 0,
              mtimeMs: 0,
              linkTo: "abs",
            },
            dirE("z"),
            {
              path: "z/up",
              type: "symlink",
              mode: 0o777,
              uid: 0,
              gid: 0,
              mtimeMs: 0,
              target: "../../../outside",
            },
            await fileEntry(mref, "z/up/evil", "through a relative link"),
          ]);
          const r = await restore({
            repo: mref,
            snapshot: esc,
            target,
            allowEscapingSymlinks: false,
          });
          assert.deepEqual(r.refused.map((x) => x.path).sort(), [
            "abs",
            "abs/evil",
            "dev",
            "hl",
            "z/up",
            "z/up/evil",
          ]);
          // Even when escaping symlinks are allowed, nothing is written through them.
          const r2 = await restore({
            repo: mref,
            snapshot: esc,
            target,
            allowEscapingSymlinks: true,
          });
          assert.deepEqual(r2.refused.map((x) => x.path).sort(), [
            "abs/evil",
            "dev",
            "hl",
            "z/up/evil",
          ]);
          assert.equal((await Deno.lstat(`${target}/abs`)).isSymlink, true);
          // A symlink already in the target is not written through either.
          await Deno.mkdir(`${jail}/t2`);
          await Deno.symlink(outside, `${jail}/t2/etc`);
          const pre = await plant(mref, [
            dirE("etc"),
            await fileEntry(mref, "etc/passwd", "root::0:0"),
          ]);
          const r3 = await restore({ repo: mref, snapshot: pre, target: `${jail}/t2` });
          assert.deepEqual(r3.refused.map((x) => x.path), ["etc", "etc/passwd"]);

          assert.equal(await Deno.readTextFile(`${outside}/canary`), "untouched");
          assert.deepEqual(
            await snapshotOf(),
            [...baseline, "jail/t2"].sort(),
            "nothing new outside",
          );
          await assert.rejects(Deno.lstat("/tmp/evil-abs"));
          for await (const d of Deno.readDir(outside)) assert.equal(d.name, "canary");
        },
      );

      await t.step(
        "9. encryption: no plaintext in the bucket, restore works, wrong key fails; verify finds a deleted chunk",
        async () => {
          const marker = "FLEET-PLAINTEXT-MARKER-0123456789";
          const dir = `${work}/enc`;
          await Deno.mkdir(dir);
          const body = noise(600_000, 31);
          const withMarker = new Uint8Array(body.length + marker.length);
          withMarker.set(body);
          withMarker.set(new TextEncoder().encode(marker), body.length);
          await Deno.writeFile(`${dir}/secret.bin`, withMarker);
          await Deno.writeTextFile(`${dir}/${marker}.txt`, "named after the marker");
          const plainRef: RepoRef = { s3: rgw.config("fleet-backups"), prefix: "plain" };
          const encRef: RepoRef = {
            ...plainRef,
            prefix: "enc",
            encryptionKey: "correct horse battery",
          };
          await backup({ repo: plainRef, root: dir, host: "h", target: "t" });
          const snap = await backup({ repo: encRef, root: dir, host: "h", target: "t" });
          assert.ok(snap.encrypted);
          const contains = async (prefix: string) => {
            const needle = new TextEncoder().encode(marker);
            for (const k of await keys(s3, prefix)) {
              const obj = await s3.get(k);
              outer: for (let i = 0; i + needle.length <= obj.length; i++) {
                for (let j = 0; j < needle.length; j++) {
                  if (obj[i + j] !== needle[j]) continue outer;
                }
                return true;
              }
            }
            return false;
          };
          assert.ok(await contains("plain/"), "the check can see plaintext");
          assert.ok(!(await contains("enc/")), "encrypted objects hold no plaintext");
          const out = `${work}/enc-out`;
          await restore({ repo: encRef, snapshot: snap.id, target: out });
          assert.deepEqual(await Deno.readFile(`${out}/secret.bin`), withMarker);
          await rejects(
            restore({
              repo: { ...encRef, encryptionKey: "wrong" },
              snapshot: snap.id,
              target: `${work}/x`,
            }),
            "wrong-key",
            /encryption key/,
          );
          await rejects(
            listSnapshots({ ...encRef, encryptionKey: undefined }),
            "encryption-mismatch",
          );
          await rejects(
            backup({
              repo: { ...plainRef, encryptionKey: "k" },
              root: dir,
              host: "h",
              target: "t",
            }),
            "encryption-mismatch",
          );
          await assert.rejects(Deno.lstat(`${work}/x`));

          assert.ok((await verify({ repo: encRef, readDataShare: 1 })).ok);
          const victim = (await keys(s3, "enc/chunks/"))[0];
          await s3.delete(victim);
          const v = await verify({ repo: encRef });
          assert.equal(v.ok, false);
          const missing = v.problems.find((p) => p.kind === "missing" || v.badManifests.length);
          assert.ok(missing || v.badManifests.length, JSON.stringify(v));
          assert.deepEqual(v.badSnapshots, [snap.id]);
          // A chunk overwritten with garbage is caught by a read-data check.
          const plainChunks = await keys(s3, "plain/chunks/");
          await s3.put(plainChunks[0], new Uint8Array([1, 0, 1, 2, 3]));
          const v2 = await verify({ repo: plainRef, readDataShare: 1 });
          assert.equal(v2.ok, false);
        },
      );

      await t.step(
        "7. wrong credentials, unreachable endpoint, missing bucket: clear errors, nothing listed",
        async () => {
          const dir = `${work}/ret`;
          const count = (await listSnapshots(ref)).length;
          const bad = await rejects(
            backup({
              repo: { ...ref, s3: { ...ref.s3, secretKey: "wrong-secret-value" } },
              root: dir,
              host: "n1",
              target: "t",
            }),
            "s3-credentials",
            /access denied/,
          );
          assert.ok(
            !bad.message.includes("wrong-secret-value") && !bad.message.includes(rgw.accessKey),
          );
          const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
          const dead = (l.addr as Deno.NetAddr).port;
          l.close();
          const e = await rejects(
            backup({
              repo: {
                ...ref,
                s3: { ...ref.s3, endpoint: `http://127.0.0.1:${dead}` },
                s3Options: { retries: 1 },
              },
              root: dir,
              host: "n1",
              target: "t",
            }),
            "s3-unreachable",
            /cannot reach/,
          );
          assert.ok(!e.message.includes(rgw.secretKey) && !e.message.includes(rgw.accessKey));
          await rejects(
            backup({
              repo: { ...ref, s3: rgw.config("no-such-bucket") },
              root: dir,
              host: "n1",
              target: "t",
            }),
            "s3-no-bucket",
            /no-such-bucket/,
          );
          // An aborted backup leaves no manifest (new content, so it has uploaded chunks by then).
          await Deno.writeFile(`${src}/data/fresh.bin`, noise(40 * MB, 999));
          const ac = new AbortController();
          const aborted = backup({
            repo: ref,
            root: src,
            host: "n1",
            target: "custom:/src",
            signal: ac.signal,
            onProgress: (p) => {
              if (p.bytes > 5 * MB) ac.abort();
            },
          });
          await rejects(aborted, "aborted");
          assert.equal((await listSnapshots(ref)).length, count);
          // Its chunks are orphans: prune removes them, every kept snapshot still verifies.
          const pr = await prune({ repo: ref, graceMs: 0 });
          assert.equal(pr.snapshots, count);
          assert.ok(pr.chunksDeleted >= 1, `deleted ${pr.chunksDeleted}`);
          const v = await verify({ repo: ref });
          assert.ok(v.ok, JSON.stringify(v.problems.slice(0, 3)));
        },
      );

      await t.step(
        "a file that changes while it is read is reported, the snapshot marked partial",
        async () => {
          const dir = `${work}/busy`;
          await Deno.mkdir(dir);
          await Deno.writeFile(`${dir}/growing.log`, noise(20 * MB, 3));
          await Deno.writeTextFile(`${dir}/calm.txt`, "calm");
          const f = await Deno.open(`${dir}/growing.log`, { append: true });
          const timer = setInterval(() => f.writeSync(new Uint8Array([10])), 1);
          try {
            const s = await backup({ repo: ref, root: dir, host: "n1", target: "busy" });
            assert.equal(s.status, "partial");
            assert.deepEqual(s.warnings.map((w) => [w.path, w.kind]), [["growing.log", "changed"]]);
            const tree = await readTree(ref, s.id);
            assert.equal(tree.find((e) => e.path === "growing.log")?.changed, true);
            assert.equal(tree.find((e) => e.path === "calm.txt")?.changed, undefined);
          } finally {
            clearInterval(timer);
            f.close();
          }
        },
      );
    } finally {
      await rgw.stop();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
