/**
 * One backup-engine run in its own process, so the `backup` phase measures its RSS alone:
 * `backup_run.ts backup|restore|putloop|getloop '<json>'`. Prints one JSON line `{"kind":"backup_run",…}`.
 *
 * @module
 */
import { backup, restore } from "../../shared/backup/mod.ts";
import type { RepoRef } from "../../shared/backup/mod.ts";
import { openS3 } from "../../shared/s3.ts";

const [mode, json] = Deno.args;
const a = JSON.parse(json) as {
  repo: RepoRef;
  root?: string;
  target?: string;
  snapshot?: string;
  prefix?: string;
};
const t0 = performance.now();
let result: Record<string, unknown> = {};
if (mode === "backup") {
  const s = await backup({ repo: a.repo, root: a.root!, host: "bench", target: "bench" });
  result = { id: s.id, stats: s.stats, status: s.status };
} else if (mode === "restore") {
  const r = await restore({ repo: a.repo, snapshot: a.snapshot!, target: a.target! });
  result = { files: r.files, bytes: r.bytes, refused: r.refused.length };
} else if (mode === "putloop") {
  // The bare baseline: the same files' bytes PUT as 4 MiB objects, 8 in flight, nothing else.
  const s3 = openS3(a.repo.s3, { concurrency: 8 });
  let bytes = 0;
  let n = 0;
  const inflight = new Set<Promise<void>>();
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      if (e.isDirectory) walk(`${d}/${e.name}`);
      else if (e.isFile) files.push(`${d}/${e.name}`);
    }
  };
  walk(a.root!);
  for (const path of files) {
    const f = await Deno.open(path);
    while (true) {
      const buf = new Uint8Array(4 * 1024 * 1024);
      let len = 0;
      while (len < buf.length) {
        const r = await f.read(buf.subarray(len));
        if (r === null) break;
        len += r;
      }
      if (len === 0) break;
      while (inflight.size >= 8) await Promise.race(inflight);
      const p: Promise<void> = s3.put(`${a.prefix}/${n++}`, buf.subarray(0, len))
        .finally(() => inflight.delete(p));
      inflight.add(p);
      bytes += len;
      if (len < buf.length) break;
    }
    f.close();
  }
  await Promise.all(inflight);
  result = { bytes, objects: n };
}
if (mode === "getloop") {
  // The restore's bare baseline: GET back the PUT loop's objects, 8 in flight, and drop them.
  const s3 = openS3(a.repo.s3, { concurrency: 8 });
  const names: string[] = [];
  for await (const o of s3.list(`${a.prefix}/`)) names.push(o.key);
  let bytes = 0;
  for (let i = 0; i < names.length; i += 8) {
    const got = await Promise.all(names.slice(i, i + 8).map((k) => s3.get(k)));
    bytes += got.reduce((n, b) => n + b.length, 0);
  }
  result = { bytes, objects: names.length };
}
console.log(JSON.stringify({
  kind: "backup_run",
  mode,
  seconds: (performance.now() - t0) / 1000,
  ...result,
}));
