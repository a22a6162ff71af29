/**
 * Node contacts held in memory, on a real SQLite file: a batch that changes only the contact
 * leaves the row for the flush while readers see it at once; anything else about the node is
 * written with its batch; a rolled-back write, a kill without a flush and a prune that takes the
 * samples vouching for a contact all leave the rows where the stored samples say.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Database, openDatabase } from "../../hub/core/db.ts";
import {
  deleteNode,
  getNodeRow,
  listNodeRows,
  pruneSamples,
  storeBatch,
} from "../../hub/fleet/store.ts";
import {
  attachContactBuffer,
  reconcileContacts,
  startContactBuffer,
} from "../../hub/fleet/contacts.ts";
import { makeSample } from "../helpers/samples.ts";
import type { IngestBatch, Sample } from "../../shared/protocol/mod.ts";

const AGENT = { version: "1.4.0", hostname: "agx-01", arch: "arm64" };

function batch(nodeId: string, from: number, to: number, extra: Partial<IngestBatch> = {}) {
  const samples: Sample[] = [];
  for (let s = from; s <= to; s++) samples.push(makeSample(s));
  return { node_id: nodeId, agent: AGENT, spool_dropped: 0, samples, ...extra };
}

/** The row as the table holds it, without the contacts held in memory. */
function stored(db: Database, id: string) {
  const row = db.get<{ last_seq: number; last_seen: number | null; agent_version: string | null }>(
    "SELECT last_seq, last_seen, agent_version FROM nodes WHERE id = ?",
    id,
  );
  return row && { ...row };
}

async function withDir(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "contacts-" });
  try {
    await fn(join(dir, "fleet.db"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("contacts: held between flushes, read at once; other changes write the row with their batch", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    const contacts = attachContactBuffer(db);
    const first = await db.write((tx) => storeBatch(tx, batch("n1", 1, 2), 1_000));
    assert.equal(first.last_seq, 2);
    assert.equal(stored(db, "n1")?.last_seq, 2, "the first contact writes the row");
    assert.equal(contacts.dirty, 0);

    const next = await db.write((tx) => storeBatch(tx, batch("n1", 3, 5), 2_000));
    assert.equal(next.last_seq, 5, "the ack carries the held seq");
    assert.deepEqual(stored(db, "n1"), { last_seq: 2, last_seen: 1_000, agent_version: "1.4.0" });
    assert.equal(getNodeRow(db, "n1")?.last_seq, 5, "readers see what is held");
    assert.equal(getNodeRow(db, "n1")?.last_seen, 2_000);
    assert.equal(listNodeRows(db).find((r) => r.id === "n1")?.last_seq, 5);
    assert.equal(contacts.dirty, 1);

    // A replay: duplicates only, the contact moves, the seq does not.
    const replay = await db.write((tx) => storeBatch(tx, batch("n1", 4, 5), 3_000));
    assert.equal(replay.duplicates, 2);
    assert.equal(replay.last_seq, 5);
    assert.equal(getNodeRow(db, "n1")?.last_seen, 3_000);

    assert.equal(await db.write((tx) => contacts.flush(tx)), 1);
    assert.deepEqual(stored(db, "n1"), { last_seq: 5, last_seen: 3_000, agent_version: "1.4.0" });
    assert.equal(contacts.dirty, 0);

    // A new agent version, spool drops, unknown keys: each is written with its batch.
    await db.write((tx) =>
      storeBatch(tx, batch("n1", 6, 6, { agent: { ...AGENT, version: "1.5.0" } }), 4_000)
    );
    assert.deepEqual(stored(db, "n1"), { last_seq: 6, last_seen: 4_000, agent_version: "1.5.0" });
    await db.write((tx) =>
      storeBatch(tx, batch("n1", 7, 8, { agent: { ...AGENT, version: "1.5.0" } }), 5_000)
    );
    assert.equal(stored(db, "n1")?.last_seq, 6, "held again");
    await db.write((tx) =>
      storeBatch(
        tx,
        batch("n1", 9, 9, { agent: { ...AGENT, version: "1.5.0" }, spool_dropped: 3 }),
        6_000,
      )
    );
    assert.equal(stored(db, "n1")?.last_seq, 9, "spool drops write the row, with the held seq");
    assert.equal(getNodeRow(db, "n1")?.spool_dropped, 3);
    const odd = batch("n1", 10, 10, { agent: { ...AGENT, version: "1.5.0" }, spool_dropped: 3 });
    (odd.samples[0] as Record<string, unknown>).future_key = 1;
    await db.write((tx) => storeBatch(tx, odd, 7_000));
    assert.equal(stored(db, "n1")?.last_seq, 10, "unknown keys write the row");
    assert.equal(getNodeRow(db, "n1")?.unknown_keys, 1);

    // A deleted node is forgotten: its id starts over.
    await db.write((tx) =>
      storeBatch(
        tx,
        batch("n1", 11, 11, { agent: { ...AGENT, version: "1.5.0" }, spool_dropped: 3 }),
        8_000,
      )
    );
    await db.write((tx) => deleteNode(tx, "n1"));
    assert.equal(getNodeRow(db, "n1"), undefined);
    const again = await db.write((tx) => storeBatch(tx, batch("n1", 1, 1), 9_000));
    assert.equal(again.stored, 1);
    assert.equal(getNodeRow(db, "n1")?.last_seq, 1);
    db.close();
  });
});

Deno.test("contacts: a rolled-back write puts back the contacts it changed", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    attachContactBuffer(db);
    await db.write((tx) => storeBatch(tx, batch("n1", 1, 2), 1_000));
    await db.write((tx) => storeBatch(tx, batch("n1", 3, 3), 2_000));
    const failing = db.write((tx) => {
      storeBatch(tx, batch("n1", 4, 6), 3_000);
      throw new Error("after the batch");
    });
    const other = db.write((tx) => storeBatch(tx, batch("n2", 1, 1), 3_000));
    await assert.rejects(failing, /after the batch/);
    await other;
    assert.equal(getNodeRow(db, "n1")?.last_seq, 3, "seq 3 stored; 4–6 rolled back");
    assert.equal(getNodeRow(db, "n1")?.last_seen, 2_000);
    // The rolled-back seqs are taken when they come again.
    const retry = await db.write((tx) => storeBatch(tx, batch("n1", 4, 6), 4_000));
    assert.deepEqual([retry.stored, retry.last_seq], [3, 6]);

    // The whole group undone (as on a full disk): back to what is committed.
    await assert.rejects(db.write((tx) => {
      storeBatch(tx, batch("n1", 7, 9), 5_000);
      tx.raw.exec("ROLLBACK");
      throw new Error("disk full");
    }));
    assert.equal(getNodeRow(db, "n1")?.last_seq, 6);
    // Two writes of the node in that group: undone newest first, back to before the first.
    const firstOfGroup = db.write((tx) => storeBatch(tx, batch("n1", 7, 7), 5_500));
    const breaking = db.write((tx) => {
      storeBatch(tx, batch("n1", 8, 8), 5_600);
      tx.raw.exec("ROLLBACK");
      throw new Error("disk full");
    });
    await assert.rejects(firstOfGroup);
    await assert.rejects(breaking);
    assert.equal(getNodeRow(db, "n1")?.last_seq, 6);
    assert.equal(getNodeRow(db, "n1")?.last_seen, 4_000);
    const after = await db.write((tx) => storeBatch(tx, batch("n1", 7, 7), 6_000));
    assert.deepEqual([after.stored, after.last_seq], [1, 7]);
    db.close();
  });
});

Deno.test("contacts: a hub stopped without a flush comes back with rows up to its samples", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    attachContactBuffer(db);
    await db.write((tx) => storeBatch(tx, batch("n1", 1, 2), 1_000));
    await db.write((tx) => storeBatch(tx, batch("n1", 3, 5), 2_000));
    await db.write((tx) => storeBatch(tx, batch("n2", 1, 1), 1_500));
    db.close(); // as after kill -9: nothing flushed

    const back = await openDatabase(path);
    assert.equal(stored(back, "n1")?.last_seq, 2, "the row was behind");
    assert.equal(await back.write((tx) => reconcileContacts(tx)), 1);
    assert.deepEqual(stored(back, "n1"), { last_seq: 5, last_seen: 2_000, agent_version: "1.4.0" });
    assert.equal(stored(back, "n2")?.last_seq, 1);
    assert.equal(await back.write((tx) => reconcileContacts(tx)), 0, "nothing left to bring up");

    // Without the reconcile (a buffer loads each node from its row and samples): same answer.
    const raw = await openDatabase(path);
    raw.transaction((tx) => tx.run("UPDATE nodes SET last_seq = 2 WHERE id = 'n1'"));
    attachContactBuffer(raw);
    const replay = await raw.write((tx) => storeBatch(tx, batch("n1", 3, 6), 3_000));
    assert.deepEqual([replay.stored, replay.duplicates, replay.last_seq], [1, 3, 6]);
    raw.close();
    back.close();
  });
});

Deno.test("contacts: pruning the samples a held contact rests on writes its row first", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    const contacts = attachContactBuffer(db);
    const old = Date.now() - 10 * 86_400_000;
    await db.write((tx) => storeBatch(tx, batch("n1", 1, 1), 1_000));
    await db.write((tx) => storeBatch(tx, batch("n2", 1, 1), 1_000));
    // n1: a late spool replay with old sample times, held; n2: a held contact on fresh samples.
    const late = batch("n1", 2, 4);
    for (const s of late.samples) s.ts = old;
    await db.write((tx) => storeBatch(tx, late, 2_000));
    await db.write((tx) => storeBatch(tx, batch("n2", 2, 3), 2_000));
    assert.equal(contacts.dirty, 2);
    const gone = await db.write((tx) => pruneSamples(tx, Date.now() - 86_400_000, 100));
    assert.equal(gone, 3);
    assert.equal(stored(db, "n1")?.last_seq, 4, "written in the prune's own write");
    assert.equal(stored(db, "n2")?.last_seq, 1, "n2's samples still vouch for it");
    assert.equal(contacts.dirty, 1);
    db.close();
    // Killed now: n1 still knows seq 4 although its samples are gone.
    const back = await openDatabase(path);
    await back.write((tx) => reconcileContacts(tx));
    assert.equal(stored(back, "n1")?.last_seq, 4);
    assert.equal(stored(back, "n2")?.last_seq, 3);
    back.close();
  });
});

Deno.test("contacts: a rollback restores only what its write changed, flushes and deletions included", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    const contacts = attachContactBuffer(db);
    await db.write((tx) => storeBatch(tx, batch("a", 1, 2), 1_000));
    await db.write((tx) => storeBatch(tx, batch("b", 1, 1), 1_000));
    // a: a replay of duplicates only moves its contact, which no sample records.
    await db.write((tx) => storeBatch(tx, batch("a", 1, 2), 5_000));
    assert.equal(getNodeRow(db, "a")?.last_seen, 5_000);
    assert.equal(contacts.dirty, 1);
    // Another node's write fails: a keeps its contact and stays to be written.
    await assert.rejects(db.write((tx) => {
      storeBatch(tx, batch("b", 2, 3), 6_000);
      throw new Error("b fails");
    }));
    assert.equal(getNodeRow(db, "a")?.last_seen, 5_000);
    assert.equal(getNodeRow(db, "b")?.last_seq, 1);
    assert.equal(contacts.dirty, 1);

    // A timer flush and a batch in one group whose COMMIT fails: the row stays, the entry stays
    // dirty, and the next flush writes it.
    const flushing = db.write((tx) => contacts.flush(tx));
    const failing = db.write((tx) => {
      storeBatch(tx, batch("b", 2, 2), 7_000);
      tx.raw.exec("ROLLBACK");
      throw new Error("disk full");
    });
    await assert.rejects(flushing);
    await assert.rejects(failing);
    assert.equal(stored(db, "a")?.last_seen, 1_000);
    assert.equal(contacts.dirty, 1);
    assert.equal(await db.write((tx) => contacts.flush(tx)), 1);
    assert.equal(stored(db, "a")?.last_seen, 5_000);

    // A prune that fails after writing the row it needed: the entry is as before, and written
    // by the prune that succeeds.
    const late = batch("b", 2, 3);
    for (const s of late.samples) s.ts = Date.now() - 10 * 86_400_000;
    await db.write((tx) => storeBatch(tx, late, 8_000));
    const cutoff = Date.now() - 86_400_000;
    await assert.rejects(db.write((tx) => {
      assert.equal(pruneSamples(tx, cutoff, 100), 2);
      assert.equal(stored(tx, "b")?.last_seq, 3, "written inside the prune");
      throw new Error("prune fails");
    }));
    assert.equal(stored(db, "b")?.last_seq, 1);
    assert.equal(contacts.dirty, 1);
    assert.equal(await db.write((tx) => pruneSamples(tx, cutoff, 100)), 2);
    assert.equal(stored(db, "b")?.last_seq, 3);
    assert.equal(contacts.dirty, 0);

    // A deletion rolled back: the node and its contact are back.
    await db.write((tx) => storeBatch(tx, batch("a", 3, 4), 9_000));
    await assert.rejects(db.write((tx) => {
      deleteNode(tx, "a");
      throw new Error("delete fails");
    }));
    assert.equal(getNodeRow(db, "a")?.last_seq, 4);
    assert.equal(getNodeRow(db, "a")?.last_seen, 9_000);
    assert.equal(contacts.dirty, 1);
    db.close();
  });
});

Deno.test("contacts: stopping the buffer writes what it holds", async () => {
  await withDir(async (path) => {
    const db = await openDatabase(path);
    const handle = startContactBuffer(db, 3_600_000);
    await db.write((tx) => storeBatch(tx, batch("n1", 1, 1), 1_000));
    await db.write((tx) => storeBatch(tx, batch("n1", 2, 4), 2_000));
    assert.equal(stored(db, "n1")?.last_seq, 1);
    await handle.stop();
    assert.deepEqual(stored(db, "n1"), { last_seq: 4, last_seen: 2_000, agent_version: "1.4.0" });
    assert.equal(getNodeRow(db, "n1")?.last_seq, 4, "detached: rows are read as stored");
    db.close();
  });
});
