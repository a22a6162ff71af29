/**
 * CPU profile of the hub under saturating ingest, to find where its single JS thread spends its
 * time: `deno run --allow-all tests/bench/profile_hub.ts [--batch 1] [--seconds 6]
 * [--concurrency 64] [--nodes 1000]`.
 *
 * Starts the hub with `tests/helpers/hub.ts` under `--cpu-prof`, creates node tokens, drives it with
 * `load_client.ts`, stops it with SIGTERM (the profile is written at exit) and prints the
 * functions with the most self and inclusive time inside the load window. The `.cpuprofile`
 * stays in `tests/bench/out/` for Chrome DevTools.
 *
 * @module
 */
import { analyzeProfile, type Profile } from "./cpu_profile.ts";
import { join } from "node:path";
import { Child } from "../helpers/process.ts";
import { startHub } from "../helpers/hub.ts";
import {
  BENCH_DIR,
  type BenchNode,
  type LoadConfig,
  type LoadResult,
  parseFlags,
} from "./common.ts";

const flags = parseFlags(Deno.args);
const batch = Number(flags.get("batch") ?? 1);
const seconds = Number(flags.get("seconds") ?? 6);
const concurrency = Number(flags.get("concurrency") ?? 64);
const nodeCount = Number(flags.get("nodes") ?? 1000);

const outDir = join(BENCH_DIR, "out", `prof-${new Date().toISOString().replace(/[:.]/g, "-")}`);
await Deno.mkdir(outDir, { recursive: true });
const hub = await startHub({ denoFlags: ["--cpu-prof", `--cpu-prof-dir=${outDir}`] });
const dataDir = hub.dataDir;
let client: Child | undefined;
try {
  const url = hub.url;
  const admin = hub.admin;
  const nodes: BenchNode[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const id = `bench-${String(i + 1).padStart(4, "0")}`;
    nodes.push({
      id,
      token: (await admin.createToken({ kind: "node", node_id: id })).token,
      seq: 0,
    });
  }
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
  client = new Child(Deno.execPath(), [
    "run",
    "--allow-all",
    join(BENCH_DIR, "load_client.ts"),
    file,
  ]);
  await client.status;
  const resultLine = client.stdout.find((l) => l.startsWith('{"kind":"load-result"'));
  if (!resultLine) throw new Error(`no load result:\n${client.stderr.slice(-10).join("\n")}`);
  const r = JSON.parse(resultLine) as LoadResult;
  console.log(
    `batch ${batch}: ${r.samples_per_s} samples/s, ${r.requests_per_s} req/s, ` +
      `p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms, errors ${r.errors}`,
  );
  const stopWall = Date.now();
  await hub.stop();
  const profFile = [...Deno.readDirSync(outDir)].find((e) => e.name.endsWith(".cpuprofile"));
  if (!profFile) throw new Error("no .cpuprofile written");
  const profile = JSON.parse(await Deno.readTextFile(join(outDir, profFile.name))) as Profile;
  // The profile clock is monotonic µs and ends at the stop (shutdown takes milliseconds): map
  // the measured window back from there.
  const to = profile.endTime - (stopWall - cfg.endAt) * 1000;
  const a = analyzeProfile(profile, to - seconds * 1_000_000, to);
  console.log(`\nhub main thread, ${a.total_ms} ms of the load window; self time:`);
  for (const l of a.self) console.log(l);
  console.log("\ninclusive time:");
  for (const l of a.inclusive) console.log(l);
  console.log(`\nprofile: ${join(outDir, profFile.name)}`);
} finally {
  await client?.stop();
  await hub.stop();
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
