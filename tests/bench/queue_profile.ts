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
import { join } from "node:path";
import { Child } from "../helpers/process.ts";
import { ROOT } from "../helpers/hub.ts";
import { ApiClient } from "../../shared/api_client.ts";
import { BENCH_DIR, parseFlags } from "./common.ts";
import type { QueueLoadConfig, QueueLoadResult } from "./queue_client.ts";
import type { QueueInprocResult } from "./queue_inproc.ts";

const flags = parseFlags(Deno.args);
const jobs = Number(flags.get("jobs") ?? 10_000);
const target = flags.get("target") ?? "both";
const WORKERS = 16;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self and inclusive time per function between `from` and `to` (µs, profile clock). */
function analyze(p: Profile, from: number, to: number) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode) => {
    const f = n.callFrame;
    const file = f.url.split("/").at(-1) ?? "";
    return `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
  };
  const selfTime = new Map<number, number>();
  let t = p.startTime;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    if (t < from || t > to) continue;
    selfTime.set(p.samples[i], (selfTime.get(p.samples[i]) ?? 0) + p.timeDeltas[i]);
    total += p.timeDeltas[i];
  }
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, us] of selfTime) {
    const n = byId.get(id)!;
    self.set(name(n), (self.get(name(n)) ?? 0) + us);
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const nm = name(byId.get(x)!);
      if (seen.has(nm)) continue;
      seen.add(nm);
      incl.set(nm, (incl.get(nm) ?? 0) + us);
    }
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([f, us]) =>
      `${(us / total * 100).toFixed(1).padStart(5)}%  ${f}`
    );
  return { total_ms: Math.round(total / 1000), self: top(self, 25), inclusive: top(incl, 40) };
}

function print(title: string, a: ReturnType<typeof analyze>): void {
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
  const dataDir = await Deno.makeTempDir({ prefix: "fleet-qprof-hub-" });
  const hub = new Child(Deno.execPath(), [
    "run",
    "--allow-all",
    "--cpu-prof",
    `--cpu-prof-dir=${profDir}`,
    join(ROOT, "hub/main.ts"),
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--data-dir",
    dataDir,
  ], { cwd: dataDir });
  let client: Child | undefined;
  try {
    const line = await hub.waitForLine((l) => l.includes('"msg":"listening"'), 60_000);
    const url = `http://127.0.0.1:${JSON.parse(line).port}`;
    const token = (await Deno.readTextFile(join(dataDir, "admin.token"))).trim();
    const admin = new ApiClient({ hub: url, token });
    const nodes: { id: string; token: string }[] = [];
    for (let i = 0; i < WORKERS; i++) {
      const id = `bench-q-${String(i + 1).padStart(2, "0")}`;
      nodes.push({ id, token: (await admin.createToken({ kind: "node", node_id: id })).token });
    }
    const cfg: QueueLoadConfig = {
      url,
      adminToken: token,
      hubPid: hub.proc.pid,
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
    print("hub main thread during the HTTP claim window", analyze(profile, from, to));
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
    print("queue_inproc.ts, whole run", analyze(profile, profile.startTime, profile.endTime));
    console.log(`\nprofile: ${file}`);
  } finally {
    await child.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (target === "inproc" || target === "both") await profileInproc();
if (target === "http" || target === "both") await profileHttp();
