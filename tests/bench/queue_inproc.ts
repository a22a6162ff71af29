/**
 * In-process job-queue bench ("job claims: in-process ≥ 20,000/s"), run as its own
 * subprocess so it owns its event loop and its database file:
 *
 * ```sh
 * deno run --allow-all tests/bench/queue_inproc.ts --mode hub  --db PATH --jobs N [--workers 16]
 * deno run --allow-all tests/bench/queue_inproc.ts --mode sql  --db PATH --jobs N
 * deno run --allow-all tests/bench/queue_inproc.ts --mode bare --db PATH --jobs N --synchronous FULL \
 *   [--repeat 3]
 * ```
 *
 * - `hub`: the hub's own code. `openDatabase` (WAL, synchronous=FULL, migrations), N pending jobs
 *   enqueued with `insertJob` through `db.write` by `--workers` concurrent async writers, then
 *   claimed with `claimJob` through `db.write` by `--workers` concurrent async "workers" until the
 *   queue is empty, so group commit batches them. Every returned id is counted: a job id returned
 *   twice is a double claim. Afterwards the table must hold N claimed jobs and N `claimed`
 *   events. `db.flush` is wrapped (on this instance only) to see where a claim's time goes:
 *   waiting for the group-commit timer, the claim SQL, or BEGIN/savepoints/COMMIT + fsync.
 * - `sql`: the same `claimJob` SQL with one `db.transaction` (BEGIN IMMEDIATE … COMMIT) per claim,
 *   in a plain loop: the hub's statement cost without group commit or the event loop.
 * - `floor`: the hub's group commit without the event loop: `--workers` claims per
 *   `db.transaction`, each in its own savepoint, then the WAL's fdatasync, as a full group of the
 *   hub's commits does. The hub's in-process claims cannot beat it: its statements and its
 *   durable commit, with no promise, timer or queue around them.
 * - `bare`: the bare claim loop of the performance targets: raw `node:sqlite` `DatabaseSync`, WAL, a minimal jobs
 *   table, one `BEGIN IMMEDIATE` per claim with `UPDATE … WHERE id = (SELECT … LIMIT 1)
 *   RETURNING id`, `--synchronous FULL` or `NORMAL`; `--repeat` runs (fresh file each), the
 *   median one reported, since fsync time varies from run to run.
 *
 * Prints one JSON line starting with `{"kind":"queue-inproc"` ({@link QueueInprocResult}).
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { type Database, openDatabase } from "../../hub/core/db.ts";
import { claimJob, type Eligibility, insertJob, type NewJob } from "../../hub/jobs/store.ts";
import {
  CpuMeter,
  flagHelp,
  type FlagSpec,
  type LatencySummary,
  medianBy,
  numberedIds,
  NumList,
  parseCli,
  round,
  summarize,
} from "./common.ts";

/** What this script prints. */
export interface QueueInprocResult {
  kind: "queue-inproc";
  mode: "hub" | "sql" | "floor" | "bare";
  synchronous: "FULL" | "NORMAL";
  workers: number;
  jobs: number;
  enqueue: {
    jobs: number;
    elapsed_s: number;
    jobs_per_s: number;
    latency_ms: LatencySummary;
    commits?: number;
  };
  claims: number;
  /** The queue was emptied (not stopped by `--max-s`). */
  drained: boolean;
  elapsed_s: number;
  claims_per_s: number;
  latency_ms: LatencySummary;
  /** Mean claim latency of the first and the last tenth of the claims (deep vs. shallow queue). */
  latency_by_depth_ms: { first_tenth_mean: number; last_tenth_mean: number };
  double_claims: number;
  /** Checks on the table afterwards: all claimed, none pending, one `claimed` event per job. */
  check: { claimed_rows: number; pending_rows: number; claimed_events: number; ok: boolean };
  /** Group commit (hub and floor modes): commits, writes per commit, a commit's time split. */
  group_commit?: {
    commits: number;
    writes_per_commit: number;
    flush_ms_mean: number;
    claim_sql_ms_per_claim: number;
    txn_overhead_ms_per_commit: number;
    idle_wait_ms_mean: number;
  };
  cpu_pct: number;
  /** Bare mode: claims/s of every run (the result is the median one). */
  runs_claims_per_s?: number[];
}

const USAGE =
  "deno run --allow-all tests/bench/queue_inproc.ts --mode hub|sql|floor|bare --db PATH [flags]";
const FLAGS = {
  mode: {
    type: "string",
    arg: "hub|sql|floor|bare",
    default: "hub",
    help: "the hub's claimJob via db.write, one transaction per claim, a group of --workers " +
      "claims per transaction in a plain loop, or the bare loop",
  },
  db: { type: "string", arg: "PATH", help: "database file to create (required)" },
  jobs: { type: "number", default: 20_000, help: "queue depth" },
  workers: {
    type: "number",
    default: 16,
    help: "concurrent writers and claimers (hub mode), claims per transaction (floor mode)",
  },
  synchronous: { type: "string", arg: "FULL|NORMAL", default: "FULL", help: "SQLite synchronous" },
  repeat: {
    type: "number",
    default: 3,
    help: "bare mode: runs of the loop, the median one reported (fsync time varies)",
  },
  "max-s": {
    type: "number",
    default: 30,
    help: "stop claiming after this long (the result then says drained: false)",
  },
} satisfies Record<string, FlagSpec>;
const flags = parseCli(USAGE, FLAGS);
const mode = flags.mode as QueueInprocResult["mode"];
const path = flags.db;
const jobs = flags.jobs;
const workers = flags.workers;
const sync = flags.synchronous as "FULL" | "NORMAL";
/** Bare mode: runs of the loop (median reported; the disk's fsync time varies run to run). */
const repeat = Math.max(1, flags.repeat);
/** Stop claiming after this long (the result then says `drained: false`). */
const maxMs = flags["max-s"] * 1000;
if (
  !path || !["hub", "sql", "floor", "bare"].includes(mode) || !["FULL", "NORMAL"].includes(sync) ||
  !(jobs > 0) || !(workers > 0)
) {
  console.error(flagHelp(USAGE, FLAGS));
  Deno.exit(2);
}

const LEASE_MS = 5 * 60_000;
/** What the hub's default eligibility gives a node in no cluster: jobs bound to no cluster. */
const CAN: Eligibility = { clusters: [], templates: [], unscoped: true };
const cpu = new CpuMeter("self");

function newJob(i: number): NewJob {
  return {
    template: null,
    executor: "process",
    image: null,
    command: ["true"],
    env: {},
    mounts: [],
    gpu: false,
    cluster: null,
    node: null,
    payload: { i },
    priority: 0,
    max_attempts: 3,
    timeout_s: 3600,
  };
}

function byDepth(lat: NumList): QueueInprocResult["latency_by_depth_ms"] {
  const v = lat.values();
  const k = Math.max(1, Math.floor(v.length / 10));
  const mean = (a: Float64Array) => round(a.reduce((x, y) => x + y, 0) / Math.max(1, a.length), 3);
  return { first_tenth_mean: mean(v.subarray(0, k)), last_tenth_mean: mean(v.subarray(-k)) };
}

/** Counts how often each id was returned; ids are 1..jobs (fresh database). */
class ClaimLedger {
  #seen: Uint8Array;
  doubles = 0;
  constructor(n: number) {
    this.#seen = new Uint8Array(n + 1);
  }
  add(id: number): void {
    if (id >= this.#seen.length) {
      const next = new Uint8Array(id * 2);
      next.set(this.#seen);
      this.#seen = next;
    }
    if (this.#seen[id]++ > 0) this.doubles++;
  }
}

function check(db: DatabaseSync, claims: number): QueueInprocResult["check"] {
  const one = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n);
  const claimed = one("SELECT count(*) AS n FROM jobs WHERE state = 'claimed'");
  const pending = one("SELECT count(*) AS n FROM jobs WHERE state = 'pending'");
  let events = -1;
  try {
    events = one("SELECT count(*) AS n FROM job_events WHERE state = 'claimed'");
  } catch { /* bare schema has no events */ }
  const ok = claimed === claims && pending === jobs - claims &&
    (events === -1 || events === claims);
  return { claimed_rows: claimed, pending_rows: pending, claimed_events: events, ok };
}

async function hubMode(): Promise<QueueInprocResult> {
  const db: Database = await openDatabase(path!, { synchronous: sync });
  // Instrument this instance's flush: count commits, their duration and the idle gap before
  // each (time the oldest queued write waited for the group-commit timer is at least this gap).
  let fnCalls = 0;
  let sqlMs = 0;
  const flushMs = new NumList();
  const writesPer = new NumList();
  const idleMs = new NumList();
  let lastFlushEnd = performance.now();
  const original = db.flush.bind(db);
  db.flush = () => {
    const t0 = performance.now();
    const before = fnCalls;
    original();
    const t1 = performance.now();
    if (fnCalls > before) {
      flushMs.push(t1 - t0);
      writesPer.push(fnCalls - before);
      idleMs.push(t0 - lastFlushEnd);
    }
    lastFlushEnd = t1;
  };
  try {
    // Enqueue: `workers` concurrent writers, each awaiting its own durable insert.
    let next = 0;
    const enqLat = new NumList();
    const commits0 = db.commitBatches;
    const e0 = performance.now();
    await Promise.all(Array.from({ length: workers }, async () => {
      while (next < jobs) {
        const i = next++;
        const t = performance.now();
        await db.write((tx) => insertJob(tx, newJob(i), Date.now()));
        enqLat.push(performance.now() - t);
      }
    }));
    const enqS = (performance.now() - e0) / 1000;
    const enqCommits = db.commitBatches - commits0;

    // Claims: `workers` concurrent workers until the queue is empty.
    fnCalls = 0;
    flushMs.length = 0;
    writesPer.length = 0;
    idleMs.length = 0;
    const nodeIds = numberedIds("bench-q-", workers, 2);
    const ledger = new ClaimLedger(jobs);
    const lat = new NumList();
    let claims = 0;
    const commits1 = db.commitBatches;
    cpu.start();
    lastFlushEnd = performance.now();
    const c0 = performance.now();
    const deadline = c0 + maxMs;
    await Promise.all(Array.from({ length: workers }, async (_, w) => {
      const nodeId = nodeIds[w];
      // Bounded: the queue holds `jobs` jobs, each claimable once; and the deadline.
      for (let k = 0; k <= jobs && performance.now() < deadline; k++) {
        const t = performance.now();
        const r = await db.write((tx) => {
          fnCalls++;
          const s = performance.now();
          const out = claimJob(tx, nodeId, CAN, LEASE_MS, Date.now());
          sqlMs += performance.now() - s;
          return out;
        });
        if (!r) break;
        lat.push(performance.now() - t);
        ledger.add(r.row.id);
        claims++;
      }
    }));
    const elapsed = (performance.now() - c0) / 1000;
    const cpuPct = cpu.read().pct;
    const commits = db.commitBatches - commits1;
    const fm = flushMs.values();
    const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
    return {
      kind: "queue-inproc",
      mode,
      synchronous: sync,
      workers,
      jobs,
      enqueue: {
        jobs,
        elapsed_s: round(enqS, 3),
        jobs_per_s: round(jobs / enqS, 0),
        latency_ms: summarize(enqLat.values()),
        commits: enqCommits,
      },
      claims,
      drained: claims === jobs,
      elapsed_s: round(elapsed, 3),
      claims_per_s: round(claims / elapsed, 0),
      latency_ms: summarize(lat.values()),
      latency_by_depth_ms: byDepth(lat),
      double_claims: ledger.doubles,
      check: check(db.raw, claims),
      group_commit: {
        commits,
        writes_per_commit: round(fnCalls / Math.max(1, commits), 1),
        flush_ms_mean: round(sum(fm) / Math.max(1, fm.length), 3),
        claim_sql_ms_per_claim: round(sqlMs / Math.max(1, fnCalls), 4),
        txn_overhead_ms_per_commit: round((sum(fm) - sqlMs) / Math.max(1, fm.length), 3),
        idle_wait_ms_mean: round(sum(idleMs.values()) / Math.max(1, idleMs.length), 3),
      },
      cpu_pct: cpuPct,
    };
  } finally {
    db.close();
  }
}

/**
 * Claims in a plain loop, `group` per transaction (`db.transaction`: BEGIN IMMEDIATE … COMMIT,
 * then the WAL's fdatasync); with `group` > 1 each claim runs in its own savepoint, as in the
 * hub's group commit.
 */
async function sqlMode(group: number): Promise<QueueInprocResult> {
  const db = await openDatabase(path!, { synchronous: sync });
  try {
    const e0 = performance.now();
    const enqLat = new NumList();
    for (let i = 0; i < jobs; i++) {
      const t = performance.now();
      db.transaction((tx) => insertJob(tx, newJob(i), Date.now()));
      enqLat.push(performance.now() - t);
    }
    const enqS = (performance.now() - e0) / 1000;
    const ledger = new ClaimLedger(jobs);
    const lat = new NumList();
    let claims = 0;
    cpu.start();
    const nodeIds = numberedIds("bench-q-", group, 2);
    const savepoint = db.prepare("SAVEPOINT w");
    const release = db.prepare("RELEASE w");
    let sqlMs = 0;
    let txMs = 0;
    let commits = 0;
    const c0 = performance.now();
    const deadline = c0 + maxMs;
    // Bounded: each claim takes a job of `jobs`, a group that claims none ends it; and the deadline.
    for (let drained = false; !drained && claims < jobs && performance.now() < deadline;) {
      const t = performance.now();
      const got = db.transaction((tx) => {
        const rows: number[] = [];
        for (let w = 0; w < group; w++) {
          if (group > 1) savepoint.run();
          const s = performance.now();
          const r = claimJob(tx, nodeIds[w], CAN, LEASE_MS, Date.now());
          sqlMs += performance.now() - s;
          if (group > 1) release.run();
          if (!r) break;
          rows.push(r.row.id);
        }
        return rows;
      });
      const ms = performance.now() - t;
      txMs += ms;
      commits++;
      drained = got.length < group;
      // Every claim of a group is answered when its commit is on disk.
      for (const id of got) {
        lat.push(ms);
        ledger.add(id);
        claims++;
      }
    }
    const elapsed = (performance.now() - c0) / 1000;
    return {
      kind: "queue-inproc",
      mode,
      synchronous: sync,
      workers: group,
      jobs,
      enqueue: {
        jobs,
        elapsed_s: round(enqS, 3),
        jobs_per_s: round(jobs / enqS, 0),
        latency_ms: summarize(enqLat.values()),
      },
      claims,
      drained: claims === jobs,
      elapsed_s: round(elapsed, 3),
      claims_per_s: round(claims / elapsed, 0),
      latency_ms: summarize(lat.values()),
      latency_by_depth_ms: byDepth(lat),
      double_claims: ledger.doubles,
      check: check(db.raw, claims),
      group_commit: group > 1
        ? {
          commits,
          writes_per_commit: round(claims / Math.max(1, commits), 1),
          flush_ms_mean: round(txMs / Math.max(1, commits), 3),
          claim_sql_ms_per_claim: round(sqlMs / Math.max(1, claims), 4),
          txn_overhead_ms_per_commit: round((txMs - sqlMs) / Math.max(1, commits), 3),
          idle_wait_ms_mean: 0,
        }
        : undefined,
      cpu_pct: cpu.read().pct,
    };
  } finally {
    db.close();
  }
}

/** The bare loop `repeat` times (a fresh file each), reporting the median run by claims/s. */
function bareMode(): QueueInprocResult {
  const runs: QueueInprocResult[] = [];
  for (let r = 0; r < repeat; r++) runs.push(bareRun(r === 0 ? path! : `${path}.${r}`));
  const median = medianBy(runs, (x) => x.claims_per_s);
  return {
    ...median,
    runs_claims_per_s: runs.map((x) => x.claims_per_s),
    double_claims: runs.reduce((a, x) => a + x.double_claims, 0),
    check: { ...median.check, ok: runs.every((x) => x.check.ok) },
  };
}

function bareRun(file: string): QueueInprocResult {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${sync}`);
    db.exec(`CREATE TABLE jobs (
      id INTEGER PRIMARY KEY, state TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
      claimed_by TEXT, claimed_at INTEGER, payload TEXT)`);
    db.exec("CREATE INDEX jobs_pending ON jobs (priority DESC, id) WHERE state = 'pending'");
    const begin = db.prepare("BEGIN IMMEDIATE");
    const commit = db.prepare("COMMIT");
    // Enqueue, one transaction per job (same durability as a claim).
    const insert = db.prepare("INSERT INTO jobs (state, payload) VALUES ('pending', ?)");
    const enqLat = new NumList();
    const e0 = performance.now();
    for (let i = 0; i < jobs; i++) {
      const t = performance.now();
      begin.run();
      insert.run(`{"i":${i}}`);
      commit.run();
      enqLat.push(performance.now() - t);
    }
    const enqS = (performance.now() - e0) / 1000;
    const claim = db.prepare(
      `UPDATE jobs SET state = 'claimed', claimed_by = ?, claimed_at = ?
       WHERE id = (SELECT id FROM jobs WHERE state = 'pending' ORDER BY priority DESC, id LIMIT 1)
       RETURNING id`,
    );
    const ledger = new ClaimLedger(jobs);
    const lat = new NumList();
    let claims = 0;
    cpu.start();
    const c0 = performance.now();
    const deadline = c0 + maxMs;
    for (let k = 0; k <= jobs && performance.now() < deadline; k++) {
      const t = performance.now();
      begin.run();
      const row = claim.get("bench-q-01", Date.now()) as { id: number } | undefined;
      commit.run();
      if (!row) break;
      lat.push(performance.now() - t);
      ledger.add(Number(row.id));
      claims++;
    }
    const elapsed = (performance.now() - c0) / 1000;
    return {
      kind: "queue-inproc",
      mode,
      synchronous: sync,
      workers: 1,
      jobs,
      enqueue: {
        jobs,
        elapsed_s: round(enqS, 3),
        jobs_per_s: round(jobs / enqS, 0),
        latency_ms: summarize(enqLat.values()),
      },
      claims,
      drained: claims === jobs,
      elapsed_s: round(elapsed, 3),
      claims_per_s: round(claims / elapsed, 0),
      latency_ms: summarize(lat.values()),
      latency_by_depth_ms: byDepth(lat),
      double_claims: ledger.doubles,
      check: check(db, claims),
      cpu_pct: cpu.read().pct,
    };
  } finally {
    db.close();
  }
}

const result = mode === "hub"
  ? await hubMode()
  : mode === "sql"
  ? await sqlMode(1)
  : mode === "floor"
  ? await sqlMode(workers)
  : bareMode();
console.log(JSON.stringify(result));
