/**
 * The bench's `queue` phase, driven by `main.ts`:
 *
 * 1. In-process: `queue_inproc.ts --mode hub`, the hub's own `openDatabase` (WAL, FULL, group
 *    commit) + `insertJob` + `claimJob` through `db.write` from 16 concurrent async workers.
 * 2. Its floor: `queue_inproc.ts --mode floor`, the same statements and durable commit, 16 claims
 *    per transaction in a plain loop (no event loop, promises or timer): what in-process claims
 *    can reach on this machine.
 * 3. The bare claim loop baseline: `queue_inproc.ts --mode bare`, raw `node:sqlite`, one
 *    `BEGIN IMMEDIATE` + `UPDATE … RETURNING id` per claim, synchronous FULL and NORMAL, at the
 *    same queue depth.
 * 4. Over HTTP: the real hub subprocess, `queue_client.ts` enqueues through `POST /api/v1/jobs`,
 *    then 16 workers with their own node tokens claim (`wait_s: 0`) and complete until the queue
 *    is empty, twice on fresh hubs: as the agent does (each complete claims the next job), then
 *    with a claim and a complete per job; afterwards every job must be listed by `GET /api/v1/jobs?state=done` exactly once,
 *    at attempt 1, claimed by the node the client saw claim it.
 *
 * @module
 */
import { join } from "node:path";
import type { HubProcess } from "../helpers/hub.ts";
import {
  createNodeTokens,
  type Json,
  numberedIds,
  type Row,
  type RowFormat,
  tailRow,
} from "./common.ts";
import type { PhaseContext } from "./context.ts";
import type { QueueInprocResult } from "./queue_inproc.ts";
import type { QueueLoadConfig, QueueLoadResult } from "./queue_client.ts";

/** Reference machine: bare claim loop, claims/s. */
export const REFERENCE_QUEUE_BASELINE = { full: 6_600, normal: 30_000 };
/** targets. */
export const QUEUE_TARGETS = { inprocPerS: 20_000, httpPerS: 5_000, httpP99Ms: 10 };

/** The phase's sizes and bounds. */
function sizes(quick: boolean) {
  return quick
    ? { inprocJobs: 3_000, httpJobs: 3_000, inprocMaxS: 8, enqueueMaxMs: 8_000, claimMaxMs: 10_000 }
    : {
      inprocJobs: 10_000,
      httpJobs: 10_000,
      inprocMaxS: 20,
      enqueueMaxMs: 20_000,
      claimMaxMs: 25_000,
    };
}

const WORKERS = 16;

/** Result of the exactly-once check against `GET /api/v1/jobs`. */
export interface DoneCheck {
  enqueued: number;
  done_listed: number;
  duplicate_rows: number;
  missing: number;
  unexpected: number;
  not_first_attempt: number;
  wrong_node: number;
  left_in_other_states: Record<string, number>;
  ok: boolean;
}

async function listAll(hub: HubProcess, state: string, bound: number) {
  const rows: { id: string; attempts: number; claimed_by: string | null }[] = [];
  let cursor: string | undefined;
  // Bounded: at most `bound` pages of 1,000.
  for (let page = 0; page < bound; page++) {
    const res = await hub.admin.jobs({ state, limit: 1000, cursor });
    rows.push(...res.jobs);
    if (!res.next_cursor) break;
    cursor = res.next_cursor;
  }
  return rows;
}

async function checkDone(hub: HubProcess, r: QueueLoadResult): Promise<DoneCheck> {
  const bound = Math.ceil(r.enqueued_ids.length / 1000) + 5;
  const done = await listAll(hub, "done", bound);
  const enqueued = new Set(r.enqueued_ids);
  const seen = new Set<number>();
  let duplicates = 0;
  let unexpected = 0;
  let notFirst = 0;
  let wrongNode = 0;
  for (const j of done) {
    const id = Number(j.id);
    if (seen.has(id)) duplicates++;
    seen.add(id);
    if (!enqueued.has(id)) unexpected++;
    if (j.attempts !== 1) notFirst++;
    if (j.claimed_by !== r.claimed_by[j.id]) wrongNode++;
  }
  let missing = 0;
  for (const id of enqueued) if (!seen.has(id)) missing++;
  const left: Record<string, number> = {};
  for (const state of ["pending", "claimed", "running", "failed", "cancelled"]) {
    left[state] = (await listAll(hub, state, bound)).length;
  }
  const leftTotal = Object.values(left).reduce((a, b) => a + b, 0);
  return {
    enqueued: enqueued.size,
    done_listed: done.length,
    duplicate_rows: duplicates,
    missing,
    unexpected,
    not_first_attempt: notFirst,
    wrong_node: wrongNode,
    left_in_other_states: left,
    ok: enqueued.size > 0 && done.length === enqueued.size && duplicates === 0 &&
      missing === 0 && unexpected === 0 && notFirst === 0 && wrongNode === 0 && leftTotal === 0,
  };
}

async function inproc(
  ctx: PhaseContext,
  args: string[],
  jobs: number,
  maxS: number,
): Promise<QueueInprocResult> {
  const dir = await ctx.tempDir("fleet-bench-queue-");
  const child = ctx.script("queue_inproc.ts", [
    "--db",
    join(dir, "queue.db"),
    "--jobs",
    String(jobs),
    "--max-s",
    String(maxS),
    ...args,
  ]);
  try {
    return await ctx.resultOf<QueueInprocResult>(child, "queue-inproc", maxS * 1000 + 60_000);
  } finally {
    await child.stop("SIGTERM", 2000).catch(() => {});
  }
}

function logInproc(ctx: PhaseContext, label: string, r: QueueInprocResult): void {
  const g = r.group_commit;
  ctx.log(
    `${label}: ${r.claims_per_s} claims/s (${r.claims}/${r.jobs}${
      r.drained ? "" : ", NOT drained"
    }` +
      `), p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms, double claims ` +
      `${r.double_claims}, check ${r.check.ok ? "ok" : `FAILED ${JSON.stringify(r.check)}`}; ` +
      `enqueue ${r.enqueue.jobs_per_s} jobs/s` +
      (g
        ? `; ${g.writes_per_commit} claims/commit, claim SQL ${g.claim_sql_ms_per_claim} ms/claim, ` +
          `commit overhead ${g.txn_overhead_ms_per_commit} ms, idle ${g.idle_wait_ms_mean} ms`
        : ""),
  );
}

/** Runs the phase; fills `out.queue`. */
export async function queuePhase(ctx: PhaseContext, out: Json): Promise<void> {
  const z = sizes(ctx.quick);
  const q: Json = { workers: WORKERS, sizes: z };
  out.queue = q;

  ctx.log(`queue: in-process, hub code, ${z.inprocJobs} jobs, ${WORKERS} workers`);
  // The hub's code, then its floor: the same statements and commits in a plain loop.
  for (
    const [key, mode, label] of [
      ["inproc", "hub", "queue in-process"],
      ["floor", "floor", "queue floor (the hub's claims, 16 per commit, plain loop)"],
    ] as const
  ) {
    q[key] = await inproc(
      ctx,
      ["--mode", mode, "--workers", String(WORKERS)],
      z.inprocJobs,
      z.inprocMaxS,
    );
    logInproc(ctx, label, q[key]);
  }
  q.bare = {};
  for (const sync of ["FULL", "NORMAL"] as const) {
    const r = await inproc(
      ctx,
      ["--mode", "bare", "--synchronous", sync],
      z.inprocJobs,
      z.inprocMaxS,
    );
    q.bare[sync.toLowerCase()] = r;
    logInproc(ctx, `bare claim loop ${sync}`, r);
  }

  // How the agent works (a complete claims the next job), then a claim and a complete per job.
  for (const claimNext of [true, false]) {
    const mode = claimNext ? "complete claims the next" : "claim, then complete";
    ctx.log(`queue: HTTP, real hub, ${z.httpJobs} jobs, ${WORKERS} workers, ${mode}`);
    const hub = await ctx.startHub();
    try {
      const ids = numberedIds("bench-q-", WORKERS, 2);
      const tokens = await createNodeTokens(hub, ids);
      const nodes = ids.map((id, i) => ({ id, token: tokens[i] }));
      const cfg: QueueLoadConfig = {
        url: hub.url,
        adminToken: hub.adminToken,
        hubPid: hub.child.proc.pid,
        nodes,
        jobs: z.httpJobs,
        enqueueConcurrency: WORKERS,
        enqueueMaxMs: z.enqueueMaxMs,
        claimMaxMs: z.claimMaxMs,
        claimNext,
      };
      const file = join(await ctx.tempDir("fleet-bench-queue-load-"), "queue.json");
      await Deno.writeTextFile(file, JSON.stringify(cfg));
      const client = ctx.script("queue_client.ts", [file]);
      let r: QueueLoadResult;
      try {
        r = await ctx.resultOf<QueueLoadResult>(
          client,
          "queue-load",
          z.enqueueMaxMs + z.claimMaxMs + 60_000,
        );
      } finally {
        await client.stop("SIGTERM", 2000).catch(() => {});
      }
      const check = await checkDone(hub, r);
      const { enqueued_ids: _ids, claimed_by: _by, ...compact } = r;
      q[claimNext ? "http" : "http_separate"] = { ...compact, done_check: check };
      ctx.log(
        `queue HTTP (${mode}): ${r.claims_per_s} claims/s (${r.claims}/${r.enqueue.jobs}` +
          `${r.drained ? "" : ", NOT drained"}), claim p50 ${r.claim_latency_ms.p50} ms, ` +
          `p99 ${r.claim_latency_ms.p99} ms, complete p99 ${r.complete_latency_ms.p99} ms, ` +
          `double claims ${r.double_claims}, errors ${r.errors}, hub CPU ${r.hub_cpu_pct}%, ` +
          `client CPU ${r.client_cpu_pct}%, ${r.writes_per_commit} writes/commit; enqueue ` +
          `${r.enqueue.jobs_per_s} jobs/s (p99 ${r.enqueue.latency_ms.p99} ms); done check ` +
          `${check.ok ? "ok" : `FAILED ${JSON.stringify(check)}`}`,
      );
      if (r.errors > 0) ctx.log(`  errors: ${JSON.stringify(r.error_kinds)}`);
    } finally {
      await ctx.stopHub(hub);
    }
  }
}

/** The phase's table rows. */
export function queueRows(q: Json | undefined, f: RowFormat): Row[] {
  if (!q) return [];
  const rows: Row[] = [];
  const full = q.bare?.full as QueueInprocResult | undefined;
  const normal = q.bare?.normal as QueueInprocResult | undefined;
  const lat = (l: { p50: number; p99: number } | undefined) =>
    l ? `${f.fmt(l.p50, 2)} / ${f.fmt(l.p99, 2)}` : "-";
  const thr = (label: string, v: number, target: number) => {
    for (
      const [name, base, specBase] of [
        ["FULL", full, REFERENCE_QUEUE_BASELINE.full],
        ["NORMAL", normal, REFERENCE_QUEUE_BASELINE.normal],
      ] as const
    ) {
      const need = target / specBase;
      const r = base ? v / base.claims_per_s : undefined;
      rows.push({
        metric: `${label}, claims/s vs bare loop ${name}`,
        measured: f.fmt(v),
        baseline: f.fmt(base?.claims_per_s),
        ratio: f.ratio(v, base?.claims_per_s),
        target: `≥ ${f.fmt(target)} / ≥ ${need.toFixed(2)}×`,
        met: `${f.verdict(v >= target)} / ${f.verdict(r === undefined ? undefined : r >= need)}`,
      });
    }
  };
  const i = q.inproc as QueueInprocResult | undefined;
  if (i) {
    thr(
      `queue in-process (${i.workers} workers, ${f.fmt(i.jobs)} deep)`,
      i.claims_per_s,
      QUEUE_TARGETS.inprocPerS,
    );
    const fl = q.floor as QueueInprocResult | undefined;
    if (fl) {
      rows.push({
        metric: `floor: the hub's claim statements, ${fl.workers} per durable commit, ` +
          "plain loop, claims/s vs bare loop FULL",
        measured: f.fmt(fl.claims_per_s),
        baseline: f.fmt(full?.claims_per_s),
        ratio: f.ratio(fl.claims_per_s, full?.claims_per_s),
        target: `≥ ${(QUEUE_TARGETS.inprocPerS / REFERENCE_QUEUE_BASELINE.full).toFixed(2)}× hub`,
        met: "-",
      });
    }
    rows.push({
      metric: "queue in-process claim p50 / p99 ms",
      measured: lat(i.latency_ms),
      baseline: lat(full?.latency_ms),
      ratio: f.ratio(i.latency_ms.p99, full?.latency_ms.p99),
      target: "-",
      met: "-",
    });
    rows.push({
      metric: "queue in-process enqueue jobs/s (insertJob, 16 writers)",
      measured: f.fmt(i.enqueue.jobs_per_s),
      baseline: f.fmt(full?.enqueue.jobs_per_s),
      ratio: f.ratio(i.enqueue.jobs_per_s, full?.enqueue.jobs_per_s),
      target: "-",
      met: "-",
    });
  }
  type Http = Omit<QueueLoadResult, "enqueued_ids" | "claimed_by"> & Json;
  const h = q.http as Http | undefined;
  const hs = q.http_separate as Http | undefined;
  if (h) {
    thr(
      `queue HTTP (${h.workers} workers, complete claims the next, ${f.fmt(h.enqueue.jobs)} deep)`,
      h.claims_per_s,
      QUEUE_TARGETS.httpPerS,
    );
  }
  if (hs) {
    thr(
      `queue HTTP (${hs.workers} workers, claim then complete, ${f.fmt(hs.enqueue.jobs)} deep)`,
      hs.claims_per_s,
      QUEUE_TARGETS.httpPerS,
    );
  }
  if (h) {
    rows.push({
      metric: "queue HTTP request that hands out a job, p50 / p99 ms",
      measured: lat(h.claim_latency_ms),
      baseline: lat(full?.latency_ms),
      ratio: f.ratio(h.claim_latency_ms.p99, full?.latency_ms.p99),
      target: `p99 < ${QUEUE_TARGETS.httpP99Ms}`,
      met: f.verdict(h.claim_latency_ms.p99 < QUEUE_TARGETS.httpP99Ms),
    });
    // Each worker has one request in flight, and each request of this mode hands out one job.
    rows.push(tailRow(f, "queue HTTP request that hands out a job", {
      p99Ms: h.claim_latency_ms.p99,
      inFlight: h.workers,
      perS: h.claims_per_s,
    }, { p99Ms: QUEUE_TARGETS.httpP99Ms, perS: QUEUE_TARGETS.httpPerS }));
    rows.push({
      metric: "queue HTTP enqueue jobs/s (POST /api/v1/jobs, 16 conns)",
      measured: f.fmt(h.enqueue.jobs_per_s),
      baseline: f.fmt(full?.enqueue.jobs_per_s),
      ratio: f.ratio(h.enqueue.jobs_per_s, full?.enqueue.jobs_per_s),
      target: "-",
      met: "-",
    });
  }
  if (i || h) {
    const di = i ? i.double_claims + (i.check.ok ? 0 : 1) : undefined;
    const dh = h || hs ? (h?.double_claims ?? 0) + (hs?.double_claims ?? 0) : undefined;
    rows.push({
      metric: "queue double claims in-process / HTTP",
      measured: `${di ?? "-"} / ${dh ?? "-"}`,
      baseline: full ? String(full.double_claims) : "-",
      ratio: "-",
      target: "0 / 0",
      met: f.verdict((di ?? 0) === 0 && (dh ?? 0) === 0),
    });
  }
  for (
    const [label, r] of [["complete claims the next", h], ["claim then complete", hs]] as const
  ) {
    if (!r) continue;
    const c = r.done_check as DoneCheck;
    rows.push({
      metric: `queue HTTP jobs done exactly once, ${label} (GET /jobs?state=done)`,
      measured: `${f.fmt(c.done_listed)} / ${f.fmt(c.enqueued)}`,
      baseline: "-",
      ratio: "-",
      target: "all, once",
      met: f.verdict(c.ok && r.errors === 0),
    });
  }
  for (
    const [name, base, spec] of [
      ["FULL", full, REFERENCE_QUEUE_BASELINE.full],
      ["NORMAL", normal, REFERENCE_QUEUE_BASELINE.normal],
    ] as const
  ) {
    if (!base) continue;
    rows.push({
      metric: `bare claim loop ${name}, claims/s (reference machine ~${f.fmt(spec)})`,
      measured: f.fmt(base.claims_per_s),
      baseline: f.fmt(spec),
      ratio: f.ratio(base.claims_per_s, spec),
      target: "-",
      met: "-",
    });
  }
  return rows;
}

/** The phase's notes under the table. */
export function queueNotes(q: Json | undefined): string[] {
  if (!q) return [];
  const n: string[] = [];
  const i = q.inproc as QueueInprocResult | undefined;
  const g = i?.group_commit;
  if (i && g) {
    n.push(
      `queue in-process: ${g.writes_per_commit} claims per group commit (${g.commits} commits); ` +
        `claim SQL ${g.claim_sql_ms_per_claim} ms/claim, BEGIN/savepoints/COMMIT+fsync ` +
        `${g.txn_overhead_ms_per_commit} ms/commit, idle before each commit ` +
        `${g.idle_wait_ms_mean} ms (group-commit timer); claim latency deep → shallow queue ` +
        `${i.latency_by_depth_ms.first_tenth_mean} → ${i.latency_by_depth_ms.last_tenth_mean} ms; ` +
        `CPU ${i.cpu_pct}%${i.drained ? "" : "; NOT drained within the time bound"}`,
    );
  }
  const fg = (q.floor as QueueInprocResult | undefined)?.group_commit;
  if (fg) {
    n.push(
      `queue floor (plain loop): claim SQL ${fg.claim_sql_ms_per_claim} ms/claim, ` +
        `BEGIN/savepoints/COMMIT+fsync ${fg.txn_overhead_ms_per_commit} ms per ` +
        `${fg.writes_per_commit} claims: what in-process claims can reach here`,
    );
  }
  for (const sync of ["full", "normal"]) {
    const b = q.bare?.[sync] as QueueInprocResult | undefined;
    if (!b) continue;
    n.push(
      `bare claim loop ${sync.toUpperCase()}: median of runs ` +
        `${(b.runs_claims_per_s ?? [b.claims_per_s]).join(", ")} claims/s; claim latency deep → ` +
        `shallow queue ${b.latency_by_depth_ms.first_tenth_mean} → ` +
        `${b.latency_by_depth_ms.last_tenth_mean} ms`,
    );
  }
  for (const key of ["http", "http_separate"]) {
    const h = q[key] as Json | undefined;
    if (!h) continue;
    n.push(
      `queue HTTP, ${
        key === "http" ? "complete claims the next" : "claim then complete"
      }: hub CPU ${h.hub_cpu_pct}% of one core, client CPU ${h.client_cpu_pct}%, ` +
        `${h.writes_per_commit} queue writes per group commit, complete p50/p99 ` +
        `${h.complete_latency_ms.p50}/${h.complete_latency_ms.p99} ms, errors ${h.errors}` +
        `${h.drained ? "" : ", NOT drained within the time bound"}`,
    );
  }
  return n;
}
