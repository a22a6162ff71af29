/**
 * Test 2 of the spine: `kill -9` of the hub while an agent pushes, then of the agent; after
 * restarts and replay every seq the agent produced is either stored by the hub or still waiting
 * in the agent's spool — no gap, no duplicate, nothing lost.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitFor } from "../helpers/process.ts";
import { openDatabase } from "../../hub/core/db.ts";
import { storedSeqs } from "../../hub/fleet/store.ts";
import { Spool } from "../../agent/spool.ts";
import { ApiClient } from "../../shared/api_client.ts";

async function lastSeq(api: ApiClient, id: string): Promise<number> {
  return (await api.node(id)).last_seq;
}

Deno.test("kill -9 hub and agent mid-push: every produced seq survives, no gap, no duplicate", async () => {
  let hub = await startHub();
  const { dataDir, port } = hub;
  const state = await Deno.makeTempDir({ prefix: "fleet-agent-" });
  const token = (await hub.admin.createToken({ kind: "node", node_id: "edge-1" })).token;
  let agent = startAgent({ hub: hub.url, token, stateDir: state, interval: "50ms" });
  try {
    await waitFor(async () => (await lastSeq(hub.admin, "edge-1")) >= 10, "10 samples stored");

    // The hub dies mid-stream; the agent keeps sampling into its spool.
    const beforeKill = await lastSeq(hub.admin, "edge-1");
    await hub.stop("SIGKILL");
    await waitFor(
      () => agent.logs().some((l) => l.msg === "hub unreachable; spooling"),
      "agent notices the hub is gone",
    );
    await new Promise((r) => setTimeout(r, 500));
    hub = await startHub({ dataDir, port });
    const atRestart = await lastSeq(hub.admin, "edge-1");
    // Its node rows were written every 30 s, not per batch: at start they come up to the samples.
    assert.ok(
      atRestart >= beforeKill,
      `last_seq ${atRestart} after the kill, ${beforeKill} before`,
    );
    await waitFor(
      async () => (await lastSeq(hub.admin, "edge-1")) >= atRestart + 20,
      "the agent replays its spool and goes on",
    );

    // Now the agent dies mid-stream and comes back on the same state dir.
    await agent.stop("SIGKILL");
    const beforeAgentRestart = await lastSeq(hub.admin, "edge-1");
    agent = startAgent({ hub: hub.url, token, stateDir: state, interval: "50ms" });
    await waitFor(
      async () => (await lastSeq(hub.admin, "edge-1")) >= beforeAgentRestart + 20,
      "the restarted agent pushes again",
    );
    await agent.stop("SIGTERM");
  } finally {
    await agent.stop("SIGKILL");
    await hub.stop();
  }

  const db = await openDatabase(join(dataDir, "fleet.db"));
  const seqs = storedSeqs(db, "edge-1");
  // Stopped gracefully: the contact held in memory reached the node's row.
  const row = db.get<{ last_seq: number }>("SELECT last_seq FROM nodes WHERE id = 'edge-1'");
  db.close();
  assert.equal(row?.last_seq, seqs.at(-1), "the row holds the highest stored seq");
  const spool = await Spool.open({ dir: join(state, "spool") });
  const waiting = (await spool.pending(1_000_000)).map((s) => s.seq);
  const produced = spool.lastSeq;
  spool.close();

  assert.ok(produced >= 50, `agent produced ${produced} samples`);
  const all = [...seqs, ...waiting].sort((a, b) => a - b);
  // Hub and spool together hold 1..produced exactly once each.
  assert.equal(new Set(all).size, all.length, "no seq held twice");
  assert.deepEqual(all, Array.from({ length: produced }, (_, i) => i + 1));
  // Whatever the hub acknowledged is no longer waiting in the spool.
  assert.ok(waiting.every((s) => s > seqs.at(-1)!), "spool holds only unacknowledged samples");
  await Deno.remove(state, { recursive: true });
  await Deno.remove(dataDir, { recursive: true });
});
