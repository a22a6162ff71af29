/**
 * Test 7 of the spine: SSE resume with `Last-Event-ID` delivers exactly the missed events; an
 * impossible resume says `stream.reset`; heartbeats flow; a client that stops reading is dropped
 * and the hub's memory stays bounded.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { SseClient } from "../helpers/sse.ts";
import { pushSeqs } from "../helpers/samples.ts";
import { waitFor } from "../helpers/process.ts";

Deno.test("SSE resume with Last-Event-ID replays exactly the missed events", async () => {
  const hub = await startHub({ args: ["--heartbeat", "200ms"] });
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "n1" })).token;
    const first = await SseClient.connect(hub.url, hub.adminToken);
    for (let s = 1; s <= 3; s++) await pushSeqs(hub.url, token, "n1", s, s);
    await first.next((e) => e.event === "node.sample" && JSON.parse(e.data).sample.seq === 3);
    await waitFor(() => first.comments.includes(": heartbeat"), "a heartbeat comment");
    const lastId = first.events.at(-1)!.id!;
    await first.close();

    // Missed while disconnected: seqs 4..8, one event each.
    for (let s = 4; s <= 8; s++) await pushSeqs(hub.url, token, "n1", s, s);
    const resumed = await SseClient.connect(hub.url, hub.adminToken, lastId);
    try {
      await resumed.next((e) => e.event === "node.sample" && JSON.parse(e.data).sample.seq === 8);
      const seqs = resumed.data<{ sample: { seq: number } }>("node.sample").map((d) =>
        d.sample.seq
      );
      assert.deepEqual(seqs, [4, 5, 6, 7, 8], "exactly the missed samples, in order");
      // Ids continue from the last one seen, without a gap.
      const [boot, n] = lastId.split("-");
      assert.equal(resumed.events[0].id, `${boot}-${Number(n) + 1}`);
    } finally {
      await resumed.close();
    }

    // A resume the hub cannot serve (another boot) says so instead of silently skipping.
    const stale = await SseClient.connect(hub.url, hub.adminToken, "zzzz-5");
    try {
      const reset = await stale.next((e) => e.event === "stream.reset");
      assert.match(JSON.parse(reset.data).reason, /restarted/);
    } finally {
      await stale.close();
    }
    // The snapshot's event id is a valid resume point: nothing between snapshot and stream is lost.
    const snap = await hub.admin.fleet();
    const fromSnap = await SseClient.connect(hub.url, hub.adminToken, snap.event_id);
    try {
      await pushSeqs(hub.url, token, "n1", 9, 9);
      const ev = await fromSnap.next((e) => e.event === "node.sample");
      assert.equal(JSON.parse(ev.data).sample.seq, 9);
    } finally {
      await fromSnap.close();
    }
  } finally {
    await hub.stop();
  }
});

Deno.test("SSE: a client that stops reading is dropped; hub memory stays bounded", async () => {
  const hub = await startHub({ args: ["--client-buffer", "256KB"] });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: hub.port });
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "n1" })).token;
    // A raw HTTP client that sends its request and then never reads a byte.
    await conn.write(new TextEncoder().encode(
      `GET /api/v1/fleet/events HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Authorization: Bearer ${hub.adminToken}\r\n\r\n`,
    ));
    await waitFor(
      async () => (await hub.admin.stats()).sse_clients === 1,
      "the stuck client connected",
    );
    const rssBefore = (await hub.admin.stats()).rss_b;
    // Large samples (many containers) so the stream outgrows kernel socket buffers quickly.
    const containers = Array.from({ length: 400 }, (_, i) => ({
      name: `worker-${i}`,
      image: `127.0.0.1:5000/fleet/sdxl:${"x".repeat(100)}`,
      state: "running",
      cpu_pct: 1.5,
      mem_b: 1e8,
    }));
    let seq = 0;
    const deadline = Date.now() + 60_000;
    while ((await hub.admin.stats()).sse_dropped === 0 && Date.now() < deadline) {
      for (let i = 0; i < 10; i++, seq++) {
        await pushSeqs(hub.url, token, "n1", seq + 1, seq + 1, { containers });
      }
    }
    const stats = await hub.admin.stats();
    assert.equal(stats.sse_dropped, 1, "the stuck client was dropped");
    assert.equal(stats.sse_clients, 0);
    // Tens of MB of events went by; the hub did not keep them for the stuck client.
    const streamedMb = (seq * JSON.stringify(containers).length) / 1e6;
    assert.ok(streamedMb > 5, `streamed ${streamedMb.toFixed(1)} MB`);
    assert.ok(
      stats.rss_b - rssBefore < 200e6,
      `RSS grew by ${((stats.rss_b - rssBefore) / 1e6).toFixed(0)} MB after ${
        streamedMb.toFixed(0)
      } MB streamed`,
    );
    assert.ok(
      hub.child.logs().some((l) => l.msg === "dropped slow SSE client"),
      "the drop is logged",
    );
  } finally {
    conn.close();
    await hub.stop();
  }
});
