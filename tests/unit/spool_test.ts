/** The agent's spool: ordering, acks, restart recovery, torn lines, size/age bounds. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Spool } from "../../agent/spool.ts";

async function tmp(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "spool-" });
}

Deno.test("spool: seqs increase, pending in order, ack removes sent segments", async () => {
  const dir = await tmp();
  const spool = await Spool.open({ dir, segmentBytes: 200 });
  for (let i = 0; i < 10; i++) await spool.append({ cpu: { pct: i } }, 1000 + i);
  assert.equal(spool.lastSeq, 10);
  assert.equal(spool.backlog, 10);
  const first = await spool.pending(4);
  assert.deepEqual(first.map((s) => s.seq), [1, 2, 3, 4]);
  assert.equal(first[2].cpu?.pct, 2);
  await spool.ack(4);
  assert.equal(spool.backlog, 6);
  assert.deepEqual((await spool.pending(100)).map((s) => s.seq), [5, 6, 7, 8, 9, 10]);
  const segmentsBefore = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("seg-")).length;
  await spool.ack(10);
  const segmentsAfter = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("seg-")).length;
  assert.ok(segmentsBefore > 1 && segmentsAfter === 0, `${segmentsBefore} → ${segmentsAfter}`);
  assert.equal(spool.backlog, 0);
  spool.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("spool: a reopened spool continues its seqs and keeps unacked samples", async () => {
  const dir = await tmp();
  const a = await Spool.open({ dir });
  for (let i = 0; i < 5; i++) await a.append({}, 1000 + i);
  await a.ack(2);
  a.close();
  const b = await Spool.open({ dir });
  assert.equal(b.lastSeq, 5);
  assert.equal(b.ackedSeq, 2);
  assert.deepEqual((await b.pending(10)).map((s) => s.seq), [3, 4, 5]);
  const next = await b.append({}, 2000);
  assert.equal(next.seq, 6);
  await b.ack(6);
  b.close();
  // Everything acked and deleted: the cursor alone carries the seq forward.
  const c = await Spool.open({ dir });
  assert.equal(c.lastSeq, 6);
  assert.equal((await c.append({}, 3000)).seq, 7);
  c.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("spool: a torn last line (crash mid-write) is skipped, the rest survives", async () => {
  const dir = await tmp();
  const a = await Spool.open({ dir });
  for (let i = 0; i < 3; i++) await a.append({}, 1000 + i);
  a.close();
  const seg = [...Deno.readDirSync(dir)].find((e) => e.name.startsWith("seg-"))!.name;
  await Deno.writeTextFile(join(dir, seg), '{"seq":4,"ts":10', { append: true });
  const b = await Spool.open({ dir });
  assert.deepEqual((await b.pending(10)).map((s) => s.seq), [1, 2, 3]);
  assert.equal(b.lastSeq, 3);
  b.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("spool: size bound drops the oldest unsent segments and counts them", async () => {
  const dir = await tmp();
  const spool = await Spool.open({ dir, segmentBytes: 1000, maxBytes: 3000 });
  for (let i = 0; i < 100; i++) await spool.append({ uptime_s: i }, 1000 + i);
  assert.ok(spool.bytes <= 3000 + 1000, `bytes ${spool.bytes}`);
  assert.ok(spool.dropped > 0, "some samples dropped");
  const pending = await spool.pending(1000);
  // What is left is the newest, contiguous, ending at the last seq.
  assert.equal(pending.at(-1)!.seq, 100);
  assert.equal(pending.length + spool.dropped, 100);
  pending.forEach((s, i) => i && assert.equal(s.seq, pending[i - 1].seq + 1));
  spool.close();
  const reopened = await Spool.open({ dir });
  assert.equal(reopened.dropped, spool.dropped, "drop count persisted");
  reopened.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("spool: age bound drops samples older than max age", async () => {
  const dir = await tmp();
  // One sample per segment: the age bound works per segment (by its newest sample).
  const spool = await Spool.open({ dir, segmentBytes: 30, maxAgeMs: 60_000 });
  for (let i = 0; i < 5; i++) await spool.append({}, 1_000_000 + i);
  // Two minutes later: the old segments are past the age bound.
  await spool.append({}, 1_000_000 + 120_000);
  const pending = await spool.pending(100);
  assert.deepEqual(pending.map((s) => s.seq), [6]);
  assert.equal(spool.dropped, 5);
  spool.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("spool: raiseSeqFloor skips above the hub's last seq", async () => {
  const dir = await tmp();
  const spool = await Spool.open({ dir });
  spool.raiseSeqFloor(41);
  assert.equal((await spool.append({}, 1)).seq, 42);
  spool.raiseSeqFloor(10);
  assert.equal((await spool.append({}, 2)).seq, 43);
  spool.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("spool: a sample the hub refused is dropped, counted, and never pending again", async () => {
  const dir = await tmp();
  const spool = await Spool.open({ dir });
  for (let i = 0; i < 3; i++) await spool.append({}, 1000 + i);
  await spool.drop(1);
  assert.equal(spool.dropped, 1);
  assert.deepEqual((await spool.pending(10)).map((s) => s.seq), [2, 3]);
  await spool.drop(1);
  assert.equal(spool.dropped, 1, "dropping an already handled seq counts nothing");
  spool.close();
  const again = await Spool.open({ dir });
  assert.equal(again.dropped, 1, "the count survives a restart");
  again.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("spool: seqs beyond 2^48 (followed from a pinned hub) start over; such a floor is ignored", async () => {
  const dir = await tmp();
  const a = await Spool.open({ dir });
  a.raiseSeqFloor(Number.MAX_SAFE_INTEGER);
  assert.equal((await a.append({}, 1)).seq, 1, "a last seq beyond the protocol is not followed");
  a.close();
  // A spool an older agent left pinned: seqs near 2^53, two of them unsent.
  const top = Number.MAX_SAFE_INTEGER - 10;
  await Deno.writeTextFile(
    join(dir, "cursor.json"),
    JSON.stringify({ acked_seq: top, dropped: 2 }),
  );
  await Deno.writeTextFile(
    join(dir, `seg-${top + 1}.ndjson`),
    `{"seq":${top + 1},"ts":3}\n{"seq":${top + 2},"ts":4}\n`,
  );
  const b = await Spool.open({ dir });
  assert.equal(b.lastSeq, 0);
  assert.equal(b.dropped, 4, "the unsendable samples are counted");
  assert.deepEqual(await b.pending(10), []);
  b.raiseSeqFloor(40);
  assert.equal((await b.append({}, 2)).seq, 41);
  b.close();
  await Deno.remove(dir, { recursive: true });
});
