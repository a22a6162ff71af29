/**
 * The `backup` phase: the backup engine on a real S3 (Ceph RGW on loopback, in memory). A
 * generated tree (`FLEET_BENCH_BACKUP_MB`, default 1024; half incompressible like binaries and
 * models, half text-like; files of 32 MiB, 1 MiB and 16 KiB) is backed up twice (first run, then
 * unchanged), restored elsewhere, and set next to two baselines measured in the same run:
 * `tar | gzip` of the same tree to /dev/null (local CPU cost of compressing it), a plain S3 PUT
 * loop of the same bytes as 4 MiB objects, 8 in flight (what the S3 endpoint takes), and a GET
 * loop reading them back (the restore's baseline). Each
 * engine run is its own process (`backup_run.ts`) whose peak RSS is sampled every 100 ms.
 *
 * @module
 */
import type { Json, Row, RowFormat } from "./common.ts";
import { readRss, round } from "./common.ts";
import type { PhaseContext } from "./context.ts";
import { RGW_INSTALL, RGW_MISSING, startRgw } from "../helpers/rgw.ts";
import type { Child } from "../helpers/process.ts";

const MIB = 1024 * 1024;

/** One measured run. */
export interface BackupRun {
  seconds: number;
  mb_per_s: number;
  rss_peak_mb?: number;
  uploaded_mb?: number;
  chunks_new?: number;
  chunks_reused?: number;
}

/** What the phase stores under `out.backup`. */
export interface BackupPhaseResult {
  tree_mb: number;
  files: number;
  first: BackupRun;
  rerun: BackupRun;
  restore: BackupRun;
  tar_gzip: BackupRun & { out_mb: number };
  put_loop: BackupRun;
  get_loop: BackupRun;
}

/** Fills `dir` with about `mb` MiB; returns the file count. */
async function makeTree(dir: string, mb: number): Promise<number> {
  let x = 2463534242;
  const fill = (buf: Uint8Array, text: boolean) => {
    if (text) {
      // Log-like lines with varying numbers: compresses ~4–6×, like configs and logs.
      const enc = new TextEncoder();
      let o = 0;
      while (o < buf.length) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const line = enc.encode(
          `2026-12-06T01:${(x >>> 0) % 60} node=${(x >>> 8) % 512} gpu=${(x >>> 3) % 100}% ok\n`,
        );
        const n = Math.min(line.length, buf.length - o);
        buf.set(line.subarray(0, n), o);
        o += n;
      }
      return;
    }
    const w = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
    for (let i = 0; i < w.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      w[i] = x >>> 0;
    }
  };
  const total = mb * MIB;
  const plan: [number, number][] = [[32 * MIB, total * 0.5], [MIB, total * 0.3], [
    16 * 1024,
    total * 0.2,
  ]];
  let files = 0;
  for (const [size, budget] of plan) {
    const count = Math.max(1, Math.round(budget / size));
    const sub = `${dir}/s${size}`;
    await Deno.mkdir(sub, { recursive: true });
    const buf = new Uint8Array(size);
    for (let i = 0; i < count; i++) {
      if (i % 100 === 0) await Deno.mkdir(`${sub}/d${i / 100}`, { recursive: true });
      fill(buf, i % 2 === 1);
      await Deno.writeFile(`${sub}/d${Math.floor(i / 100)}/f${i}`, buf);
      files++;
    }
  }
  return files;
}

/** Waits for a `backup_run.ts` child while sampling its RSS; returns its result and peak. */
async function measured(
  ctx: PhaseContext,
  child: Child,
): Promise<{ r: Record<string, unknown> & { seconds: number }; rssPeak: number }> {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, readRss(child.proc.pid) ?? 0);
  }, 100);
  try {
    const r = await ctx.resultOf<Record<string, unknown> & { seconds: number }>(
      child,
      "backup_run",
      20 * 60_000,
    );
    return { r, rssPeak: peak };
  } finally {
    clearInterval(timer);
  }
}

/** Runs the phase into `out.backup` (skips with a note when Ceph is not installed). */
export async function backupPhase(ctx: PhaseContext, out: Json): Promise<void> {
  if (RGW_MISSING.length) {
    ctx.log(`backup: SKIPPED, missing ${RGW_MISSING.join(", ")} (${RGW_INSTALL})`);
    out.backup = { skipped: `missing ${RGW_MISSING.join(", ")}` };
    return;
  }
  const mb = Number(Deno.env.get("FLEET_BENCH_BACKUP_MB") ?? (ctx.quick ? 256 : 1024));
  const dir = await ctx.tempDir("fleet-bench-backup-");
  ctx.log(`backup: generating a ${mb} MiB tree`);
  const files = await makeTree(`${dir}/tree`, mb);
  ctx.log("backup: starting Ceph RGW");
  const rgw = await startRgw();
  try {
    await rgw.bucket("bench");
    const repo = { s3: rgw.config("bench"), prefix: "repo" };
    const run = (mode: string, args: Record<string, unknown>) =>
      measured(ctx, ctx.script("backup_run.ts", [mode, JSON.stringify({ repo, ...args })]));
    const rate = (s: number) => round(mb / Math.max(s, 0.001), 1);

    ctx.log("backup: first run");
    const a = await run("backup", { root: `${dir}/tree` });
    const sa = a.r.stats as Record<string, number>;
    ctx.log("backup: unchanged re-run");
    const b = await run("backup", { root: `${dir}/tree` });
    const sb = b.r.stats as Record<string, number>;
    ctx.log("backup: restore");
    const c = await run("restore", { snapshot: a.r.id, target: `${dir}/restored` });
    await Deno.remove(`${dir}/restored`, { recursive: true }).catch(() => {});

    ctx.log("backup: baseline tar | gzip > /dev/null");
    const t0 = performance.now();
    const tar = await new Deno.Command("bash", {
      args: ["-c", `tar -C '${dir}/tree' -cf - . | gzip | wc -c`],
      stdout: "piped",
    }).output();
    const tarSecs = (performance.now() - t0) / 1000;
    const tarOut = Number(new TextDecoder().decode(tar.stdout).trim());

    ctx.log("backup: baseline plain S3 PUT loop");
    const p = await run("putloop", { root: `${dir}/tree`, prefix: "putloop" });
    ctx.log("backup: baseline plain S3 GET loop");
    const g = await run("getloop", { prefix: "putloop" });

    const r: BackupPhaseResult = {
      tree_mb: mb,
      files,
      first: {
        seconds: round(a.r.seconds, 2),
        mb_per_s: rate(a.r.seconds),
        rss_peak_mb: round(a.rssPeak / MIB, 0),
        uploaded_mb: round(sa.bytesUploaded / MIB, 1),
        chunks_new: sa.chunksNew,
        chunks_reused: sa.chunksReused,
      },
      rerun: {
        seconds: round(b.r.seconds, 2),
        mb_per_s: rate(b.r.seconds),
        rss_peak_mb: round(b.rssPeak / MIB, 0),
        uploaded_mb: round(sb.bytesUploaded / MIB, 1),
        chunks_new: sb.chunksNew,
        chunks_reused: sb.chunksReused,
      },
      restore: {
        seconds: round(c.r.seconds, 2),
        mb_per_s: rate(c.r.seconds),
        rss_peak_mb: round(c.rssPeak / MIB, 0),
      },
      tar_gzip: {
        seconds: round(tarSecs, 2),
        mb_per_s: rate(tarSecs),
        out_mb: round(tarOut / MIB, 1),
      },
      put_loop: {
        seconds: round(p.r.seconds, 2),
        mb_per_s: rate(p.r.seconds),
        rss_peak_mb: round(p.rssPeak / MIB, 0),
      },
      get_loop: {
        seconds: round(g.r.seconds, 2),
        mb_per_s: rate(g.r.seconds),
        rss_peak_mb: round(g.rssPeak / MIB, 0),
      },
    };
    out.backup = r as unknown as Json;
    ctx.log(`backup: ${JSON.stringify(r)}`);
  } finally {
    await rgw.stop();
  }
}

/** The phase's table rows. */
export function backupRows(r: BackupPhaseResult | undefined, f: RowFormat): Row[] {
  if (!r || !("first" in r)) return [];
  const base = `${f.fmt(r.tar_gzip.mb_per_s, 1)} tar|gzip, ${
    f.fmt(r.put_loop.mb_per_s, 1)
  } PUT loop`;
  return [
    {
      metric:
        `backup of a ${r.tree_mb} MiB tree, first run, MB/s (peak RSS ${r.first.rss_peak_mb} MB)`,
      measured: f.fmt(r.first.mb_per_s, 1),
      baseline: base,
      ratio: f.ratio(r.first.mb_per_s, Math.min(r.tar_gzip.mb_per_s, r.put_loop.mb_per_s)),
      target: "-",
      met: "-",
    },
    {
      metric: `backup, unchanged re-run, MB/s (${r.rerun.chunks_new} new chunks)`,
      measured: f.fmt(r.rerun.mb_per_s, 1),
      baseline: `${f.fmt(r.tar_gzip.mb_per_s, 1)} tar|gzip`,
      ratio: f.ratio(r.rerun.mb_per_s, r.tar_gzip.mb_per_s),
      target: "-",
      met: "-",
    },
    {
      metric: `restore of the same tree, MB/s (peak RSS ${r.restore.rss_peak_mb} MB)`,
      measured: f.fmt(r.restore.mb_per_s, 1),
      baseline: `${f.fmt(r.get_loop?.mb_per_s, 1)} GET loop`,
      ratio: f.ratio(r.restore.mb_per_s, r.get_loop?.mb_per_s),
      target: "-",
      met: "-",
    },
  ];
}
