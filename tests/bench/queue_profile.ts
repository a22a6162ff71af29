/**
 * CPU profiles of job claims, to see where a claim's time goes:
 * `deno run --allow-all tests/bench/queue_profile.ts [--jobs 10000] [--target http|inproc|both]`.
 *
 * - `http`: the hub (`hub/main.ts serve`) under `deno run --cpu-prof`, driven by
 *   `queue_client.ts` (enqueue through `POST /api/v1/jobs`, then 16 node workers claiming and
 *   completing until the queue is empty); the hub is stopped with SIGTERM (the profile is written
 *   at exit) and the functions with the most self and inclusive time inside the claim window are
 *   printed, with the hub's idle share (`(idle)`: waiting for I/O or the group-commit timer).
 * - `inproc`: `queue_inproc.ts --mode hub` under `--cpu-prof`, the whole run.
 *
 * The `.cpuprofile` files stay in `tests/bench/out/queue-prof-<timestamp>/` for Chrome DevTools.
 *
 * @module
 */
import { analyzeProfile, type Profile } from "./cpu_profile.ts";
import { join } from "node:path";
import { Child } from "../helpers/process.ts";
import { startHub } from "../helpers/hub.ts";
import { BENCH_DIR, parseFlags } from "./common.ts";
import type { QueueLoadConfig, QueueLoadResult } from "./queue_client.ts";
import type { QueueInprocResult } from "./queue_inproc.ts";

const flags = parseFlags(Deno.args);
const jobs = Number(flags.get("jobs") ?? 10_000);
const target = flags.get("target") ?? "both";
const WORKERS = 16;

function print(title: string, a: ReturnType<typeof analyzeProfile>): void {
  console.log(`\n${title}, ${a.total_ms} ms sampled; self time:`);
  for (const l of a.self) console.log(l);
  console.log("\ninclusive time:");
  for (const l of a.inclusive) console.log(l);
}

async function readProfile(dir: string): Promise<{ profile: Profile; file: string }> {
  const e = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".cpuprofile"));
  if (!e) throw new Error(`no .cpuprofile written in ${dir}`);
  const file = join(dir, e.name);
  return { profile: JSON.parse(await Deno.readTextFile(file)) as Profile, file };
}

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const outDir = join(BENCH_DIR, "out", `queue-prof-${stamp}`);
await Deno.mkdir(outDir, { recursive: true });

async function profileHttp(): Promise<void> {
  const profDir = join(outDir, "http");
  await Deno.mkdir(profDir);
  const hub = await startHub({ denoFlags: ["--cpu-prof", `--cpu-prof-dir=${profDir}`] });
  const dataDir = hub.dataDir;
  let client: Child | undefined;
  try {
    const url = hub.url;
    const admin = hub.admin;
    const nodes: { id: string; token: string }[] = [];
    for (let i = 0; i < WORKERS; i++) {
      const id = `bench-q-${String(i + 1).padStart(2, "0")}`;
      nodes.push({ id, token: (await admin.createToken({ kind: "node", node_id: id })).token });
    }
    const cfg: QueueLoadConfig = {
      url,
      adminToken: hub.adminToken,
      hubPid: hub.child.proc.pid,
      nodes,
      jobs,
      enqueueConcurrency: WORKERS,
      enqueueMaxMs: 60_000,
      claimMaxMs: 60_000,
    };
    const file = join(profDir, "queue.json");
    await Deno.writeTextFile(file, JSON.stringify(cfg));
    client = new Child(Deno.execPath(), [
      "run",
      "--allow-all",
      join(BENCH_DIR, "queue_client.ts"),
      file,
    ]);
    const timer = setTimeout(() => client?.stop("SIGKILL", 0), 180_000);
    await client.status;
    clearTimeout(timer);
    const resultLine = client.stdout.find((l) => l.startsWith('{"kind":"queue-load"'));
    if (!resultLine) throw new Error(`no queue result:\n${client.stderr.slice(-10).join("\n")}`);
    const r = JSON.parse(resultLine) as QueueLoadResult;
    console.log(
      `HTTP: ${r.claims_per_s} claims/s (${r.claims} claims), claim p50 ` +
        `${r.claim_latency_ms.p50} ms, p99 ${r.claim_latency_ms.p99} ms, hub CPU ` +
        `${r.hub_cpu_pct}%, ${r.writes_per_commit} writes/commit; enqueue ` +
        `${r.enqueue.jobs_per_s} jobs/s`,
    );
    const stopWall = Date.now();
    await hub.stop();
    const { profile, file: profFile } = await readProfile(profDir);
    // The profile clock is monotonic µs and ends at the stop: map the claim window back.
    const to = profile.endTime - (stopWall - r.claim_window[1]) * 1000;
    const from = to - (r.claim_window[1] - r.claim_window[0]) * 1000;
    print("hub main thread during the HTTP claim window", analyzeProfile(profile, from, to, 40));
    console.log(`\nprofile: ${profFile}`);
  } finally {
    await client?.stop();
    await hub.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

async function profileInproc(): Promise<void> {
  const profDir = join(outDir, "inproc");
  await Deno.mkdir(profDir);
  const dataDir = await Deno.makeTempDir({ prefix: "fleet-qprof-inproc-" });
  const child = new Child(Deno.execPath(), [
    "run",
    "--allow-all",
    "--cpu-prof",
    `--cpu-prof-dir=${profDir}`,
    join(BENCH_DIR, "queue_inproc.ts"),
    "--mode",
    "hub",
    "--db",
    join(dataDir, "queue.db"),
    "--jobs",
    String(jobs),
    "--workers",
    String(WORKERS),
  ]);
  try {
    const timer = setTimeout(() => child.stop("SIGKILL", 0), 180_000);
    await child.status;
    clearTimeout(timer);
    const line = child.stdout.find((l) => l.startsWith('{"kind":"queue-inproc"'));
    if (!line) throw new Error(`no in-process result:\n${child.stderr.slice(-10).join("\n")}`);
    const r = JSON.parse(line) as QueueInprocResult;
    console.log(
      `in-process: ${r.claims_per_s} claims/s, p50 ${r.latency_ms.p50} ms, p99 ` +
        `${r.latency_ms.p99} ms; ${JSON.stringify(r.group_commit)}`,
    );
    const { profile, file } = await readProfile(profDir);
    print(
      "queue_inproc.ts, whole run",
      analyzeProfile(profile, profile.startTime, profile.endTime, 40),
    );
    console.log(`\nprofile: ${file}`);
  } finally {
    await child.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (target === "inproc" || target === "both") await profileInproc();
if (target === "http" || target === "both") await profileHttp();
