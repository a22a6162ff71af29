/**
 * History over HTTP: short ranges answer from raw samples, long ones from 1-minute rollups, gaps
 * stay gaps; expired samples are pruned continuously by the running hub. Samples from a skewed
 * node clock are placed on the hub's time (never acknowledged, then pruned), and unknown sample
 * keys are counted and logged once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { makeSample } from "../helpers/samples.ts";
import { waitFor } from "../helpers/process.ts";
import { SseClient } from "../helpers/sse.ts";
import { ApiClient } from "../../shared/api_client.ts";
import { openDatabase } from "../../hub/core/db.ts";
import { storeBatch } from "../../hub/fleet/store.ts";
import type { Sample } from "../../shared/protocol/mod.ts";

/**
 * Stores samples straight into a running hub's database (a second connection), as a hub from
 * before the clock checks did: the only way to hold a sample already past both retentions.
 */
async function seedExpired(dataDir: string, nodeId: string, samples: Sample[]): Promise<void> {
  const db = await openDatabase(join(dataDir, "fleet.db"));
  try {
    await db.write((tx) => storeBatch(tx, { node_id: nodeId, samples }, Date.now()));
  } finally {
    db.close();
  }
}

/** Rows of one node as stored: placed ts, receive time, the agent's own ts when moved. */
async function storedRows(dataDir: string, nodeId: string) {
  const db = await openDatabase(join(dataDir, "fleet.db"));
  try {
    return db.all<{ seq: number; ts: number; recv_ts: number; agent_ts: number | null }>(
      "SELECT seq, ts, recv_ts, agent_ts FROM samples WHERE node_id = ? ORDER BY seq",
      nodeId,
    );
  } finally {
    db.close();
  }
}

const MIN = 60_000;

Deno.test("metrics: raw for short ranges, rollups for long ones, null for gaps", async () => {
  const hub = await startHub();
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "h1" })).token;
    const api = new ApiClient({ hub: hub.url, token });
    const now = Date.now();
    const base = Math.floor((now - 3 * 3_600_000) / (10 * MIN)) * 10 * MIN; // 3 h ago, aligned
    // Two hours of one sample per minute with CPU = minute index, then an outage of 30 minutes.
    const samples = Array.from(
      { length: 120 },
      (_, i) => makeSample(i + 1, { ts: base + i * MIN + 1000, cpu: { pct: i % 100 } }),
    );
    for (let i = 0; i < samples.length; i += 50) {
      await api.ingest({ node_id: "h1", samples: samples.slice(i, i + 50) });
    }
    await api.ingest({
      node_id: "h1",
      samples: [makeSample(121, { ts: now - 1000, cpu: { pct: 50 } })],
    });

    const long = await hub.admin.metrics("h1", { from: base, to: base + 180 * MIN, step: 600 });
    assert.equal(long.source, "rollup");
    assert.equal(long.step_s, 600);
    assert.equal(long.ts.length, 18);
    // First bucket: minutes 0..9 → min 0, max 9, avg 4.5.
    assert.deepEqual(
      [long.series.cpu_pct.min[0], long.series.cpu_pct.max[0], long.series.cpu_pct.avg[0]],
      [0, 9, 4.5],
    );
    // The outage after two hours is a gap, not a line.
    assert.equal(long.series.cpu_pct.avg[12], null);
    assert.equal(long.series.cpu_pct.avg[17], null);

    const short = await hub.admin.metrics("h1", { from: "-5m", step: 10 });
    assert.equal(short.source, "raw");
    assert.ok(short.series.cpu_pct.avg.includes(50));
    assert.ok(
      short.series.cpu_pct.avg.filter((v) => v === null).length > 0,
      "empty buckets are null",
    );

    // A step the answer cannot hold is refused with the field named.
    const tooFine = await fetch(`${hub.url}/api/v1/nodes/h1/metrics?from=-40h&step=1`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    assert.equal(tooFine.status, 400);
    assert.match(JSON.stringify(await tooFine.json()), /step/);
  } finally {
    await hub.stop();
  }
});

Deno.test("rollups: minutes a killed hub held in memory are rebuilt at start (or written by a writer-worker hub); a stop writes them", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "fleet-hub-" });
  const base = Math.floor((Date.now() - 3_600_000) / (10 * MIN)) * 10 * MIN;
  const range = { from: base, to: base + 30 * MIN, step: 600 };
  const rolledUp = async (dir: string) => {
    const db = await openDatabase(join(dir, "fleet.db"));
    try {
      return db.get<{ n: number }>("SELECT count(*) AS n FROM rollups")!.n;
    } finally {
      db.close();
    }
  };
  let hub = await startHub({ dataDir });
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "k1" })).token;
    const api = new ApiClient({ hub: hub.url, token });
    // 30 minutes, one sample each: CPU = minute index.
    for (let i = 0; i < 30; i += 10) {
      await api.ingest({
        node_id: "k1",
        samples: Array.from(
          { length: 10 },
          (_, k) => makeSample(i + k + 1, { ts: base + (i + k) * MIN + 1000, cpu: { pct: i + k } }),
        ),
      });
    }
    const before = await hub.admin.metrics("k1", range);
    assert.equal(before.source, "rollup");
    assert.deepEqual(before.series.cpu_pct.avg, [4.5, 14.5, 24.5]);
    await hub.stop("SIGKILL");
    assert.equal(await rolledUp(dataDir), 0, "the minutes were only in the killed hub's memory");

    hub = await startHub({ dataDir });
    assert.ok(
      hub.child.logs().some((l) => l.msg === "rollups rebuilt from samples not yet rolled up"),
    );
    assert.deepEqual((await hub.admin.metrics("k1", range)).series, before.series);
    await hub.stop("SIGKILL");

    // The writer worker keeps no buffer: it writes what the killed hub held before it serves.
    hub = await startHub({ dataDir, args: ["--db-writer", "worker"] });
    assert.ok(
      hub.child.logs().some((l) => l.msg === "rollups caught up from samples not yet rolled up"),
    );
    assert.equal(await rolledUp(dataDir), 30);
    assert.deepEqual((await hub.admin.metrics("k1", range)).series, before.series);
    await hub.stop();
    assert.equal(await rolledUp(dataDir), 30, "a stopped hub wrote every minute it held");

    hub = await startHub({ dataDir });
    assert.deepEqual((await hub.admin.metrics("k1", range)).series, before.series);
    assert.ok(
      !hub.child.logs().some((l) => l.msg === "rollups rebuilt from samples not yet rolled up"),
    );
  } finally {
    await hub.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("retention: the running hub prunes expired raw samples and rollups", async () => {
  const hub = await startHub({ args: ["--retention-raw", "30m", "--retention-rollups", "2h"] });
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "r1" })).token;
    const api = new ApiClient({ hub: hub.url, token });
    const now = Date.now();
    // Past both retentions: ingest would place it at its receive time, so seed it directly.
    await seedExpired(hub.dataDir, "r1", [makeSample(1, { ts: now - 3 * 3_600_000 })]);
    // An in-sync agent replaying its spool: raw expired, rollup kept.
    await api.ingest({
      node_id: "r1",
      sent_at: Date.now(),
      samples: [makeSample(2, { ts: now - 3_600_000 }), makeSample(3, { ts: now - 1000 })],
    });
    await waitFor(
      async () => (await hub.admin.stats()).samples_stored === 1,
      "expired raw pruned",
      15_000,
    );
    const hist = await hub.admin.metrics("r1", { from: "-4h", step: 60 });
    assert.equal(hist.source, "rollup");
    const points = hist.series.mem_pct.avg.filter((v) => v !== null).length;
    assert.equal(points, 2, "the 3 h old rollup is gone, the 1 h old and the newest remain");
    assert.ok(hub.child.logs().some((l) => l.msg === "pruned expired history"));
  } finally {
    await hub.stop();
  }
});

const YEAR = 365.25 * 86_400_000;

Deno.test("clock skew: ts 5 y / 100 y ahead and ts = 1 land at hub time and survive a prune; an in-sync replay keeps its ts", async () => {
  const hub = await startHub({ args: ["--retention-raw", "30m"] });
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  try {
    const push = async (node: string, samples: Sample[], sentAt?: number) => {
      const token = (await hub.admin.createToken({ kind: "node", node_id: node })).token;
      const api = new ApiClient({ hub: hub.url, token });
      return await api.ingest({ node_id: node, samples, sent_at: sentAt });
    };
    const t0 = Date.now();
    // Older agents (no sent_at) with a wrong clock.
    const y5 = await push("y5", [makeSample(1, { ts: t0 + 5 * YEAR })]);
    await push("y100", [makeSample(1, { ts: t0 + 100 * YEAR })]);
    await push("t1", [makeSample(1, { ts: 1 })]);
    // An in-sync agent replaying a 10-minute-old sample from its spool.
    const replay = await push("rp", [makeSample(1, { ts: t0 - 600_000 })], Date.now());
    const t1 = Date.now();
    assert.ok(Math.abs(y5.clock_skew_s! - 5 * YEAR / 1000) < 60, "the ack tells the skew");
    assert.equal(replay.clock_skew_s, null);

    // A prune round runs (it deletes this expired sample) and leaves the placed samples alone.
    await seedExpired(hub.dataDir, "old", [makeSample(1, { ts: t0 - 3_600_000 })]);
    await waitFor(
      async () => (await storedRows(hub.dataDir, "old")).length === 0,
      "a prune round",
      30_000,
    );
    for (const [node, agentTs] of [["y5", t0 + 5 * YEAR], ["y100", t0 + 100 * YEAR], ["t1", 1]]) {
      const rows = await storedRows(hub.dataDir, node as string);
      assert.equal(rows.length, 1, `${node} survives the prune`);
      const [r] = rows;
      assert.ok(r.ts >= t0 && r.ts <= t1, `${node} placed at the hub's receive time`);
      assert.ok(r.recv_ts >= t0 && r.recv_ts <= t1, `${node} recv_ts stored`);
      assert.equal(r.agent_ts, agentTs, `${node} keeps the agent's own ts beside`);
    }
    const [rp] = await storedRows(hub.dataDir, "rp");
    assert.deepEqual([rp.ts, rp.agent_ts], [t0 - 600_000, null], "a replay keeps its ts");
    assert.ok(rp.recv_ts >= t0 && rp.recv_ts <= t1);

    // The node API, the snapshot and the event stream show the skew; in-sync nodes show null.
    const skew100 = (await hub.admin.node("y100")).clock_skew_s!;
    assert.ok(Math.abs(skew100 - 100 * YEAR / 1000) < 60, `y100: ${skew100}`);
    assert.ok((await hub.admin.node("t1")).clock_skew_s! < -50 * YEAR / 1000);
    assert.equal((await hub.admin.node("rp")).clock_skew_s, null);
    const snap = await hub.admin.fleet();
    assert.equal(snap.nodes.find((n) => n.id === "y5")!.clock_skew_s, y5.clock_skew_s);
    const ev = await sse.next((e) => e.event === "node.clock" && e.data.includes('"y5"'));
    assert.equal(JSON.parse(ev.data).clock_skew_s, y5.clock_skew_s);
    const hist = await hub.admin.metrics("y5", { from: "-10m", step: 60 });
    assert.ok(hist.series.cpu_pct.avg.includes(12.5), "the sample is in recent history");
    const offLogs = hub.child.logs().filter((l) =>
      l.msg === "node clock is off; its samples are placed on hub time"
    );
    assert.deepEqual(offLogs.map((l) => l.node_id).sort(), ["t1", "y100", "y5"]);
  } finally {
    await sse.close();
    await hub.stop();
  }
});

Deno.test("unknown sample keys: counted in the ack and on the node, logged once per node", async () => {
  const hub = await startHub();
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "uk" })).token;
    const api = new ApiClient({ hub: hub.url, token });
    const odd = (seq: number) => ({ ...makeSample(seq), fans: [1200], npu: { pct: 4 } });
    const a = await api.ingest({ node_id: "uk", samples: [odd(1), odd(2)] });
    assert.equal(a.stored, 2, "the known part is stored");
    assert.equal(a.unknown_keys, 4);
    const b = await api.ingest({ node_id: "uk", samples: [odd(3)] });
    assert.equal(b.unknown_keys, 2);
    // Stored without the unknown keys (re-encoded), as the newest sample shows.
    const afterB = (await hub.admin.node("uk")).last_sample as Record<string, unknown>;
    assert.equal(afterB.seq, 3);
    assert.equal(afterB.fans, undefined);
    assert.equal(afterB.npu, undefined);
    const plain = makeSample(4);
    const c = await api.ingest({ node_id: "uk", samples: [plain] });
    assert.equal(c.unknown_keys, 0);
    const node = await hub.admin.node("uk");
    // A sample stored as it came (its own text from the body) reads back equal.
    assert.deepEqual(node.last_sample, plain);
    assert.equal(node.unknown_keys, 6);
    assert.equal((node.last_sample as Record<string, unknown>).fans, undefined);
    const logged = hub.child.logs().filter((l) =>
      l.msg === "node sends sample keys this hub does not know; they are ignored"
    );
    assert.equal(logged.length, 1, "logged once");
    assert.deepEqual((logged[0].keys as string[]).sort(), ["fans", "npu"]);
    assert.equal(logged[0].node_id, "uk");
  } finally {
    await hub.stop();
  }
});
