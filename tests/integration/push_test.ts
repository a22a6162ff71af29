/**
 * The agent's pusher against a real hub: batches in seq order, a poisoned sample is isolated
 * and dropped (counted, reported) without blocking or costing the rest, a refusal of the batch
 * itself drops nothing, an unknown token keeps samples spooled, spool drops are reported to the
 * hub, a bogus seq cannot pin a node, and a skewed agent clock shows on the node.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { pushSeqs } from "../helpers/samples.ts";
import { waitFor } from "../helpers/process.ts";
import { Spool } from "../../agent/spool.ts";
import { Pusher } from "../../agent/push.ts";
import { startAgent as startAgentInProcess } from "../../agent/mod.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import { type SampleMetrics, SEQ_WINDOW } from "../../shared/protocol/mod.ts";
import { openDatabase } from "../../hub/core/db.ts";
import { storedSeqs } from "../../hub/fleet/store.ts";

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
    assert.equal(spool.dropped, 1, "the refused sample is counted as dropped");
    assert.equal(pusher.nodeId, "p1", "node id learned from the hub");
    const node = await hub.admin.node("p1");
    assert.equal(node.last_seq, 45);
    assert.equal(node.last_sample?.cpu?.pct, 45);
    assert.equal(node.spool_dropped, 1, "the hub is told about the drop");
    assert.equal((await hub.admin.stats()).samples_stored, 44);
    spool.close();
    const db = await openDatabase(join(hub.dataDir, "fleet.db"));
    const seqs = storedSeqs(db, "p1");
    db.close();
    assert.deepEqual(seqs, Array.from({ length: 45 }, (_, i) => i + 1).filter((s) => s !== 17));
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

Deno.test("pusher: a refusal that names no sample drops nothing; the samples stay spooled", async () => {
  const hub = await startHub();
  const dir = await Deno.makeTempDir({ prefix: "push-" });
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "p4" })).token;
    const spool = await Spool.open({ dir: join(dir, "spool") });
    for (let i = 0; i < 5; i++) await spool.append({ cpu: { pct: i } }, Date.now());
    // An agent version longer than the hub allows: the envelope is at fault, not a sample.
    const bad = { ...agent, version: "v".repeat(100) };
    const pusher = new Pusher({ hub: hub.url, token, spool, agent: bad, attempts: 1 });
    const r = await pusher.flush();
    assert.equal(r.drained, false);
    assert.match(r.error!, /agent\.version/);
    assert.equal(pusher.rejected, 0);
    assert.equal(spool.dropped, 0);
    assert.equal(spool.backlog, 5, "every sample kept");
    assert.equal((await hub.admin.node("p4")).last_seq, 0);
    spool.close();
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bogus seq cannot pin a node: refused naming seq, last_seq kept, the real agent goes on", async () => {
  const hub = await startHub();
  const state = await Deno.makeTempDir({ prefix: "fleet-agent-" });
  const token = (await hub.admin.createToken({ kind: "node", node_id: "pin" })).token;
  let child = startAgent({ hub: hub.url, token, stateDir: state });
  try {
    await waitFor(async () => (await hub.admin.node("pin")).last_seq >= 3, "the agent pushes");
    await child.stop("SIGTERM");
    const last = (await hub.admin.node("pin")).last_seq;

    // Something else holding the node's token sends seqs no agent produces.
    for (const seq of [Number.MAX_SAFE_INTEGER, last + SEQ_WINDOW + 1]) {
      const err = await pushSeqs(hub.url, token, "pin", seq, seq).catch((e) => e);
      assert.ok(err instanceof ApiError, `seq ${seq} refused`);
      assert.equal(err.status, 400);
      assert.equal(err.problem?.errors?.[0].path, "samples.0.seq");
      assert.match(err.problem!.errors![0].message, / 1 to \d+/, "the allowed range is named");
    }
    assert.equal((await hub.admin.node("pin")).last_seq, last, "last_seq unchanged");

    // The real agent, restarted on its spool, is accepted as before.
    child = startAgent({ hub: hub.url, token, stateDir: state });
    await waitFor(
      async () => (await hub.admin.node("pin")).last_seq >= last + 3,
      "the real agent's next samples are stored",
    );
    await child.stop("SIGTERM");
    assert.ok(!child.logs().some((l) => l.msg === "hub refused a sample; dropping it"));
    assert.equal((await hub.admin.node("pin")).spool_dropped, 0);
  } finally {
    await child.stop("SIGKILL");
    await hub.stop();
    await Deno.remove(state, { recursive: true });
  }
});

Deno.test("agent with a clock 5 years ahead: the node shows the skew, samples land on hub time", async () => {
  const hub = await startHub();
  const state = await Deno.makeTempDir({ prefix: "fleet-agent-" });
  const stop = new AbortController();
  const YEAR_MS = 365.25 * 86_400_000;
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "skew" })).token;
    // The agent has no clock setting, so startAgent's `clock` test hook injects the skewed one.
    const run = startAgentInProcess({
      hub: hub.url,
      token,
      intervalMs: 100,
      stateDir: state,
      source: { collect: () => Promise.resolve({ cpu: { pct: 7 } }), close: () => {} },
      agent,
      clock: () => Date.now() + 5 * YEAR_MS,
      jobs: false,
      control: false,
      signal: stop.signal,
    });
    await waitFor(async () => (await hub.admin.node("skew")).last_seq >= 3, "samples stored");
    stop.abort();
    await run.done;
    const node = await hub.admin.node("skew");
    assert.ok(
      Math.abs(node.clock_skew_s! - 5 * YEAR_MS / 1000) < 600,
      `skew shown: ${node.clock_skew_s}`,
    );
    assert.ok(
      Math.abs(node.last_sample!.ts - Date.now()) < 10 * 60_000,
      "the newest sample is placed on the hub's clock",
    );
    const fleet = await hub.admin.fleet();
    assert.equal(fleet.nodes.find((n) => n.id === "skew")?.clock_skew_s, node.clock_skew_s);
    const hist = await hub.admin.metrics("skew", { from: "-10m", step: 60 });
    assert.ok(hist.series.cpu_pct.avg.includes(7), "history shows the samples now");
    const warned = hub.child.logs().filter((l) =>
      l.msg === "node clock is off; its samples are placed on hub time"
    );
    assert.equal(warned.length, 1, "warned once");
    assert.equal(warned[0].node_id, "skew");

    // The same agent with its clock fixed (NTP synced): back in sync, logged once.
    const stop2 = new AbortController();
    const agentApi = new ApiClient({ hub: hub.url, token });
    const before = (await agentApi.self()).last_seq;
    const again = startAgentInProcess({
      hub: hub.url,
      token,
      intervalMs: 100,
      stateDir: state,
      source: { collect: () => Promise.resolve({ cpu: { pct: 8 } }), close: () => {} },
      agent,
      jobs: false,
      control: false,
      signal: stop2.signal,
    });
    await waitFor(
      async () => (await hub.admin.node("skew")).last_seq >= before + 2,
      "synced samples stored",
    );
    stop2.abort();
    await again.done;
    assert.equal((await hub.admin.node("skew")).clock_skew_s, null);
    assert.equal(hub.child.logs().filter((l) => l.msg === "node clock back in sync").length, 1);
  } finally {
    stop.abort();
    await hub.stop();
    await Deno.remove(state, { recursive: true });
  }
});
