/**
 * The queue bench's HTTP load generator, run as its own subprocess:
 * `deno run --allow-all tests/bench/queue_client.ts CONFIG.json` ({@link QueueLoadConfig}).
 *
 * 1. Enqueue: `enqueueConcurrency` keep-alive connections with the admin token send
 *    `POST /api/v1/jobs` (a `process` job bound to no cluster) until `jobs` were accepted (201).
 * 2. Claim: one worker per node token (16 in the bench), each on its own keep-alive connection,
 *    claims with `POST /api/v1/jobs/claim {"wait_s":0}` and completes with
 *    `POST /api/v1/jobs/:id/complete`. With `claimNext` (what the agent does) the complete asks
 *    `claim_next` and its answer carries the next job, one request per job; without it every job
 *    takes a claim and a complete. A worker stops when the hub answers `{"job":null}` (queue empty)
 *    or the deadline passes. Every claimed id is recorded: an id handed out twice is a double
 *    claim. The claim latency is that of the request that handed out the job. The hub's CPU (from /proc) and its
 *    group commits (`GET /api/v1/hub/stats`) are read around exactly this window.
 *
 * Uses the bench's minimal HTTP/1.1 client (common.ts), so the client leaves the CPU to the hub.
 * Prints one JSON line: `{"kind":"queue-load", ...}` ({@link QueueLoadResult}).
 *
 * @module
 */
import {
  CpuMeter,
  ErrorTally,
  errorText,
  Http1Conn,
  type LatencySummary,
  NumList,
  round,
  sleep,
  summarize,
} from "./common.ts";

/** Configuration of `queue_client.ts`. */
export interface QueueLoadConfig {
  /** Base URL, `http://127.0.0.1:PORT`. */
  url: string;
  adminToken: string;
  /** The hub's PID, for its CPU time during the claim window. */
  hubPid: number;
  /** One claiming worker per node. */
  nodes: { id: string; token: string }[];
  jobs: number;
  enqueueConcurrency: number;
  /** Give up enqueueing / claiming after this long (ms each); the result says so. */
  enqueueMaxMs: number;
  claimMaxMs: number;
  /** Completes ask `claim_next` (one request per job) instead of a claim per job. */
  claimNext: boolean;
}

/** What `queue_client.ts` prints. */
export interface QueueLoadResult {
  kind: "queue-load";
  enqueue: {
    jobs: number;
    errors: number;
    elapsed_s: number;
    jobs_per_s: number;
    latency_ms: LatencySummary;
    commits: number;
  };
  workers: number;
  claims: number;
  completes: number;
  /** Claim answers `{"job":null}` (each worker's last one). */
  empty_claims: number;
  elapsed_s: number;
  /** Wall-clock (epoch ms) start and end of the claim window, for profiles. */
  claim_window: [number, number];
  claims_per_s: number;
  claim_latency_ms: LatencySummary;
  complete_latency_ms: LatencySummary;
  double_claims: number;
  errors: number;
  error_kinds: Record<string, number>;
  /** Every worker stopped on an empty queue (not on the deadline or errors). */
  drained: boolean;
  per_worker_claims: number[];
  hub_cpu_pct: number;
  client_cpu_pct: number;
  commits: number;
  writes_per_commit: number;
  /** Enqueued job ids (for the exactly-once check). */
  enqueued_ids: number[];
  /** Job id → node that claimed it. */
  claimed_by: Record<string, string>;
}

const cfg = JSON.parse(await Deno.readTextFile(Deno.args[0])) as QueueLoadConfig;
const url = new URL(cfg.url);
const hostname = url.hostname;
const port = Number(url.port);
const adminAuth = { authorization: `Bearer ${cfg.adminToken}` };
const MAX_ERRORS = 200;

const errors = new ErrorTally();

async function commitBatches(): Promise<number> {
  const res = await fetch(`${cfg.url}/api/v1/hub/stats`, { headers: adminAuth });
  if (!res.ok) throw new Error(`GET /api/v1/hub/stats: HTTP ${res.status}`);
  return ((await res.json()) as { commit_batches: number }).commit_batches;
}

// A stuck request must not hang the bench.
const watchdog = setTimeout(() => {
  console.error("queue_client: watchdog fired, exiting");
  Deno.exit(3);
}, cfg.enqueueMaxMs + cfg.claimMaxMs + 30_000);

// --- 1. Enqueue ------------------------------------------------------------------------------

const enqueuedIds: number[] = [];
const enqLat = new NumList();
let enqErrors = 0;
let nextJob = 0;
const commits0 = await commitBatches();
const e0 = performance.now();
const enqDeadline = e0 + cfg.enqueueMaxMs;
await Promise.all(Array.from({ length: cfg.enqueueConcurrency }, async () => {
  const conn = new Http1Conn(hostname, port);
  try {
    while (nextJob < cfg.jobs && performance.now() < enqDeadline && errors.total < MAX_ERRORS) {
      const i = nextJob++;
      const req = Http1Conn.post(
        url.host,
        "/api/v1/jobs",
        adminAuth,
        `{"executor":"process","command":["true"],"payload":{"i":${i}}}`,
      );
      const t = performance.now();
      try {
        const res = await conn.request(req);
        if (res.status === 201) {
          enqLat.push(performance.now() - t);
          enqueuedIds.push(Number((JSON.parse(res.body) as { id: string }).id));
        } else {
          enqErrors++;
          errors.add(`enqueue http ${res.status}: ${res.body.slice(0, 160)}`);
        }
      } catch (error) {
        enqErrors++;
        errors.add(`enqueue: ${errorText(error)}`);
        await sleep(20);
      }
    }
  } finally {
    conn.close();
  }
}));
const enqS = (performance.now() - e0) / 1000;
const commits1 = await commitBatches();
console.error(
  `queue_client: enqueued ${enqueuedIds.length} jobs in ${enqS.toFixed(2)} s, claiming`,
);

// --- 2. Claim + complete ---------------------------------------------------------------------

const claimLat = new NumList();
const completeLat = new NumList();
const claimedBy = new Map<number, string>();
let doubleClaims = 0;
let claims = 0;
let completes = 0;
let empty = 0;
const perWorker = cfg.nodes.map(() => 0);
const hubCpu = new CpuMeter(cfg.hubPid);
const selfCpu = new CpuMeter("self");
const claimBody = '{"wait_s":0}';

async function worker(w: number): Promise<boolean> {
  const node = cfg.nodes[w];
  const auth = { authorization: `Bearer ${node.token}` };
  const claimReq = Http1Conn.post(url.host, "/api/v1/jobs/claim", auth, claimBody);
  const conn = new Http1Conn(hostname, port);
  const deadline = performance.now() + cfg.claimMaxMs;
  try {
    // Bounded: each job can be claimed once, plus the deadline and the error budget.
    let job: { id: string; attempt: number } | null = null;
    for (let k = 0; k <= cfg.jobs; k++) {
      if (performance.now() >= deadline || errors.total >= MAX_ERRORS) return false;
      if (!job) {
        const t = performance.now();
        try {
          const res = await conn.request(claimReq);
          if (res.status !== 200) {
            errors.add(`claim http ${res.status}: ${res.body.slice(0, 160)}`);
            await sleep(10);
            continue;
          }
          job = (JSON.parse(res.body) as { job: { id: string; attempt: number } | null }).job;
        } catch (error) {
          errors.add(`claim: ${errorText(error)}`);
          await sleep(20);
          continue;
        }
        claimLat.push(performance.now() - t);
        if (!job) {
          empty++;
          return true;
        }
      }
      const id = Number(job.id);
      claims++;
      perWorker[w]++;
      if (claimedBy.has(id)) doubleClaims++;
      else claimedBy.set(id, node.id);
      const t2 = performance.now();
      const body = cfg.claimNext
        ? `{"attempt":${job.attempt},"claim_next":true}`
        : `{"attempt":${job.attempt}}`;
      job = null;
      try {
        const res = await conn.request(
          Http1Conn.post(url.host, `/api/v1/jobs/${id}/complete`, auth, body),
        );
        if (res.status === 200) {
          completes++;
          const ms = performance.now() - t2;
          completeLat.push(ms);
          const next = (JSON.parse(res.body) as {
            next?: { job: { id: string; attempt: number } | null };
          }).next;
          if (next) {
            // The complete handed out the next job (or said the queue is empty).
            claimLat.push(ms);
            if (!next.job) {
              empty++;
              return true;
            }
            job = next.job;
          }
        } else errors.add(`complete http ${res.status}: ${res.body.slice(0, 160)}`);
      } catch (error) {
        errors.add(`complete: ${errorText(error)}`);
      }
    }
    return false;
  } finally {
    conn.close();
  }
}

hubCpu.start();
selfCpu.start();
const wall0 = Date.now();
const c0 = performance.now();
const drained = (await Promise.all(cfg.nodes.map((_, w) => worker(w)))).every(Boolean);
const elapsed = (performance.now() - c0) / 1000;
const wall1 = Date.now();
const hubPct = hubCpu.read().pct;
const clientPct = selfCpu.read().pct;
const commits2 = await commitBatches();
clearTimeout(watchdog);

const writes = claims + completes + empty;
const result: QueueLoadResult = {
  kind: "queue-load",
  enqueue: {
    jobs: enqueuedIds.length,
    errors: enqErrors,
    elapsed_s: round(enqS, 3),
    jobs_per_s: round(enqueuedIds.length / enqS, 0),
    latency_ms: summarize(enqLat.values()),
    commits: commits1 - commits0,
  },
  workers: cfg.nodes.length,
  claims,
  completes,
  empty_claims: empty,
  elapsed_s: round(elapsed, 3),
  claim_window: [wall0, wall1],
  claims_per_s: round(claims / elapsed, 0),
  claim_latency_ms: summarize(claimLat.values()),
  complete_latency_ms: summarize(completeLat.values()),
  double_claims: doubleClaims,
  errors: errors.total,
  error_kinds: errors.kinds,
  drained,
  per_worker_claims: perWorker,
  hub_cpu_pct: hubPct,
  client_cpu_pct: clientPct,
  commits: commits2 - commits1,
  writes_per_commit: round(writes / Math.max(1, commits2 - commits1), 1),
  enqueued_ids: enqueuedIds,
  claimed_by: Object.fromEntries([...claimedBy].map(([id, n]) => [String(id), n])),
};
console.log(JSON.stringify(result));
