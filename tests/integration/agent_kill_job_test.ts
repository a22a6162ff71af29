/**
 * `kill -9` of an agent mid-job, with a real hub and real agent processes: no process
 * of the job outlives the agent's restart, the job returns to the queue as soon as the agent
 * reconnects (not after its 5-minute lease) and runs exactly once more; a lease expiry is never
 * reported as a timeout while a live agent's timeout still is; and the route an agent reports
 * its running jobs on refuses bad bodies, other nodes and non-node tokens.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { type Child, waitFor } from "../helpers/process.ts";
import { SseClient } from "../helpers/sse.ts";
import { openDatabase } from "../../hub/core/db.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import type { JobInfo } from "../../shared/protocol/mod.ts";

/** A process's start time (clock ticks since boot), or undefined when it is gone or a zombie. */
function startTime(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return f[0] === "Z" ? undefined : Number(f[19]);
  } catch {
    return undefined;
  }
}

async function lines(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(file).catch(() => "");
  return text.split("\n").filter(Boolean);
}

async function jobIn(
  api: ApiClient,
  id: string,
  test: (j: JobInfo) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<JobInfo> {
  return await waitFor(
    async () => {
      const j = await api.job(id);
      return test(j) ? j : undefined;
    },
    what,
    timeoutMs,
  );
}

/** Kills test leftovers by process group, only while they are the processes we saw start. */
function killLeftovers(seen: Map<number, number>): void {
  for (const [pid, start] of seen) {
    if (startTime(pid) !== start) continue;
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone meanwhile */ }
  }
}

Deno.test("kill -9 the agent mid-job: the restart kills the job's processes, the hub re-queues it at once, it runs once more", async () => {
  // The default 5-minute lease: a re-queue within the test's bounds cannot be the lease sweep.
  const hub = await startHub({ args: ["--job-lease", "5m", "--sweep-every", "200ms"] });
  const token = (await hub.admin.createToken({ kind: "node", node_id: "k1" })).token;
  const state = await Deno.makeTempDir({ prefix: "fleet-k1-" });
  const dir = await Deno.makeTempDir({ prefix: "fleet-kill-" });
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  let agent: Child = startAgent({ hub: hub.url, token, stateDir: state, interval: "5s" });
  const seen = new Map<number, number>();
  let jobId = "";
  try {
    // Attempt 1 leaves three processes: the leader, a child in its group, and one that left
    // the group with setsid. A rerun just finishes. Every start appends a line.
    const script = `echo "$FLEET_JOB_ATTEMPT" >> "$1/starts"
if [ "$FLEET_JOB_ATTEMPT" = 1 ]; then
  echo $$ >> "$1/pids"
  sleep 600 & echo $! >> "$1/pids"
  setsid sh -c 'echo $$ >> "$0/pids"; exec sleep 600' "$1" &
  wait
fi
echo finished`;
    jobId = (await hub.admin.submitJob({
      executor: "process",
      command: ["/bin/sh", "-c", script, "sh", dir],
      max_attempts: 3,
    })).id;
    await jobIn(hub.admin, jobId, (j) => j.state === "running", "k1 runs the job");
    const pids = await waitFor(async () => {
      const p = (await lines(join(dir, "pids"))).map(Number);
      return p.length === 3 ? p : undefined;
    }, "the job's three processes");
    for (const pid of pids) seen.set(pid, startTime(pid)!);
    assert.ok([...seen.values()].every((s) => s !== undefined), "all three run");

    await agent.stop("SIGKILL");
    // The premise: the job's processes outlive the agent itself.
    assert.ok(pids.every((p) => startTime(p) === seen.get(p)), "the job survives kill -9");
    const held = await hub.admin.job(jobId);
    assert.equal(held.state, "running", "the hub still thinks k1 runs it");

    agent = startAgent({ hub: hub.url, token, stateDir: state, interval: "5s" });
    const done = await jobIn(hub.admin, jobId, (j) => j.state === "done", "the rerun done", 60_000);
    const reaped = agent.logs().find((l) =>
      l.msg === "killed what a previous run of the agent left"
    );
    assert.ok(reaped, "the restarted agent reaped leftovers");
    assert.deepEqual([...(reaped.pids as number[])].sort(), [...pids].sort());
    for (const pid of pids) {
      assert.notEqual(startTime(pid), seen.get(pid), `process ${pid} of the job survived`);
    }
    assert.deepEqual(await lines(join(dir, "starts")), ["1", "2"], "started twice: once more");
    assert.equal(done.attempts, 2);
    assert.equal(done.claimed_by, "k1");
    assert.match(done.log_tail ?? "", /finished/);
    const back = done.history!.find((h) => h.state === "pending" && h.detail !== null);
    assert.equal(back?.detail, "agent restarted on k1");
    assert.ok(!done.history!.some((h) => /lease expired|timed out/.test(h.detail ?? "")));
    // Announced on the bus like every transition, with the attempt it ended.
    const event = await sse.next((e) =>
      e.event === "job.state" && JSON.parse(e.data).detail === "agent restarted on k1"
    );
    const data = JSON.parse(event.data);
    assert.equal(data.job_id, jobId);
    assert.equal(data.state, "pending");
    assert.equal(data.previous, "running");
    assert.equal(data.attempt, 1);
  } finally {
    await sse.close();
    await agent.stop("SIGKILL");
    killLeftovers(seen);
    await hub.stop();
  }
  // The events as stored: attempt 1 returned with the reason, attempt 2 claimed and done.
  const db = await openDatabase(join(hub.dataDir, "fleet.db"));
  const events = db.all<{ state: string; attempt: number; detail: string | null }>(
    "SELECT state, attempt, detail FROM job_events WHERE job_id = ? ORDER BY at, rowid",
    Number(jobId),
  );
  db.close();
  assert.deepEqual(events.map((e) => `${e.state}#${e.attempt}`), [
    "pending#0",
    "claimed#1",
    "running#1",
    "pending#1",
    "claimed#2",
    "running#2",
    "done#2",
  ]);
  assert.equal(events[3].detail, "agent restarted on k1");
  await Deno.remove(state, { recursive: true });
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(hub.dataDir, { recursive: true });
});

Deno.test("timeout shorter than the lease, agent killed: the job is retried after its lease; a live agent's timeout is still a timeout", async () => {
  const hub = await startHub({ args: ["--job-lease", "8s", "--sweep-every", "200ms"] });
  const dir = await Deno.makeTempDir({ prefix: "fleet-timeout-" });
  const spawn = async (id: string) => {
    const token = (await hub.admin.createToken({ kind: "node", node_id: id })).token;
    const state = await Deno.makeTempDir({ prefix: `fleet-${id}-` });
    return startAgent({ hub: hub.url, token, stateDir: state, interval: "5s" });
  };
  const a = await spawn("t-a");
  let b: Child | undefined;
  const seen = new Map<number, number>();
  try {
    const { id } = await hub.admin.submitJob({
      executor: "process",
      command: ["/bin/sh", "-c", `echo $$ >> "$1/pids"; sleep 600`, "sh", dir],
      timeout_s: 5,
      max_attempts: 2,
    });
    await jobIn(hub.admin, id, (j) => j.state === "running", "t-a runs the job");
    await a.stop("SIGKILL");
    const [leader] = (await lines(join(dir, "pids"))).map(Number);
    if (leader) seen.set(leader, startTime(leader)!);

    // Not failed as "timed out" when its timeout passes: t-a went silent, so the lease decides.
    const requeued = await jobIn(
      hub.admin,
      id,
      (j) => j.state !== "running",
      "the job leaves t-a",
    );
    assert.equal(requeued.state, "pending", `not ${requeued.state}: ${requeued.error}`);
    assert.match(requeued.error ?? "", /^lease expired: worker t-a went silent/);

    // A live agent enforces the timeout itself and reports it.
    b = await spawn("t-b");
    const failed = await jobIn(hub.admin, id, (j) => j.state === "failed", "the retry times out");
    assert.equal(failed.attempts, 2);
    assert.equal(failed.claimed_by, "t-b");
    assert.equal(failed.error, "timed out after 5 s");
    const details = failed.history!.map((h) => h.detail).filter(Boolean);
    assert.deepEqual(details, ["lease expired on t-a", "timed out after 5 s"]);
  } finally {
    await a.stop("SIGKILL");
    await b?.stop();
    // t-a never restarts, so its attempt's process is the test's to clean up.
    for (const pid of (await lines(join(dir, "pids"))).map(Number)) {
      if (!seen.has(pid)) seen.set(pid, startTime(pid) ?? -1);
    }
    for (const [pid, start] of seen) {
      if (startTime(pid) !== start) continue;
      try {
        Deno.kill(-pid, "SIGKILL");
      } catch { /* gone meanwhile */ }
    }
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /jobs/running: bad bodies name the field, a node reports only for itself, others are refused", async () => {
  const hub = await startHub();
  try {
    const tokenFor = async (kind: "node" | "viewer", node?: string) =>
      new ApiClient({
        hub: hub.url,
        token: (await hub.admin.createToken(
          kind === "node" ? { kind, node_id: node! } : { kind },
        )).token,
      });
    const n1 = await tokenFor("node", "r1");
    const n2 = await tokenFor("node", "r2");
    const viewer = await tokenFor("viewer");
    const held = (await hub.admin.submitJob({ executor: "process", command: "x", node: "r2" })).id;
    const last = (await hub.admin.submitJob({
      executor: "process",
      command: "x",
      node: "r2",
      max_attempts: 1,
    })).id;
    assert.equal((await n2.claimJob(0)).job?.id, held);
    assert.equal((await n2.claimJob(0)).job?.id, last);

    const bad: [unknown, RegExp][] = [
      [{}, /job_ids/],
      [{ job_ids: "1" }, /job_ids/],
      [{ job_ids: ["one"] }, /job_ids\.0/],
      [{ job_ids: [1] }, /job_ids\.0/],
      [{ job_ids: [], node_id: "NOT A NODE" }, /node_id/],
      [{ job_ids: [], extra: true }, /extra/],
    ];
    for (const [body, field] of bad) {
      await assert.rejects(() => n2.request("POST", "/api/v1/jobs/running", body), (e: unknown) => {
        assert.ok(e instanceof ApiError && e.status === 400, `${JSON.stringify(body)}: ${e}`);
        assert.match(JSON.stringify(e.problem), field);
        return true;
      });
    }
    // Another node can neither speak for r2 nor touch r2's jobs by speaking for itself.
    await assert.rejects(
      () => n1.reportRunningJobs([], "r2"),
      (e: unknown) => e instanceof ApiError && e.status === 403 && /node_id/.test(e.message),
    );
    const own = await n1.reportRunningJobs([held]);
    assert.deepEqual(own, { kept: [], returned: [], unknown: [held] });
    for (const client of [hub.admin, viewer]) {
      await assert.rejects(
        () => client.reportRunningJobs([]),
        (e: unknown) => e instanceof ApiError && e.status === 403,
      );
    }
    await assert.rejects(
      () => new ApiClient({ hub: hub.url }).reportRunningJobs([]),
      (e: unknown) => e instanceof ApiError && e.status === 401,
    );
    for (const id of [held, last]) assert.equal((await hub.admin.job(id)).state, "claimed");

    // r2 itself: what it runs is kept, the rest goes back (or fails on its last attempt).
    const mine = await n2.reportRunningJobs([held], "r2");
    assert.deepEqual(mine, { kept: [held], returned: [last], unknown: [] });
    assert.equal((await hub.admin.job(held)).state, "claimed");
    const gaveUp = await hub.admin.job(last);
    assert.equal(gaveUp.state, "failed");
    assert.match(gaveUp.error ?? "", /^agent restarted/);
    const all = await n2.reportRunningJobs([]);
    assert.deepEqual(all, { kept: [], returned: [held], unknown: [] });
    const again = await hub.admin.job(held);
    assert.equal(again.state, "pending");
    assert.equal(again.attempts, 1, "the attempt is counted");
    assert.equal(again.history!.at(-1)!.detail, "agent restarted on r2");
  } finally {
    await hub.stop();
  }
});
