/**
 * The agent's pusher against a real hub: batches in seq order, a poisoned sample is isolated
 * and dropped (counted) without blocking the rest, an unknown token keeps samples spooled, and
 * spool drops are reported to the hub.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { Spool } from "../../agent/spool.ts";
import { Pusher } from "../../agent/push.ts";
import type { SampleMetrics } from "../../shared/protocol.ts";

const agent = { version: "test", hostname: "t", arch: "x86_64" };

Deno.test("pusher: sends the backlog in batches; isolates and drops a sample the hub refuses", async () => {
  const hub = await startHub();
  const dir = await Deno.makeTempDir({ prefix: "push-" });
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "p1" })).token;
    const spool = await Spool.open({ dir: join(dir, "spool") });
    for (let i = 1; i <= 45; i++) {
      // Sample 17 is invalid for the hub (a percentage over 100), e.g. from a buggy collector.
      const metrics: SampleMetrics = i === 17 ? { cpu: { pct: 250 } } : { cpu: { pct: i } };
      await spool.append(metrics, Date.now());
    }
    const pusher = new Pusher({ hub: hub.url, token, spool, agent, batchMax: 10 });
    const result = await pusher.flush();
    assert.equal(result.drained, true);
    assert.equal(pusher.rejected, 1);
    assert.equal(pusher.nodeId, "p1", "node id learned from the hub");
    const node = await hub.admin.node("p1");
    assert.equal(node.last_seq, 45);
    assert.equal(node.last_sample?.cpu?.pct, 45);
    assert.equal((await hub.admin.stats()).samples_stored, 44);
    spool.close();
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pusher: a refused token keeps samples spooled; drops are reported to the hub", async () => {
  const hub = await startHub();
  const dir = await Deno.makeTempDir({ prefix: "push-" });
  try {
    const spool = await Spool.open({ dir: join(dir, "spool"), segmentBytes: 40, maxBytes: 200 });
    for (let i = 0; i < 30; i++) await spool.append({}, Date.now());
    assert.ok(spool.dropped > 0);
    const wrong = new Pusher({ hub: hub.url, token: "fcn_wrong", spool, agent, nodeId: "p2" });
    const refused = await wrong.flush();
    assert.equal(refused.drained, false);
    assert.match(refused.error!, /unknown, revoked or expired/);
    assert.ok(spool.backlog > 0, "samples kept");

    const token = (await hub.admin.createToken({ kind: "node", node_id: "p2" })).token;
    const right = new Pusher({ hub: hub.url, token, spool, agent });
    assert.equal((await right.flush()).drained, true);
    const node = await hub.admin.node("p2");
    assert.equal(node.last_seq, 30);
    assert.equal(node.spool_dropped, spool.dropped, "the hub knows how many samples were lost");
    spool.close();
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pusher: hub unreachable → bounded retries, samples stay spooled", async () => {
  const dir = await Deno.makeTempDir({ prefix: "push-" });
  // A port nothing listens on.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  try {
    const spool = await Spool.open({ dir: join(dir, "spool") });
    await spool.append({}, Date.now());
    const pusher = new Pusher({
      hub: `http://127.0.0.1:${port}`,
      token: "fcn_x",
      spool,
      agent,
      nodeId: "p3",
      attempts: 3,
      backoffMs: 10,
    });
    const r = await pusher.flush();
    assert.equal(r.drained, false);
    assert.ok(r.error);
    assert.equal(spool.backlog, 1);
    spool.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
