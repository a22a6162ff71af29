/**
 * The backup engine's pure parts: the chunker (deterministic, bounded sizes, resynchronises after
 * an insert), the object format (round trip, compression, encryption with the id bound in),
 * retention rules on synthetic dates, and the path checks restore relies on.
 */
import assert from "node:assert/strict";
import {
  chunkStream,
  DEFAULT_CHUNKER,
  gearTable,
  memorySource,
} from "../../shared/backup/chunker.ts";
import {
  chunkId,
  decodeObject,
  encodeObject,
  newWrappedKey,
  unwrapKey,
} from "../../shared/backup/format.ts";
import { applyRetention, BackupError } from "../../shared/backup/mod.ts";
import { isSafeRelPath, treeEntrySchema } from "../../shared/backup/schema.ts";
import { symlinkEscapes } from "../../shared/backup/restore.ts";
import { globToRegExp } from "../../shared/backup/walk.ts";

function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function chunks(data: Uint8Array, gear: Int32Array): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of chunkStream(memorySource(data), gear)) out.push(c);
  return out;
}

Deno.test("chunker: sizes within bounds, ~1 MiB on average, lossless, deterministic", async () => {
  const gear = await gearTable(new Uint8Array(16));
  const data = noise(24 * 1024 * 1024, 7);
  const a = await chunks(data, gear);
  const sizes = a.map((c) => c.length);
  assert.deepEqual(Buffer.concat(a), Buffer.from(data));
  for (const s of sizes.slice(0, -1)) {
    assert.ok(s >= DEFAULT_CHUNKER.min && s <= DEFAULT_CHUNKER.max, `size ${s}`);
  }
  const avg = data.length / a.length;
  assert.ok(avg > 512 * 1024 && avg < 2 * 1024 * 1024, `average ${avg}`);
  assert.deepEqual((await chunks(data, gear)).map((c) => c.length), sizes);
  // Another seed cuts elsewhere.
  const other = await gearTable(new Uint8Array(16).fill(1));
  assert.notDeepEqual((await chunks(data, other)).map((c) => c.length), sizes);
});

Deno.test("chunker: bytes inserted mid-file change only the chunks around them", async () => {
  const gear = await gearTable(new Uint8Array(16));
  const data = noise(20 * 1024 * 1024, 11);
  const edited = new Uint8Array(data.length + 100);
  edited.set(data.subarray(0, 9_000_000));
  edited.set(noise(100, 3), 9_000_000);
  edited.set(data.subarray(9_000_000), 9_000_100);
  const ids = async (d: Uint8Array) =>
    new Set(await Promise.all((await chunks(d, gear)).map((c) => chunkId(c, null))));
  const [before, after] = [await ids(data), await ids(edited)];
  const fresh = [...after].filter((id) => !before.has(id));
  assert.ok(fresh.length >= 1 && fresh.length <= 2, `${fresh.length} new of ${after.size}`);
  // Zero-filled data hits the maximum size every time: one id for a sparse region.
  const zeros = await chunks(new Uint8Array(10 * 1024 * 1024), gear);
  assert.equal(zeros[0].length, DEFAULT_CHUNKER.max);
});

Deno.test("objects: round trip plain and encrypted; compression; id bound to the ciphertext", async () => {
  const text = new TextEncoder().encode("hello fleet\n".repeat(10_000));
  const rnd = noise(300_000, 5);
  for (const data of [text, rnd, new Uint8Array()]) {
    const id = await chunkId(data, null);
    assert.deepEqual(await decodeObject(await encodeObject(data, id, null), id, null), data);
  }
  assert.ok((await encodeObject(text, "x", null)).length < text.length / 10, "text compresses");
  assert.ok((await encodeObject(rnd, "x", null)).length <= rnd.length + 2, "random stored");

  const { wrapped, keys } = await newWrappedKey("passphrase", 10_000);
  const id = await chunkId(text, keys);
  assert.notEqual(id, await chunkId(text, null), "encrypted ids are keyed");
  const obj = await encodeObject(text, id, keys);
  const again = await unwrapKey("passphrase", wrapped);
  assert.deepEqual(await decodeObject(obj, id, again), text);
  await assert.rejects(
    () => decodeObject(obj, "another-id", keys),
    (e: BackupError) => e.code === "integrity",
  );
  await assert.rejects(
    () => unwrapKey("wrong", wrapped),
    (e: BackupError) => e.code === "wrong-key",
  );
  const flipped = obj.slice();
  flipped[40] ^= 1;
  await assert.rejects(
    () => decodeObject(flipped, id, keys),
    (e: BackupError) => e.code === "integrity",
  );
});

Deno.test("retention: last, daily, weekly, monthly, within, tags (UTC)", () => {
  // One snapshot every 6 hours for 70 days, newest first at 2026-03-31T18:00Z.
  const end = Date.parse("2026-03-31T18:00:00Z");
  const snaps = Array.from({ length: 70 * 4 }, (_, i) => ({
    id: `s${i}`,
    time: new Date(end - i * 6 * 3600_000).toISOString(),
    tags: i === 200 ? ["pinned"] : [],
  }));
  const kept = (p: Parameters<typeof applyRetention>[1]) =>
    applyRetention(snaps, p, new Date(end)).filter((d) => d.keep).map((d) => d.id);
  assert.deepEqual(kept({ keepLast: 3 }), ["s0", "s1", "s2"]);
  // Newest of each of the last 3 days: 31st 18:00, 30th 18:00, 29th 18:00.
  assert.deepEqual(kept({ keepDaily: 3 }), ["s0", "s4", "s8"]);
  assert.equal(kept({ keepWeekly: 4 }).length, 4);
  const monthly = applyRetention(snaps, { keepMonthly: 12 }, new Date(end)).filter((d) => d.keep);
  assert.deepEqual(monthly.map((d) => d.id), ["s0", "s124", "s236"]); // Mar, Feb, Jan
  assert.deepEqual(kept({ keepWithinMs: 24 * 3600_000 }), ["s0", "s1", "s2", "s3", "s4"]);
  assert.deepEqual(kept({ keepLast: 1, keepTags: ["pinned"] }), ["s0", "s200"]);
  const d = applyRetention(snaps, { keepLast: 1, keepDaily: 2 }, new Date(end));
  assert.deepEqual(d[0].reasons, ["last", "daily"]);
  assert.throws(() => applyRetention(snaps, {}), (e: BackupError) => e.code === "bad-input");
  assert.throws(() => applyRetention(snaps, { keepLast: -1 }), BackupError);
});

Deno.test("paths: safe relative paths, escaping symlinks, globs, tree entry validation", () => {
  for (const p of ["a", "a/b.txt", ".hidden/x", "a..b", "…"]) assert.ok(isSafeRelPath(p), p);
  for (const p of ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", "a\0b"]) {
    assert.ok(!isSafeRelPath(p), JSON.stringify(p));
  }
  assert.equal(symlinkEscapes("etc/localtime", "/usr/share/zoneinfo/UTC"), true);
  assert.equal(symlinkEscapes("a/b/link", "../../x"), false);
  assert.equal(symlinkEscapes("a/b/link", "../../../x"), true);
  assert.equal(symlinkEscapes("link", "./sub/../file"), false);
  assert.ok(globToRegExp("*.log").test("x.log") && !globToRegExp("*.log").test("a/x.log"));
  assert.ok(globToRegExp("cache/**").test("cache/a/b") && globToRegExp("**/tmp").test("a/b/tmp"));
  const ok = {
    path: "a",
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtimeMs: 1,
    size: 0,
    chunks: [],
  };
  assert.ok(treeEntrySchema.safeParse(ok).success);
  assert.ok(!treeEntrySchema.safeParse({ ...ok, size: 5 }).success, "size must match chunks");
  assert.ok(!treeEntrySchema.safeParse({ ...ok, type: "hardlink", linkTo: "../x" }).success);
  assert.ok(!treeEntrySchema.safeParse({ ...ok, mode: 0o170000 }).success);
});
