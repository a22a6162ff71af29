/**
 * Ingest under a flood past the hub's in-flight bound (`--ingest-max-pending`): batches beyond
 * it are refused with 503, `Retry-After` and a problem body, a refused batch stores nothing, and
 * when every node replays what was refused (as the agent does) the hub holds each node's seqs
 * exactly once, none lost, none doubled.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { makeSample } from "../helpers/samples.ts";
import { openDatabase } from "../../hub/core/db.ts";
import { storedSeqs } from "../../hub/fleet/store.ts";

const NODES = 12;
const BATCHES = 6;
const PER_BATCH = 5;

async function flood(writer: "main" | "worker"): Promise<void> {
  // A 1-byte bound admits one batch at a time: every batch that arrives meanwhile is refused.
  const hub = await startHub({ args: ["--ingest-max-pending", "1", "--db-writer", writer] });
  let refused = 0;
  try {
    const tokens: string[] = [];
    for (let i = 0; i < NODES; i++) {
      tokens.push((await hub.admin.createToken({ kind: "node", node_id: `flood-${i}` })).token);
    }
    const post = (i: number, first: number) =>
      fetch(`${hub.url}/api/v1/ingest`, {
        method: "POST",
        headers: { authorization: `Bearer ${tokens[i]}`, "content-type": "application/json" },
        body: JSON.stringify({
          node_id: `flood-${i}`,
          samples: Array.from({ length: PER_BATCH }, (_, j) => makeSample(first + j)),
        }),
      });
    const lastSeq = async (i: number) => {
      const res = await fetch(`${hub.url}/api/v1/agent/self`, {
        headers: { authorization: `Bearer ${tokens[i]}` },
      });
      return ((await res.json()) as { last_seq: number }).last_seq;
    };
    // Each node sends its batches in order and replays a refused one, as the agent does; all
    // nodes at once. Bounded: a batch is tried at most 200 times.
    await Promise.all(Array.from({ length: NODES }, async (_, i) => {
      for (let b = 0; b < BATCHES; b++) {
        const first = b * PER_BATCH + 1;
        for (let attempt = 1;; attempt++) {
          assert.ok(attempt <= 200, `flood-${i} batch ${b} never accepted`);
          const res = await post(i, first);
          const body = await res.json();
          if (res.status === 200) {
            assert.equal(body.acked_seq, first + PER_BATCH - 1);
            assert.equal(body.stored, PER_BATCH, "a replayed batch was not stored before");
            break;
          }
          assert.equal(res.status, 503, JSON.stringify(body));
          assert.equal(res.headers.get("retry-after"), "1");
          assert.match(res.headers.get("content-type") ?? "", /application\/problem\+json/);
          assert.equal(body.status, 503);
          assert.match(body.detail, /in flight/);
          refused++;
          // Nothing of the refused batch was stored.
          assert.equal(await lastSeq(i), first - 1, "a refused batch changed the node");
          // Shorter than Retry-After to keep the test quick; the agent waits longer.
          await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
        }
      }
    }));
  } finally {
    await hub.stop();
  }
  assert.ok(refused > 0, "the flood went past the bound");

  const db = await openDatabase(join(hub.dataDir, "fleet.db"));
  try {
    for (let i = 0; i < NODES; i++) {
      assert.deepEqual(
        storedSeqs(db, `flood-${i}`),
        Array.from({ length: BATCHES * PER_BATCH }, (_, j) => j + 1),
        `flood-${i} holds each seq exactly once`,
      );
    }
  } finally {
    db.close();
    await Deno.remove(hub.dataDir, { recursive: true });
  }
}

Deno.test("ingest flood past the in-flight bound: 503 + Retry-After, refused batches change nothing, data exact", async (t) => {
  await t.step("writes committed on the request thread", () => flood("main"));
  await t.step("writes committed on the writer worker", () => flood("worker"));
});
