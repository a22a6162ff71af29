/**
 * The queue sweep and the "agent restarted" return, on a real SQLite store: a lease expiry is
 * never reported as a timeout, the hub's own timeout check only fails a job whose worker kept
 * heartbeating well past the deadline, and a restarted node's unheld jobs return at once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "../../hub/core/db.ts";
import {
  claimJob,
  getJobRow,
  heartbeatJob,
  insertJob,
  jobHistory,
  type NewJob,
  returnUnheldJobs,
  sweepJobs,
} from "../../hub/jobs/store.ts";

const LEASE = 10_000;
const GRACE = 60_000;
const can = { clusters: [], templates: [], unscoped: true };

function newJob(timeout_s: number, max_attempts = 3): NewJob {
  return {
    template: null,
    executor: "process",
    image: null,
    command: "sleep 600",
    env: {},
    mounts: [],
    gpu: false,
    cluster: null,
    node: null,
    payload: null,
    priority: 0,
    max_attempts,
    timeout_s,
  };
}

async function tempDb() {
  const dir = await Deno.makeTempDir({ prefix: "sweep-" });
  return { dir, db: await openDatabase(join(dir, "fleet.db")) };
}

Deno.test("sweep: a silent worker past the job's timeout is a lease expiry, not a timeout", async () => {
  const { dir, db } = await tempDb();
  try {
    const t0 = 1_000_000;
    const options = { leaseMs: LEASE, timeoutGraceMs: GRACE };
    const { row } = await db.write((tx) => insertJob(tx, newJob(1), t0));
    await db.write((tx) => claimJob(tx, "n1", can, LEASE, t0));
    await db.write((tx) => heartbeatJob(tx, row.id, "n1", 1, true, undefined, LEASE, t0));
    // Past the 1 s timeout, the lease still alive: the worker may be enforcing it right now.
    assert.deepEqual(await db.write((tx) => sweepJobs(tx, t0 + 5000, options)), []);
    assert.equal(getJobRow(db, row.id)!.state, "running");
    // The lease runs out: back to the queue, attempt counted, and the reason says so.
    const [t] = await db.write((tx) => sweepJobs(tx, t0 + LEASE + 1, options));
    assert.equal(t.state, "pending");
    assert.equal(t.attempt, 1);
    assert.equal(t.detail, "lease expired on n1");
    const back = getJobRow(db, row.id)!;
    assert.equal(back.state, "pending");
    assert.match(back.error ?? "", /^lease expired/);
    assert.ok(!jobHistory(db, row.id).some((h) => /timed out/.test(h.detail ?? "")));
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sweep: the timeout backstop only fails a job whose worker heartbeats well past it", async () => {
  const { dir, db } = await tempDb();
  try {
    const t0 = 1_000_000;
    const options = { leaseMs: LEASE, timeoutGraceMs: GRACE };
    const { row } = await db.write((tx) => insertJob(tx, newJob(1), t0));
    await db.write((tx) => claimJob(tx, "n1", can, LEASE, t0));
    const beat = (at: number) =>
      db.write((tx) => heartbeatJob(tx, row.id, "n1", 1, true, undefined, LEASE, at));
    await beat(t0);
    // Alive and heartbeating, but within the grace after the deadline: left to the worker.
    const withinGrace = t0 + 1000 + GRACE - 1;
    await beat(withinGrace);
    assert.deepEqual(await db.write((tx) => sweepJobs(tx, withinGrace + 1, options)), []);
    // Still heartbeating after the grace: the worker is alive but did not stop its job.
    const late = t0 + 1000 + GRACE + 5000;
    await beat(late);
    const [t] = await db.write((tx) => sweepJobs(tx, late + 1, options));
    assert.equal(t.state, "failed");
    assert.match(t.detail ?? "", /^timed out after 1 s: worker n1 did not stop it within 60 s$/);
    assert.equal(getJobRow(db, row.id)!.state, "failed");
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("return: a node's unheld jobs go back at once, attempt counted; the last attempt fails", async () => {
  const { dir, db } = await tempDb();
  try {
    const t0 = 1_000_000;
    const a = (await db.write((tx) => insertJob(tx, newJob(60), t0))).row.id;
    const b = (await db.write((tx) => insertJob(tx, newJob(60, 1), t0))).row.id;
    const c = (await db.write((tx) => insertJob(tx, newJob(60), t0))).row.id;
    await db.write((tx) => claimJob(tx, "n1", can, LEASE, t0));
    await db.write((tx) => claimJob(tx, "n1", can, LEASE, t0));
    await db.write((tx) => claimJob(tx, "n2", can, LEASE, t0));
    await db.write((tx) => heartbeatJob(tx, a, "n1", 1, true, undefined, LEASE, t0));

    // n1 runs b only (and names c, which n2 holds: not n1's to keep or return).
    const r = await db.write((tx) => returnUnheldJobs(tx, "n1", [b, c], t0 + 1));
    assert.deepEqual(r.returned, [a]);
    assert.deepEqual(r.kept, [b]);
    assert.deepEqual(r.unknown, [c]);
    assert.equal(r.transitions[0].detail, "agent restarted on n1");
    assert.equal(r.transitions[0].attempt, 1);
    assert.equal(getJobRow(db, a)!.state, "pending");
    assert.equal(getJobRow(db, a)!.claimed_by, null);
    assert.equal(getJobRow(db, c)!.state, "claimed", "another node's job is untouched");

    // n1 restarts again, running nothing: b was its only attempt.
    const again = await db.write((tx) => returnUnheldJobs(tx, "n1", [], t0 + 2));
    assert.deepEqual(again.returned, [b]);
    const failed = getJobRow(db, b)!;
    assert.equal(failed.state, "failed");
    assert.match(failed.error ?? "", /^agent restarted/);
    // A claimed job that returned is claimed afresh with the next attempt.
    const next = await db.write((tx) => claimJob(tx, "n1", can, LEASE, t0 + 3));
    assert.equal(next!.row.id, a);
    assert.equal(next!.row.attempts, 2);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
