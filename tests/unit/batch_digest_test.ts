/**
 * Ingest bodies parsed on the parse thread: a digested batch stores exactly what the same body
 * parsed on the request thread stores (rows, times, rollups, the live stream's sample, the
 * answer), refuses alike, and the thread's handle moves bodies and fails closed. Real SQLite, a
 * real Worker.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Database, openDatabase } from "../../hub/core/db.ts";
import { type ClockPolicy, storeBatch, type StoredBatch } from "../../hub/fleet/store.ts";
import { digestBatch } from "../../hub/fleet/batch_digest.ts";
import { BatchParser } from "../../hub/fleet/batch_parser.ts";
import { sampleTexts } from "../../hub/fleet/sample_text.ts";
import { checker, usedAsParsed } from "../../hub/core/validate.ts";
import { compileCheck } from "../../hub/core/fast_check.ts";
import { BadInput, HttpProblem } from "../../hub/core/errors.ts";
import { IngestBatch, type IngestBatch as Batch, SAMPLE_KEYS } from "../../shared/protocol/mod.ts";
import { seriesOf } from "../../shared/metrics.ts";
import { makeSample } from "../helpers/samples.ts";

const HOUR = 3_600_000;
const POLICY: ClockPolicy = {
  maxSkewMs: 30_000,
  rawRetentionMs: 48 * HOUR,
  rollupRetentionMs: 30 * 24 * HOUR,
};
const check = checker("json", IngestBatch, { markAsParsed: true });
const fast = compileCheck(IngestBatch)!;

/** What the parse thread does with a body (a digest, or undefined for zod to decide). */
const digest = (body: string) => digestBatch(body, fast, SAMPLE_KEYS);

/** What the request thread does with a body (`ingest_route.ts`): parse, check, cut the texts. */
function parsedHere(body: string): { batch: Batch; texts?: string[] } {
  const batch = check(JSON.parse(body));
  return { batch, texts: usedAsParsed(batch) ? sampleTexts(body) : undefined };
}

/** Everything a database holds of the samples and rollups it stored. */
function contents(db: Database) {
  return {
    samples: db.all("SELECT node_id, seq, ts, recv_ts, agent_ts, data FROM samples ORDER BY id"),
    rollups: db.all("SELECT * FROM rollups ORDER BY node_id, minute"),
    nodes: db.all(
      "SELECT id, last_seq, spool_dropped, clock_skew_ms, unknown_keys, agent_version " +
        "FROM nodes ORDER BY id",
    ),
  };
}

Deno.test("digest: a digested body stores what the body parsed on the request thread stores", async () => {
  const dir = await Deno.makeTempDir({ prefix: "digest-" });
  const here = await openDatabase(join(dir, "here.db"));
  const there = await openDatabase(join(dir, "there.db"));
  try {
    const now = Date.now();
    const bodies = [
      // Out of seq order, compact: each sample stored as its text in the body.
      JSON.stringify({
        node_id: "n1",
        agent: { version: "1.2.3", hostname: "jet-1" },
        samples: [makeSample(3), makeSample(1), makeSample(2, { gpus: [] })],
      }),
      // Two duplicates, a new sample with a key this hub does not know, a spool drop count.
      JSON.stringify({
        node_id: "n1",
        spool_dropped: 4,
        samples: [makeSample(2), makeSample(3), { ...makeSample(4), npu: { pct: 9 } }],
      }),
      // Written over several lines: not cut, each sample encoded again.
      JSON.stringify({ node_id: "n1", samples: [makeSample(5), makeSample(6)] }, null, 2),
      // A clock a day ahead: every sample placed on the hub's clock.
      JSON.stringify({
        node_id: "n2",
        sent_at: now + 24 * HOUR,
        samples: [makeSample(1, { ts: now + 24 * HOUR - 5000 }), makeSample(2)],
      }),
      // An older agent (no sent_at) with an impossible ts: placed at the receive time.
      JSON.stringify({ node_id: "n3", samples: [makeSample(1, { ts: 1 })] }),
      // Only an earlier sample placed: the newest is stored (and announced) as it came.
      JSON.stringify({ node_id: "n4", samples: [makeSample(1, { ts: 1 }), makeSample(2)] }),
    ];
    for (const body of bodies) {
      const { batch, texts } = parsedHere(body);
      const a = await here.write((tx) => storeBatch(tx, batch, now, POLICY, texts));
      const b = await there.write((tx) => storeBatch(tx, digest(body)!, now, POLICY));
      assert.deepEqual(b, a, body.slice(0, 60));
      const row = there.get<{ data: string }>(
        "SELECT data FROM samples WHERE node_id = ? AND seq = ?",
        b.node_id,
        b.newest!.seq,
      );
      assert.equal(b.newestText, row!.data, "the live stream's text is the stored one");
      assert.deepEqual(b.newest, JSON.parse(row!.data));
    }
    assert.deepEqual(contents(there), contents(here));
    const stored = contents(there);
    assert.equal(stored.samples.length, 11, "every sample stored once");
    assert.ok(stored.rollups.length > 0);
    const n1 = stored.nodes.find((n) => (n as { id: string }).id === "n1") as {
      unknown_keys: number;
      spool_dropped: number;
    };
    assert.deepEqual([n1.unknown_keys, n1.spool_dropped], [1, 4]);
    const npu = stored.samples.find((s) => (s as { seq: number }).seq === 4) as { data: string };
    assert.ok(!npu.data.includes("npu"), "the unknown key is not stored");
    // A late replay of an old seq stores nothing and carries no newest sample, either way.
    const late = JSON.stringify({ node_id: "n1", samples: [makeSample(1)] });
    const { batch, texts } = parsedHere(late);
    const a: StoredBatch = await here.write((tx) => storeBatch(tx, batch, now, POLICY, texts));
    const b = await there.write((tx) => storeBatch(tx, digest(late)!, now, POLICY));
    assert.deepEqual(b, a);
    assert.deepEqual([b.stored, b.duplicates, b.newest, b.newestText], [
      0,
      1,
      undefined,
      undefined,
    ]);
  } finally {
    here.close();
    there.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("digest: a digest holds each sample's seq, ts, stored text, series and unknown keys", () => {
  const s1 = makeSample(1);
  const s2 = { ...makeSample(2), npu: { pct: 9 }, fan: 1 };
  const batch = digest(JSON.stringify({ node_id: "n1", sent_at: 5, samples: [s1, s2] }))!;
  assert.deepEqual(batch.digests[0], {
    seq: 1,
    ts: s1.ts,
    text: JSON.stringify(s1),
    series: seriesOf(s1),
  });
  const { npu: _npu, fan: _fan, ...known } = s2;
  assert.deepEqual(batch.digests[1], {
    seq: 2,
    ts: s2.ts,
    text: JSON.stringify(known),
    series: seriesOf(known),
    unknown: ["npu", "fan"],
  });
  assert.deepEqual(Object.keys(batch).sort(), ["digests", "node_id", "sent_at"]);
});

Deno.test("digest: a body the fast check does not pass is left to zod; not JSON is refused", () => {
  assert.throws(
    () => digest('{"node_id": "n1", "samples": ['),
    (e: unknown) => e instanceof BadInput && e.message === "Malformed JSON in request body",
  );
  const bad = JSON.stringify({ node_id: "n1", samples: [{ ...makeSample(1), cpu: { pct: "x" } }] });
  assert.equal(digest(bad), undefined);
  // Nor a batch with a key the strict batch does not have, or no samples.
  assert.equal(digest(JSON.stringify({ node_id: "n1", samples: [], extra: 1 })), undefined);
});

Deno.test("digest: the parse thread digests a moved body, hands back what zod must see, fails closed", async () => {
  const parser = new BatchParser(1000);
  try {
    assert.ok(parser.takes(1000) && !parser.takes(999), "only bodies from its minimum");
    assert.equal(parser.running, false, "started by the first body, not before");
    assert.equal(parser.state, "idle");
    const body = JSON.stringify({ node_id: "n1", samples: [makeSample(1), makeSample(2)] });
    const bytes = new TextEncoder().encode(body).buffer;
    const parsed = await parser.parse(bytes);
    assert.equal(bytes.byteLength, 0, "the body's bytes moved to the thread");
    assert.deepEqual(parsed, { batch: digest(body) });

    const bad = JSON.stringify({ node_id: "n1", samples: [{ ...makeSample(1), seq: -1 }] });
    assert.deepEqual(await parser.parse(new TextEncoder().encode(bad).buffer), { text: bad });
    const refused = await parser.parse(new TextEncoder().encode("{").buffer).then(
      () => assert.fail("not refused"),
      (e) => e,
    );
    assert.ok(refused instanceof BadInput, String(refused));
    assert.equal(refused.message, "Malformed JSON in request body");

    assert.equal(parser.running, true);
    assert.equal(parser.state, "running");

    // A batch still on the thread when it ends fails with 503 (the agent sends it again); so
    // does any later one, and the route parses bodies itself from then on.
    const held = parser.parse(new TextEncoder().encode(body).buffer);
    parser.close();
    for (const p of [held, parser.parse(new TextEncoder().encode(body).buffer)]) {
      const error = await p.then(() => assert.fail("not refused"), (e) => e);
      assert.ok(error instanceof HttpProblem && error.status === 503, String(error));
    }
    assert.equal(parser.takes(1_000_000), false);
    assert.equal(parser.state, "closed");
  } finally {
    parser.close();
  }
});

Deno.test("digest: a parse thread that dies or cannot start fails its batches with 503, then is not used", async () => {
  const body = () =>
    new TextEncoder().encode(JSON.stringify({ node_id: "n1", samples: [makeSample(1)] })).buffer;
  for (
    const url of [
      new URL("../helpers/failing_parse_worker.ts", import.meta.url),
      new URL("../helpers/no_such_parse_worker.ts", import.meta.url),
    ]
  ) {
    const parser = new BatchParser(1, url);
    try {
      const error = await parser.parse(body()).then(() => assert.fail("not refused"), (e) => e);
      assert.ok(error instanceof HttpProblem && error.status === 503, `${url}: ${error}`);
      assert.equal(parser.takes(1_000_000), false, "bodies are parsed on the request thread");
      assert.equal(parser.running, false);
      assert.equal(parser.state, "failed", "the stats show it");
      const later = await parser.parse(body()).then(() => assert.fail("not refused"), (e) => e);
      assert.ok(later instanceof HttpProblem && later.status === 503);
    } finally {
      parser.close();
    }
  }
});
