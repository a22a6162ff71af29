/**
 * History over HTTP: short ranges answer from raw samples, long ones from 1-minute rollups, gaps
 * stay gaps; expired samples are pruned continuously by the running hub.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { makeSample } from "../helpers/samples.ts";
import { waitFor } from "../helpers/process.ts";
import { ApiClient } from "../../shared/api_client.ts";

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

Deno.test("retention: the running hub prunes expired raw samples and rollups", async () => {
  const hub = await startHub({ args: ["--retention-raw", "30m", "--retention-rollups", "2h"] });
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "r1" })).token;
    const api = new ApiClient({ hub: hub.url, token });
    const now = Date.now();
    await api.ingest({
      node_id: "r1",
      samples: [
        makeSample(1, { ts: now - 3 * 3_600_000 }), // past both retentions
        makeSample(2, { ts: now - 3_600_000 }), // raw expired, rollup kept
        makeSample(3, { ts: now - 1000 }),
      ],
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
