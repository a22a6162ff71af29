/** The SQLite store: pragmas, migrations, group commit, idempotent batches, rollups, pruning. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type Database, openDatabase, SCHEMA_VERSION } from "../../hub/core/db.ts";
import { MIGRATIONS } from "../../hub/core/migrations.ts";
import {
  type ClockPolicy,
  countSamples,
  pruneRollups,
  pruneSamples,
  seriesFromRaw,
  seriesFromRollups,
  storeBatch,
  storedSeqs,
} from "../../hub/fleet/store.ts";
import { SERIES } from "../../shared/metrics.ts";
import { getNodeRow, newestSampleText } from "../../hub/fleet/store.ts";
import { BadInput } from "../../hub/core/errors.ts";
import {
  type IngestBatch,
  type Sample,
  SEQ_FIRST_MAX,
  SEQ_MAX,
  SEQ_PER_SILENT_HOUR,
  SEQ_WINDOW,
} from "../../shared/protocol/mod.ts";
import { makeSample } from "../helpers/samples.ts";
import type { NewJob } from "../../hub/jobs/store.ts";

async function tempDb() {
  const dir = await Deno.makeTempDir({ prefix: "store-" });
  return { dir, db: await openDatabase(join(dir, "fleet.db")) };
}

Deno.test("store: WAL, durable commits, migrated to the current version", async () => {
  const { dir, db } = await tempDb();
  assert.equal(db.get<{ journal_mode: string }>("PRAGMA journal_mode")!.journal_mode, "wal");
  // 1 = NORMAL: SQLite writes the WAL without fsync and the Database fdatasyncs it off-thread.
  assert.equal(db.get<{ synchronous: number }>("PRAGMA synchronous")!.synchronous, 1);
  assert.equal(db.syncOffThread, true);
  assert.equal(db.fsync, "auto");
  // The fsync inside the COMMIT instead: 2 = FULL.
  const inline = await openDatabase(join(dir, "inline.db"), { fsync: "inline" });
  assert.equal(inline.get<{ synchronous: number }>("PRAGMA synchronous")!.synchronous, 2);
  assert.equal(inline.syncOffThread, false);
  inline.close();
  // No WAL file to sync (in memory): SQLite's own.
  const memory = await openDatabase(":memory:");
  assert.equal(memory.fsync, "inline");
  memory.close();
  assert.equal(
    db.get<{ user_version: number }>("PRAGMA user_version")!.user_version,
    SCHEMA_VERSION,
  );
  db.close();
  // Reopening does not migrate again.
  const again = await openDatabase(join(dir, "fleet.db"));
  assert.equal(
    again.get<{ user_version: number }>("PRAGMA user_version")!.user_version,
    SCHEMA_VERSION,
  );
  again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: a write is settled only after the WAL's fdatasync; the loop runs meanwhile", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store-" });
  const db = await openDatabase(join(dir, "fleet.db"), { fsync: "thread" });
  assert.equal(db.fsyncNow.where, "thread");
  await db.write((tx) => tx.run("CREATE TABLE t (v INTEGER)"));
  // Holds each fdatasync until released: the disk is "slow". (The real call runs after.)
  const real = Deno.FsFile.prototype.syncData;
  const held: (() => void)[] = [];
  let syncs = 0;
  Deno.FsFile.prototype.syncData = function (this: Deno.FsFile) {
    syncs++;
    return new Promise<void>((resolve, reject) =>
      held.push(() => real.call(this).then(resolve, reject))
    );
  };
  try {
    let first = false;
    const a = db.write((tx) => tx.run("INSERT INTO t VALUES (1)")).then(() => first = true);
    await new Promise((r) => setTimeout(r, 30));
    // Committed (this connection reads it) but not settled: its fdatasync has not returned.
    assert.equal(db.get<{ n: number }>("SELECT count(*) AS n FROM t")!.n, 1);
    assert.equal(first, false, "settled before its fdatasync");
    assert.equal(syncs, 1);
    // The next group commits while the first sync is in flight, and waits for a sync of its own.
    let second = false;
    const b = db.write((tx) => tx.run("INSERT INTO t VALUES (2)")).then(() => second = true);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(db.get<{ n: number }>("SELECT count(*) AS n FROM t")!.n, 2);
    held.shift()!();
    await a;
    assert.equal(first, true);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(second, false, "the first sync started before the second commit");
    assert.equal(syncs, 2);
    held.shift()!();
    await b;
    // A failed fdatasync fails the writes it covers: nothing is acknowledged.
    Deno.FsFile.prototype.syncData = () => Promise.reject(new Error("EIO"));
    await assert.rejects(() => db.write((tx) => tx.run("INSERT INTO t VALUES (3)")), /EIO/);
  } finally {
    Deno.FsFile.prototype.syncData = real;
  }
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: auto fsync runs here on a fast disk, moves to a thread on a slow one and back", async () => {
  const { dir, db } = await tempDb();
  await db.write((tx) => tx.run("CREATE TABLE t (v INTEGER)"));
  // The disk is this test's: fdatasync takes `slowMs` (0 = instant) on either path, so what is
  // tested is where the hub puts the call as the disk's speed changes (durability is tested above).
  const realSync = Deno.FsFile.prototype.syncDataSync;
  const realAsync = Deno.FsFile.prototype.syncData;
  let slowMs = 0;
  const calls = { inline: 0, thread: 0 };
  Deno.FsFile.prototype.syncDataSync = function () {
    calls.inline++;
    const until = performance.now() + slowMs; // a slow disk blocks the caller this long
    while (performance.now() < until) { /* wait */ }
  };
  Deno.FsFile.prototype.syncData = async function () {
    calls.thread++;
    if (slowMs) await new Promise((r) => setTimeout(r, slowMs));
  };
  try {
    const writes = async (n: number) => {
      for (let i = 0; i < n; i++) await db.write((tx) => tx.run("INSERT INTO t VALUES (?)", i));
    };
    await writes(5);
    assert.equal(db.fsyncNow.where, "inline", "a fast disk: fdatasync right here");
    assert.equal(calls.thread, 0);
    slowMs = 8;
    await writes(10);
    assert.equal(db.fsyncNow.where, "thread", `slow: ${JSON.stringify(db.fsyncNow)}`);
    assert.ok(calls.thread > 0);
    slowMs = 0;
    await writes(30);
    assert.equal(db.fsyncNow.where, "inline", `fast again: ${JSON.stringify(db.fsyncNow)}`);
    assert.equal(db.get<{ n: number }>("SELECT count(*) AS n FROM t")!.n, 45);
  } finally {
    Deno.FsFile.prototype.syncDataSync = realSync;
    Deno.FsFile.prototype.syncData = realAsync;
  }
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: a database from a newer build is refused", async () => {
  const { dir, db } = await tempDb();
  db.raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  await assert.rejects(() => openDatabase(join(dir, "fleet.db")), /newer than this build/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: concurrent writes share one commit; a failing write does not undo others", async () => {
  const { dir, db } = await tempDb();
  const before = db.commitBatches;
  const writes = Array.from({ length: 50 }, (_, i) =>
    db.write((tx) => {
      if (i === 7) throw new Error("write 7 fails");
      return storeBatch(tx, { node_id: `n${i}`, samples: [makeSample(1)] }, Date.now());
    }));
  const results = await Promise.allSettled(writes);
  assert.equal(db.commitBatches - before, 1, "one group commit for 50 writes");
  assert.equal(results.filter((r) => r.status === "rejected").length, 1);
  assert.equal(countSamples(db), 49);
  assert.equal(db.get<{ n: number }>("SELECT count(*) AS n FROM nodes WHERE id = 'n7'")!.n, 0);
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: batches are idempotent on (node, seq); newest sample wins by seq", async () => {
  const { dir, db } = await tempDb();
  const now = Date.now();
  const a = await db.write((tx) =>
    storeBatch(tx, { node_id: "n1", samples: [makeSample(3), makeSample(1), makeSample(2)] }, now)
  );
  assert.deepEqual([a.stored, a.duplicates, a.acked_seq, a.last_seq], [3, 0, 3, 3]);
  assert.equal(a.newest?.seq, 3, "the newest sample stored, by seq");
  const b = await db.write((tx) =>
    storeBatch(tx, { node_id: "n1", samples: [makeSample(2), makeSample(3), makeSample(4)] }, now)
  );
  assert.deepEqual([b.stored, b.duplicates, b.acked_seq, b.last_seq], [1, 2, 4, 4]);
  // A late replay of an old seq does not replace the newest sample.
  const late = await db.write((tx) =>
    storeBatch(tx, { node_id: "n1", samples: [makeSample(2, { uptime_s: 1 })] }, now)
  );
  assert.deepEqual([late.stored, late.duplicates, late.last_seq], [0, 1, 4]);
  assert.deepEqual(storedSeqs(db, "n1"), [1, 2, 3, 4]);
  const row = db.get<{ last_seq: number }>("SELECT last_seq FROM nodes WHERE id = 'n1'")!;
  assert.equal(row.last_seq, 4);
  assert.equal(JSON.parse(newestSampleText(db, "n1")!).seq, 4);
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: rollups keep min/avg/max per minute and match raw; gaps are null", async () => {
  const { dir, db } = await tempDb();
  const t0 = Date.UTC(2026, 10, 26, 10, 0, 0);
  const samples = [
    makeSample(1, { ts: t0 + 1000, cpu: { pct: 10 } }),
    makeSample(2, { ts: t0 + 20_000, cpu: { pct: 30 } }),
    makeSample(3, { ts: t0 + 40_000, cpu: { pct: 20 } }),
    // Minute 2 has no data; minute 3 has one sample without CPU.
    makeSample(4, { ts: t0 + 190_000, cpu: undefined }),
  ];
  await db.write((tx) => storeBatch(tx, { node_id: "n1", samples }, Date.now()));
  const roll = seriesFromRollups(db, "n1", t0, t0 + 240_000, 60_000);
  assert.deepEqual(roll.ts, [t0, t0 + 60_000, t0 + 120_000, t0 + 180_000]);
  assert.deepEqual(roll.series.cpu_pct.min, [10, null, null, null]);
  assert.deepEqual(roll.series.cpu_pct.max, [30, null, null, null]);
  assert.deepEqual(roll.series.cpu_pct.avg, [20, null, null, null]);
  assert.equal(roll.series.mem_pct.avg[3], 25);
  const raw = seriesFromRaw(db, "n1", t0, t0 + 240_000, 60_000);
  assert.deepEqual(raw.series.cpu_pct, roll.series.cpu_pct);
  // Replaying the same batch changes no rollup.
  await db.write((tx) => storeBatch(tx, { node_id: "n1", samples }, Date.now()));
  assert.deepEqual(seriesFromRollups(db, "n1", t0, t0 + 240_000, 60_000), roll);
  for (const s of SERIES) assert.ok(s in roll.series, `series ${s}`);
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: pruning deletes only expired rows, in bounded batches", async () => {
  const { dir, db } = await tempDb();
  const now = Date.now();
  const old = Array.from(
    { length: 25 },
    (_, i) => makeSample(i + 1, { ts: now - 3 * 86_400_000 + i }),
  );
  const fresh = Array.from({ length: 5 }, (_, i) => makeSample(100 + i, { ts: now - i }));
  await db.write((tx) => storeBatch(tx, { node_id: "n1", samples: [...old, ...fresh] }, now));
  // A second node: one round walks every node, and its bound spans them.
  const old2 = old.slice(0, 7).map((x) => ({ ...x }));
  await db.write((tx) =>
    storeBatch(tx, { node_id: "n2", samples: [...old2, makeSample(50, { ts: now })] }, now)
  );
  assert.equal(await db.write((tx) => pruneSamples(tx, now - 48 * 3_600_000, 10)), 10);
  assert.equal(countSamples(db), 28);
  assert.equal(await db.write((tx) => pruneSamples(tx, now - 48 * 3_600_000, 30)), 22);
  assert.equal(await db.write((tx) => pruneSamples(tx, now - 48 * 3_600_000, 10)), 0);
  assert.deepEqual(storedSeqs(db, "n1"), [100, 101, 102, 103, 104]);
  assert.deepEqual(storedSeqs(db, "n2"), [50]);
  // The old minute of each node.
  assert.equal(await db.write((tx) => pruneRollups(tx, now - 86_400_000, 1000)), 2);
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: a claim walks the pending index, never sorts the queue", async () => {
  const { dir, db } = await tempDb();
  const { CLAIM_SQL, claimJob, getJobRow, insertJob } = await import("../../hub/jobs/store.ts");
  const job = {
    template: null,
    executor: "process" as const,
    image: null,
    command: "true",
    env: {},
    mounts: [],
    gpu: false,
    cluster: null,
    node: null,
    payload: null,
    priority: 0,
    max_attempts: 3,
    timeout_s: 60,
  };
  await db.write((tx) => {
    for (let i = 0; i < 200; i++) insertJob(tx, { ...job, priority: i % 3 }, Date.now());
  });
  const plan = db.all<{ detail: string }>(
    `EXPLAIN QUERY PLAN ${CLAIM_SQL}`,
    "n1",
    0,
    0,
    "[]",
    1,
    "[]",
  ).map((r) => r.detail).join("\n");
  assert.match(plan, /jobs_pending/);
  assert.doesNotMatch(plan, /TEMP B-TREE/);
  // Highest priority first, oldest first within it.
  const can = { clusters: [], templates: [], unscoped: true };
  const a = await db.write((tx) => claimJob(tx, "n1", can, 60_000, Date.now()));
  const b = await db.write((tx) => claimJob(tx, "n1", can, 60_000, Date.now()));
  const priority = (id: number) => getJobRow(db, id)!.priority;
  assert.deepEqual([priority(a!.row.id), priority(b!.row.id)], [2, 2]);
  assert.ok(a!.row.id < b!.row.id);
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: a claim and a report's next claim hand out the job as its row holds it", async () => {
  const { dir, db } = await tempDb();
  const { claimJob, finishJobClaimNext, getJobRow, heartbeatJob, insertJob, jobSpec } =
    await import("../../hub/jobs/store.ts");
  const now = Date.now();
  // Every field a worker's spec carries, set to something other than its default.
  const jobs: NewJob[] = [
    {
      template: "sdxl",
      executor: "docker",
      image: "127.0.0.1:5000/fleet/sdxl:1",
      command: ["python3", "/app/generate.py"],
      env: { MODEL: "base", STEPS: "30" },
      mounts: [{ source: "/data/models", target: "/models", readonly: true }],
      gpu: true,
      memory_b: 2 * 1024 ** 3,
      cpus: 1.5,
      cluster: null,
      node: null,
      payload: { prompt: "a lighthouse", seed: 7 },
      priority: 0,
      max_attempts: 2,
      timeout_s: 900,
    },
    {
      template: null,
      executor: "process",
      image: null,
      command: "echo second",
      env: {},
      mounts: [],
      gpu: false,
      cluster: null,
      node: null,
      payload: [1, 2, 3],
      priority: 0,
      max_attempts: 3,
      timeout_s: 60,
    },
  ];
  await db.write((tx) => jobs.forEach((j) => insertJob(tx, j, now)));
  const can = { clusters: [], templates: [], unscoped: true };
  const first = (await db.write((tx) => claimJob(tx, "n1", can, 60_000, now)))!;
  assert.deepEqual(jobSpec(first.row), jobSpec(getJobRow(db, first.row.id)!));
  assert.equal(jobSpec(first.row).memory_b, 2 * 1024 ** 3);
  assert.deepEqual(jobSpec(first.row).mounts, jobs[0].mounts);
  assert.deepEqual(first.transition, {
    job_id: String(first.row.id),
    state: "claimed",
    previous: "pending",
    node: "n1",
    attempt: 1,
    detail: null,
  });
  // Running (a heartbeat), then done: the report's next claim is the second job, whole.
  await db.write((tx) => heartbeatJob(tx, first.row.id, "n1", 1, true, undefined, 60_000, now));
  const done =
    (await db.write((tx) =>
      finishJobClaimNext(tx, first.row.id, "n1", 1, { ok: true, result: 1 }, can, 60_000, now)
    ))!;
  assert.equal(done.row.state, "done");
  assert.equal(getJobRow(db, first.row.id)!.state, "done");
  assert.deepEqual(done.transition, {
    job_id: String(first.row.id),
    state: "done",
    previous: "running",
    node: "n1",
    attempt: 1,
    detail: null,
  });
  const next = done.next!;
  assert.notEqual(next.row.id, first.row.id);
  assert.deepEqual(jobSpec(next.row), jobSpec(getJobRow(db, next.row.id)!));
  assert.deepEqual(jobSpec(next.row).payload, [1, 2, 3]);
  // A failed claim that never ran ends from `claimed`, back in the queue with its error.
  const failed =
    (await db.write((tx) =>
      finishJobClaimNext(tx, next.row.id, "n1", 1, { ok: false, error: "boom" }, null, 60_000, now)
    ))!;
  assert.deepEqual(
    [failed.row.state, failed.transition.previous, failed.transition.detail],
    ["pending", "claimed", "boom"],
  );
  db.close();
  await Deno.remove(dir, { recursive: true });
});

/** Stores `batch` at hub time `now`; returns the error instead of throwing. */
async function tryStore(db: Database, batch: IngestBatch, now: number, policy?: ClockPolicy) {
  try {
    return await db.write((tx) => storeBatch(tx, batch, now, policy));
  } catch (error) {
    return error as Error;
  }
}

Deno.test("store: a seq beyond the node's window is refused whole and changes nothing", async () => {
  const { dir, db } = await tempDb();
  const now = Date.now();
  await db.write((tx) =>
    storeBatch(tx, { node_id: "n1", samples: [makeSample(1), makeSample(2)] }, now)
  );
  for (const seq of [Number.MAX_SAFE_INTEGER, SEQ_MAX, 2 + SEQ_WINDOW + 1]) {
    const err = await tryStore(
      db,
      { node_id: "n1", samples: [makeSample(3), makeSample(seq)] },
      now,
    );
    assert.ok(err instanceof BadInput, `seq ${seq} refused`);
    assert.equal(err.status, 400);
    assert.equal(err.errors?.[0].path, "samples.1.seq");
    assert.match(err.errors![0].message, /last seq 2: allowed 1 to 1000002/);
  }
  assert.deepEqual(storedSeqs(db, "n1"), [1, 2], "nothing stored, not even the good seq 3");
  assert.equal(getNodeRow(db, "n1")!.last_seq, 2);
  // The edge of the window is accepted.
  const edge = await db.write((tx) =>
    storeBatch(tx, { node_id: "n1", samples: [makeSample(2 + SEQ_WINDOW)] }, now)
  );
  assert.equal(edge.last_seq, 2 + SEQ_WINDOW);
  // A node the hub holds no seq for may start anywhere up to SEQ_FIRST_MAX (an old spool).
  const first = await tryStore(
    db,
    { node_id: "n2", samples: [makeSample(SEQ_FIRST_MAX + 1)] },
    now,
  );
  assert.ok(first instanceof BadInput);
  assert.match(first.message, /first seq: allowed 1 to 1099511627776/);
  await db.write((tx) => storeBatch(tx, { node_id: "n2", samples: [makeSample(5_000_000)] }, now));
  // Every whole hour of silence widens the window (an agent cut off for long keeps counting).
  const then = now - 30 * 86_400_000;
  await db.write((tx) => storeBatch(tx, { node_id: "n3", samples: [makeSample(7)] }, then));
  const allowed = 7 + SEQ_WINDOW + 720 * SEQ_PER_SILENT_HOUR;
  const beyond = await tryStore(db, { node_id: "n3", samples: [makeSample(allowed + 1)] }, now);
  assert.ok(beyond instanceof BadInput);
  const late = await db.write((tx) =>
    storeBatch(tx, { node_id: "n3", samples: [makeSample(allowed)] }, now)
  );
  assert.equal(late.last_seq, allowed);
  db.close();
  await Deno.remove(dir, { recursive: true });
});

const YEAR = 365.25 * 86_400_000;
const HOUR = 3_600_000;
const POLICY: ClockPolicy = {
  maxSkewMs: 30_000,
  rawRetentionMs: 48 * HOUR,
  rollupRetentionMs: 30 * 86_400_000,
};

function rows(db: Database, node: string) {
  return db.all<
    { seq: number; ts: number; recv_ts: number; agent_ts: number | null; data: string }
  >(
    "SELECT seq, ts, recv_ts, agent_ts, data FROM samples WHERE node_id = ? ORDER BY seq",
    node,
  );
}

Deno.test("store: samples from a skewed clock go on hub time, beside their receive time", async () => {
  const { dir, db } = await tempDb();
  const now = Date.now();
  const ahead = now + 5 * YEAR;
  // An agent 5 years ahead says so in sent_at: every sample is shifted by the skew.
  const a = await db.write((tx) =>
    storeBatch(
      tx,
      {
        node_id: "a",
        sent_at: ahead + 100,
        samples: [makeSample(1, { ts: ahead - 5000 }), makeSample(2, { ts: ahead })],
      },
      now,
      POLICY,
    )
  );
  assert.equal(a.clock_skew_ms, 5 * YEAR + 100);
  assert.deepEqual(
    rows(db, "a").map((r) => [r.ts, r.recv_ts, r.agent_ts, JSON.parse(r.data).ts]),
    [[now - 5100, now, ahead - 5000, now - 5100], [now - 100, now, ahead, now - 100]],
  );
  assert.equal(a.newest!.ts, now - 100, "the live stream gets the placed time");
  assert.equal(getNodeRow(db, "a")!.clock_skew_ms, 5 * YEAR + 100);

  // Older agents (no sent_at): 100 years ahead, and ts = 1, land at the receive time.
  for (const [node, ts] of [["b", now + 100 * YEAR], ["c", 1]] as const) {
    const r = await db.write((tx) =>
      storeBatch(tx, { node_id: node, samples: [makeSample(1, { ts })] }, now, POLICY)
    );
    assert.equal(r.clock_skew_ms, ts - now, node);
    assert.deepEqual(rows(db, node).map((x) => [x.ts, x.recv_ts, x.agent_ts]), [[now, now, ts]]);
  }
  // An in-sync agent replaying an hour-old sample keeps its ts.
  const d = await db.write((tx) =>
    storeBatch(
      tx,
      {
        node_id: "d",
        sent_at: now + 200,
        samples: [makeSample(1, { ts: now - HOUR })],
      },
      now,
      POLICY,
    )
  );
  assert.equal(d.clock_skew_ms, null);
  assert.deepEqual(rows(db, "d").map((x) => [x.ts, x.agent_ts]), [[now - HOUR, null]]);
  // An in-sync agent whose sample has an impossible ts (clock stepped since): kept, at recv time.
  await db.write((tx) =>
    storeBatch(tx, { node_id: "d", sent_at: now, samples: [makeSample(2, { ts: 1 })] }, now, POLICY)
  );
  assert.deepEqual(rows(db, "d").map((x) => x.ts), [now - HOUR, now]);

  // A prune keeps everything that was placed on hub time.
  const before = countSamples(db);
  await db.write((tx) => pruneSamples(tx, now - POLICY.rawRetentionMs, 1000));
  assert.equal(countSamples(db), before, "nothing acknowledged is pruned at once");

  // Hysteresis: a skewed clock is back only well inside the bound, so the state cannot flap.
  const at = (sentAt: number, seq: number) =>
    db.write((tx) =>
      storeBatch(
        tx,
        {
          node_id: "a",
          sent_at: sentAt,
          samples: [makeSample(seq, { ts: sentAt })],
        },
        now,
        POLICY,
      )
    );
  assert.equal((await at(now + 20_000, 3)).clock_skew_ms, 20_000, "still off at 20 s");
  assert.equal((await at(now + 1000, 4)).clock_skew_ms, null, "back in sync");
  assert.equal((await at(now + 20_000, 5)).clock_skew_ms, null, "20 s is within 30 s");
  assert.equal(getNodeRow(db, "a")!.clock_skew_ms, null);
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: unknown sample keys are counted and dropped, the rest stored", async () => {
  const { dir, db } = await tempDb();
  const odd = (seq: number, extra: Record<string, unknown>) =>
    ({ ...makeSample(seq), ...extra }) as Sample;
  const r = await db.write((tx) =>
    storeBatch(tx, {
      node_id: "u",
      samples: [odd(1, { fans: [1200], npu: { pct: 3 } }), odd(2, { fans: [1300] })],
    }, Date.now())
  );
  assert.equal(r.stored, 2);
  assert.equal(r.unknown_keys, 3);
  assert.deepEqual(r.unknown_key_names.sort(), ["fans", "npu"]);
  const stored = JSON.parse(newestSampleText(db, "u")!);
  assert.equal(stored.fans, undefined);
  assert.equal(stored.cpu.pct, 12.5);
  await db.write((tx) =>
    storeBatch(tx, { node_id: "u", samples: [odd(3, { fans: [1] })] }, Date.now())
  );
  assert.equal(getNodeRow(db, "u")!.unknown_keys, 4, "the node keeps the total");
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: the migration frees a node pinned by a seq above 2^48", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store-" });
  const path = join(dir, "fleet.db");
  const mine = MIGRATIONS.findIndex((m) => m.includes("ADD COLUMN recv_ts"));
  assert.ok(mine > 0);
  const raw = new DatabaseSync(path);
  for (let v = 0; v < mine; v++) raw.exec(MIGRATIONS[v]);
  raw.exec(`PRAGMA user_version = ${mine}`);
  const pinned = Number.MAX_SAFE_INTEGER;
  raw.exec(`INSERT INTO nodes (id, name, last_seq) VALUES ('p', 'p', ${pinned}), ('q', 'q', 40)`);
  for (const [node, seq] of [["p", 1], ["p", 2], ["p", pinned], ["q", 40]] as const) {
    raw.prepare("INSERT INTO samples (node_id, seq, ts, data) VALUES (?, ?, 1, '{}')").run(
      node,
      seq,
    );
  }
  raw.close();
  const db = await openDatabase(path);
  assert.deepEqual(storedSeqs(db, "p"), [1, 2]);
  assert.equal(getNodeRow(db, "p")!.last_seq, 2);
  assert.equal(getNodeRow(db, "q")!.last_seq, 40, "other nodes untouched");
  assert.deepEqual(storedSeqs(db, "q"), [40]);
  db.close();
  await Deno.remove(dir, { recursive: true });
});
