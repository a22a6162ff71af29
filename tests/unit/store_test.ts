/** The SQLite store: pragmas, migrations, group commit, idempotent batches, rollups, pruning. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase, SCHEMA_VERSION } from "../../hub/store/db.ts";
import {
  countSamples,
  pruneRollups,
  pruneSamples,
  seriesFromRaw,
  seriesFromRollups,
  storeBatch,
  storedSeqs,
} from "../../hub/store/samples.ts";
import { SERIES } from "../../shared/metrics.ts";
import { newestSampleText } from "../../hub/store/nodes.ts";
import { makeSample } from "../helpers/samples.ts";

async function tempDb() {
  const dir = await Deno.makeTempDir({ prefix: "store-" });
  return { dir, db: await openDatabase(join(dir, "fleet.db")) };
}

Deno.test("store: WAL, synchronous=FULL, migrated to the current version", async () => {
  const { dir, db } = await tempDb();
  assert.equal(db.get<{ journal_mode: string }>("PRAGMA journal_mode")!.journal_mode, "wal");
  // 2 = FULL
  assert.equal(db.get<{ synchronous: number }>("PRAGMA synchronous")!.synchronous, 2);
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
  assert.deepEqual(a.fresh.map((s) => s.seq), [1, 2, 3]);
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
  assert.equal(await db.write((tx) => pruneSamples(tx, now - 48 * 3_600_000, 10)), 10);
  assert.equal(countSamples(db), 20);
  while (await db.write((tx) => pruneSamples(tx, now - 48 * 3_600_000, 10)) > 0) { /* drain */ }
  assert.deepEqual(storedSeqs(db, "n1"), [100, 101, 102, 103, 104]);
  assert.equal(await db.write((tx) => pruneRollups(tx, now - 86_400_000, 1000)), 1);
  db.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("store: a claim walks the pending index, never sorts the queue", async () => {
  const { dir, db } = await tempDb();
  const { CLAIM_SQL, claimJob, insertJob } = await import("../../hub/store/jobs.ts");
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
  assert.deepEqual([a!.row.priority, b!.row.priority], [2, 2]);
  assert.ok(a!.row.id < b!.row.id);
  db.close();
  await Deno.remove(dir, { recursive: true });
});
