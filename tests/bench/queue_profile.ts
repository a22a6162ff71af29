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
import { analyzeProfile, readProfile } from "./cpu_profile.ts";
import { join } from "node:path";
import type { Child } from "../helpers/process.ts";
import { startHub } from "../helpers/hub.ts";
import {
  BENCH_DIR,
  benchScript,
  createNodeTokens,
  numberedIds,
  parseCli,
  resultOf,
} from "./common.ts";
import type { QueueLoadConfig, QueueLoadResult } from "./queue_client.ts";
import type { QueueInprocResult } from "./queue_inproc.ts";

const flags = parseCli("deno run --allow-all tests/bench/queue_profile.ts [flags]", {
  jobs: { type: "number", default: 10_000, help: "queue depth" },
  target: { type: "string", arg: "http|inproc|both", default: "both", help: "what to profile" },
});
const jobs = flags.jobs;
const target = flags.target;
const WORKERS = 16;

function print(title: string, a: ReturnType<typeof analyzeProfile>): void {
  console.log(`\n${title}, ${a.total_ms} ms sampled; self time:`);
  for (const l of a.self) console.log(l);
  console.log("\ninclusive time:");
  for (const l of a.inclusive) console.log(l);
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
    const ids = numberedIds("bench-q-", WORKERS, 2);
    const tokens = await createNodeTokens(hub, ids);
    const nodes = ids.map((id, i) => ({ id, token: tokens[i] }));
    const cfg: QueueLoadConfig = {
      url,
      adminToken: hub.adminToken,
      hubPid: hub.child.proc.pid,
      nodes,
      jobs,
      enqueueConcurrency: WORKERS,
      enqueueMaxMs: 60_000,
      claimMaxMs: 60_000,
      claimNext: true,
    };
    const file = join(profDir, "queue.json");
    await Deno.writeTextFile(file, JSON.stringify(cfg));
    client = benchScript("queue_client.ts", [file]);
    const r = await resultOf<QueueLoadResult>(client, "queue-load", 180_000);
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
  const child = benchScript(
    "queue_inproc.ts",
    [
      "--mode",
      "hub",
      "--db",
      join(dataDir, "queue.db"),
      "--jobs",
      String(jobs),
      "--workers",
      String(WORKERS),
    ],
    ["--cpu-prof", `--cpu-prof-dir=${profDir}`],
  );
  try {
    const r = await resultOf<QueueInprocResult>(child, "queue-inproc", 180_000);
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
