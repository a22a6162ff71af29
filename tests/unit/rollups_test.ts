/**
 * The rollup buffer on a real SQLite file: minutes held in memory answer history at once, are
 * written on flush, vanish with a rolled-back write, and are rebuilt from the samples after a
 * hub stopped without writing them (kill -9).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Database, openDatabase } from "../../hub/core/db.ts";
import {
  deleteNode,
  pruneSamples,
  seriesFromRaw,
  seriesFromRollups,
  storeBatch,
} from "../../hub/fleet/store.ts";
import { attachRollupBuffer, catchUpRollups } from "../../hub/fleet/rollups.ts";
import { makeSample } from "../helpers/samples.ts";

const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);
const RANGE = [T0, T0 + 180_000, 60_000] as const;

/** Samples of `nodeId` at 20 s steps from T0 with CPU `pcts[i]`. */
function batch(nodeId: string, firstSeq: number, pcts: number[]) {
  return {
    node_id: nodeId,
    samples: pcts.map((pct, i) =>
      makeSample(firstSeq + i, { ts: T0 + (firstSeq + i - 1) * 20_000, cpu: { pct } })
    ),
  };
}

function rowCount(db: Database): number {
  return db.get<{ n: number }>("SELECT count(*) AS n FROM rollups")!.n;
}

function mark(db: Database): number {
  return db.get<{ sample_id: number }>("SELECT sample_id FROM rollup_state")!.sample_id;
}

async function withDir(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rollups-" });
  try {
    await fn(join(dir, "fleet.db"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("rollups: held minutes answer history before they are written; a flush writes them", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    const buffer = attachRollupBuffer(db);
    await db.write((tx) => storeBatch(tx, batch("n1", 1, [10, 30, 20, 50]), Date.now()));
    assert.equal(rowCount(db), 0, "nothing written per batch");
    assert.equal(buffer.size, 2, "two minutes held");
    const held = seriesFromRollups(db, "n1", ...RANGE);
    assert.deepEqual(held.series.cpu_pct.min, [10, 50, null]);
    assert.deepEqual(held.series.cpu_pct.max, [30, 50, null]);
    assert.deepEqual(held.series.cpu_pct.avg, [20, 50, null]);
    assert.deepEqual(held.series.cpu_pct, seriesFromRaw(db, "n1", ...RANGE).series.cpu_pct);

    assert.equal(await db.write((tx) => buffer.flush(tx)), 2);
    assert.equal(rowCount(db), 2);
    assert.equal(buffer.size, 0);
    assert.equal(mark(db), 4);
    assert.deepEqual(seriesFromRollups(db, "n1", ...RANGE), held);

    // The rest of minute 2 arrives: held again, merged with the row on the next flush.
    await db.write((tx) => storeBatch(tx, batch("n1", 5, [70]), Date.now()));
    const merged = seriesFromRollups(db, "n1", ...RANGE).series.cpu_pct;
    assert.deepEqual([merged.min[1], merged.max[1], merged.avg[1]], [50, 70, 60]);
    await db.write((tx) => buffer.flush(tx));
    assert.deepEqual(seriesFromRollups(db, "n1", ...RANGE).series.cpu_pct, merged);
    // A replayed batch (duplicates) adds nothing.
    await db.write((tx) => storeBatch(tx, batch("n1", 1, [10, 30, 20, 50]), Date.now()));
    assert.equal(buffer.size, 0);
    db.close();
  });
});

Deno.test("rollups: a write rolled back takes its minutes with it", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    const buffer = attachRollupBuffer(db);
    await db.write((tx) => storeBatch(tx, batch("n1", 1, [10]), Date.now()));
    const failing = db.write((tx) => {
      storeBatch(tx, batch("n1", 2, [90, 90]), Date.now());
      throw new Error("after the batch");
    });
    const next = db.write((tx) => storeBatch(tx, batch("n2", 1, [40]), Date.now()));
    await assert.rejects(failing, /after the batch/);
    await next;
    const n1 = seriesFromRollups(db, "n1", ...RANGE).series.cpu_pct;
    assert.deepEqual([n1.min[0], n1.max[0], n1.avg[0]], [10, 10, 10], "the 90s are gone");
    assert.equal(seriesFromRollups(db, "n2", ...RANGE).series.cpu_pct.avg[0], 40);
    assert.equal(buffer.size, 2);

    // A flush rolled back keeps what it held (rebuilt from the samples).
    await assert.rejects(db.write((tx) => {
      buffer.flush(tx);
      throw new Error("flush undone");
    }));
    assert.equal(rowCount(db), 0);
    assert.equal(buffer.size, 2);
    assert.equal(seriesFromRollups(db, "n1", ...RANGE).series.cpu_pct.avg[0], 10);

    // SQLite rolled the whole transaction back under a write (as on a full disk): the savepoint
    // rollback then fails too, and the group is undone with the minutes of every write in it.
    const broken = db.write((tx) => {
      storeBatch(tx, batch("n1", 2, [99]), Date.now());
      tx.raw.exec("ROLLBACK");
      throw new Error("disk full");
    });
    await assert.rejects(broken);
    assert.deepEqual(seriesFromRollups(db, "n1", ...RANGE).series.cpu_pct.max[0], 10);
    await db.write((tx) => storeBatch(tx, batch("n1", 2, [30]), Date.now()));
    assert.deepEqual(seriesFromRollups(db, "n1", ...RANGE).series.cpu_pct.max[0], 30);
    db.close();
  });
});

Deno.test("rollups: after a hub stopped without writing them, they are rebuilt from the samples", async () => {
  await withDir(async (path) => {
    const first = await openDatabase(path);
    const before = attachRollupBuffer(first);
    await first.write((tx) => storeBatch(tx, batch("n1", 1, [10, 30]), Date.now()));
    await first.write((tx) => before.flush(tx));
    await first.write((tx) => storeBatch(tx, batch("n1", 3, [20, 50]), Date.now()));
    await first.write((tx) => storeBatch(tx, batch("n2", 1, [5]), Date.now()));
    const expected = [
      seriesFromRollups(first, "n1", ...RANGE),
      seriesFromRollups(first, "n2", ...RANGE),
    ];
    first.close(); // as a kill: the held minutes are not written

    const second = await openDatabase(path);
    assert.equal(rowCount(second), 1, "only the flushed minute is in the table");
    const rebuilt = attachRollupBuffer(second);
    assert.equal(rebuilt.size, 3, "n1's two minutes (one partly in the table) and n2's one");
    assert.deepEqual(
      [seriesFromRollups(second, "n1", ...RANGE), seriesFromRollups(second, "n2", ...RANGE)],
      expected,
    );
    await second.write((tx) => rebuilt.flush(tx));
    second.close();

    const third = await openDatabase(path);
    assert.equal(attachRollupBuffer(third).size, 0, "nothing counted twice");
    assert.deepEqual(seriesFromRollups(third, "n1", ...RANGE), expected[0]);
    third.close();
  });
});

Deno.test("rollups: without a buffer each batch writes its own; a buffer attached later adds nothing", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    await db.write((tx) => storeBatch(tx, batch("n1", 1, [10, 30, 20]), Date.now()));
    assert.equal(rowCount(db), 1);
    assert.equal(mark(db), 3);
    const buffer = attachRollupBuffer(db);
    assert.equal(buffer.size, 0);
    assert.equal(seriesFromRollups(db, "n1", ...RANGE).series.cpu_pct.avg[0], 20);
    db.close();
  });
});

Deno.test("rollups: deleting samples lowers the mark, so reused ids are still rebuilt", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    const buffer = attachRollupBuffer(db);
    await db.write((tx) => storeBatch(tx, batch("n1", 1, [10, 20]), Date.now()));
    await db.write((tx) => storeBatch(tx, batch("n2", 1, [30, 40]), Date.now()));
    await db.write((tx) => buffer.flush(tx));
    assert.equal(mark(db), 4);
    // n2 holds the highest ids: deleting it lets the next samples take ids 3 and 4 again.
    await db.write((tx) => deleteNode(tx, "n2"));
    assert.equal(mark(db), 2);
    await db.write((tx) => storeBatch(tx, batch("n3", 1, [60, 80]), Date.now()));
    db.close();

    const again = await openDatabase(path);
    attachRollupBuffer(again);
    assert.equal(seriesFromRollups(again, "n3", ...RANGE).series.cpu_pct.avg[0], 70);
    assert.equal(seriesFromRollups(again, "n2", ...RANGE).series.cpu_pct.avg[0], null);
    // Retention that empties the table brings the mark to 0.
    await again.write((tx) => pruneSamples(tx, Date.now() + 1, 100));
    assert.equal(mark(again), 0);
    again.close();
  });
});

Deno.test("rollups: a hub without a buffer (writer worker) catches up what a killed hub held", async () => {
  await withDir(async (path) => {
    const first = await openDatabase(path);
    attachRollupBuffer(first);
    await first.write((tx) => storeBatch(tx, batch("n1", 1, [10]), Date.now()));
    first.close(); // killed with the minute in memory

    const worker = await openDatabase(path);
    assert.equal(await worker.write((tx) => catchUpRollups(tx)), 1);
    assert.equal(await worker.write((tx) => catchUpRollups(tx)), 0, "once");
    await worker.write((tx) => storeBatch(tx, batch("n1", 2, [30]), Date.now()));
    assert.equal(seriesFromRollups(worker, "n1", ...RANGE).series.cpu_pct.avg[0], 20);
    worker.close();

    const later = await openDatabase(path);
    assert.equal(attachRollupBuffer(later).size, 0);
    assert.equal(seriesFromRollups(later, "n1", ...RANGE).series.cpu_pct.avg[0], 20);
    later.close();
  });
});

Deno.test("rollups: a sample that expires before its minute is written keeps its rollup", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    const buffer = attachRollupBuffer(db);
    // A spool replayed late: older than the raw retention, within the rollups'.
    const old = Date.now() - 3 * 86_400_000;
    const minute = Math.floor(old / 60_000) * 60_000;
    await db.write((tx) =>
      storeBatch(tx, {
        node_id: "n1",
        samples: [makeSample(1, { ts: old, cpu: { pct: 42 } }), makeSample(2, { cpu: { pct: 1 } })],
      }, Date.now())
    );
    assert.equal(await db.write((tx) => pruneSamples(tx, Date.now() - 2 * 86_400_000, 100)), 1);
    assert.equal(buffer.size, 0, "written with the prune");
    db.close(); // killed right after

    const again = await openDatabase(path);
    attachRollupBuffer(again);
    const at = seriesFromRollups(again, "n1", minute, minute + 60_000, 60_000).series.cpu_pct;
    assert.equal(at.avg[0], 42);
    again.close();
  });
});
