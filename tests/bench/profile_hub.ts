/**
 * CPU profile of the hub under saturating ingest, to find where its single JS thread spends its
 * time: `deno run --allow-all tests/bench/profile_hub.ts [--batch 1] [--seconds 6]
 * [--concurrency 64] [--nodes 1000] [--hub-args "--db-writer worker"]`.
 *
 * Starts the hub with `tests/helpers/hub.ts` under `--cpu-prof`, creates node tokens, drives it with
 * `load_client.ts`, stops it with SIGTERM (the profile is written at exit) and prints the
 * functions with the most self and inclusive time inside the load window. The `.cpuprofile`
 * stays in `tests/bench/out/` for Chrome DevTools.
 *
 * @module
 */
import { analyzeProfile, readProfile } from "./cpu_profile.ts";
import { join } from "node:path";
import type { Child } from "../helpers/process.ts";
import { startHub } from "../helpers/hub.ts";
import {
  BENCH_DIR,
  type BenchNode,
  benchScript,
  createNodeTokens,
  type LoadConfig,
  type LoadResult,
  numberedIds,
  parseCli,
  resultOf,
} from "./common.ts";

const flags = parseCli("deno run --allow-all tests/bench/profile_hub.ts [flags]", {
  batch: { type: "number", default: 1, help: "samples per request" },
  seconds: { type: "number", default: 6, help: "profiled load window, after 1 s of warm-up" },
  concurrency: { type: "number", default: 64, help: "requests in flight" },
  nodes: { type: "number", default: 1000, help: "node tokens" },
  "hub-args": { type: "string", arg: '"FLAGS"', default: "", help: "extra `serve` flags" },
});
const batch = flags.batch;
const seconds = flags.seconds;
const concurrency = flags.concurrency;
const nodeCount = flags.nodes;

const outDir = join(BENCH_DIR, "out", `prof-${new Date().toISOString().replace(/[:.]/g, "-")}`);
await Deno.mkdir(outDir, { recursive: true });
const hub = await startHub({
  denoFlags: ["--cpu-prof", `--cpu-prof-dir=${outDir}`],
  args: flags["hub-args"].split(/\s+/).filter(Boolean),
});
const dataDir = hub.dataDir;
let client: Child | undefined;
try {
  const url = hub.url;
  const ids = numberedIds("bench-", nodeCount, 4);
  const tokens = await createNodeTokens(hub, ids);
  const nodes: BenchNode[] = ids.map((id, i) => ({ id, token: tokens[i], seq: 0 }));
  const startAt = Date.now() + 1500;
  const cfg: LoadConfig = {
    url,
    path: "/api/v1/ingest",
    nodes,
    mode: "saturate",
    batch,
    concurrency,
    startAt,
    measureFrom: startAt + 1000,
    endAt: startAt + 1000 + seconds * 1000,
  };
  const file = join(outDir, "load.json");
  await Deno.writeTextFile(file, JSON.stringify(cfg));
  client = benchScript("load_client.ts", [file]);
  // The client stops itself after its window; the bound only guards against a hang.
  const r = await resultOf<LoadResult>(client, "load-result", 2500 + seconds * 1000 + 60_000);
  console.log(
    `batch ${batch}: ${r.samples_per_s} samples/s, ${r.requests_per_s} req/s, ` +
      `p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms, errors ${r.errors}`,
  );
  const stopWall = Date.now();
  await hub.stop();
  const { profile, file: profFile } = await readProfile(outDir);
  // The profile clock is monotonic µs and ends at the stop (shutdown takes milliseconds): map
  // the measured window back from there.
  const to = profile.endTime - (stopWall - cfg.endAt) * 1000;
  const a = analyzeProfile(profile, to - seconds * 1_000_000, to);
  console.log(`\nhub main thread, ${a.total_ms} ms of the load window; self time:`);
  for (const l of a.self) console.log(l);
  console.log("\ninclusive time:");
  for (const l of a.inclusive) console.log(l);
  console.log(`\nprofile: ${profFile}`);
  // The hub's writer worker (ingest SQL, group commit, fsync) writes its own profile.
  const worker = await readProfile(outDir, "worker-1").catch(() => undefined);
  if (worker) {
    const wTo = worker.profile.endTime - (stopWall - cfg.endAt) * 1000;
    const w = analyzeProfile(worker.profile, wTo - seconds * 1_000_000, wTo);
    console.log(`
hub writer worker, ${w.total_ms} ms of the load window; self time:`);
    for (const l of w.self) console.log(l);
    console.log(`
profile: ${worker.file}`);
  }
} finally {
  await client?.stop();
  await hub.stop();
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
