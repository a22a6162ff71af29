/**
 * The job queue end to end with real agent processes and the process executor: exactly-once
 * claims under contention, lease expiry after `kill -9` of a worker, a hub crash mid-run, max
 * attempts, cancel and timeout, and bad input.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type HubProcess, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { type Child, waitFor } from "../helpers/process.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import type { JobInfo, JobSubmit } from "../../shared/protocol/mod.ts";

/** `n` agents named `<prefix>-<i>`, reaching the hub at `url` (default: directly). */
async function agents(
  hub: HubProcess,
  n: number,
  prefix: string,
  url = hub.url,
): Promise<Child[]> {
  const out: Child[] = [];
  for (let i = 1; i <= n; i++) {
    const id = `${prefix}-${i}`;
    const token = (await hub.admin.createToken({ kind: "node", node_id: id })).token;
    const state = await Deno.makeTempDir({ prefix: `fleet-${id}-` });
    out.push(startAgent({ hub: url, token, stateDir: state, interval: "5s" }));
  }
  return out;
}

async function submitAll(api: ApiClient, jobs: JobSubmit[], concurrency = 16): Promise<string[]> {
  const ids: string[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < jobs.length) {
      const i = next++;
      ids[i] = (await api.submitJob(jobs[i])).id;
    }
  }));
  return ids;
}

async function allJobs(api: ApiClient): Promise<JobInfo[]> {
  const out: JobInfo[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const r = await api.jobs({ limit: 1000, cursor });
    out.push(...r.jobs);
    if (!r.next_cursor) break;
    cursor = r.next_cursor;
  }
  return out;
}

async function markers(dir: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const e of Deno.readDir(dir)) {
    const lines = (await Deno.readTextFile(join(dir, e.name))).trim().split("\n");
    counts.set(e.name, lines.length);
  }
  return counts;
}

Deno.test("exactly once: 8 agents, 2,000 jobs, each marker written once", async () => {
  const hub = await startHub();
  const dir = await Deno.makeTempDir({ prefix: "fleet-markers-" });
  const workers = await agents(hub, 8, "w");
  try {
    const jobs = Array.from({ length: 2000 }, (): JobSubmit => ({
      executor: "process",
      command: `echo "$FLEET_JOB_ATTEMPT $(hostname)" >> "${dir}/$FLEET_JOB_ID"`,
    }));
    const ids = await submitAll(hub.admin, jobs);
    assert.equal(new Set(ids).size, 2000);
    await waitFor(
      async () =>
        (await hub.admin.jobs({ state: "done", limit: 1000 })).jobs.length >= 1000 &&
        (await allJobs(hub.admin)).every((j) => j.state === "done"),
      "all 2,000 jobs done",
      120_000,
      500,
    );
    const all = await allJobs(hub.admin);
    assert.equal(all.length, 2000);
    assert.ok(all.every((j) => j.attempts === 1), "no job ran twice");
    const m = await markers(dir);
    assert.equal(m.size, 2000, "one marker per job");
    assert.ok([...m.values()].every((n) => n === 1), "each marker written exactly once");
    // The work was spread: more than one worker ran jobs.
    assert.ok(new Set(all.map((j) => j.claimed_by)).size > 1);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kill -9 a worker mid-job: the job runs elsewhere after its lease; the stale worker gets 409", async () => {
  const hub = await startHub({ args: ["--job-lease", "1500ms", "--sweep-every", "200ms"] });
  const tokenA = (await hub.admin.createToken({ kind: "node", node_id: "a1" })).token;
  const stateA = await Deno.makeTempDir({ prefix: "fleet-a1-" });
  const a = startAgent({ hub: hub.url, token: tokenA, stateDir: stateA, interval: "5s" });
  let b: Child | undefined;
  try {
    const { id } = await hub.admin.submitJob({
      executor: "process",
      command: "sleep 2; echo finished",
    });
    await waitFor(async () => {
      const j = await hub.admin.job(id);
      return j.state === "running" && j.claimed_by === "a1";
    }, "a1 runs the job");
    await a.stop("SIGKILL");
    const [worker] = await agents(hub, 1, "b");
    b = worker;
    const done = await waitFor(
      async () => {
        const j = await hub.admin.job(id);
        return j.state === "done" ? j : undefined;
      },
      "the job done by another worker",
      30_000,
    );
    assert.equal(done.claimed_by, "b-1");
    assert.equal(done.attempts, 2);
    assert.match(done.log_tail ?? "", /finished/);
    assert.ok(done.history!.some((h) => h.detail?.includes("lease expired on a1")));
    // The killed worker's token reporting on its old attempt is refused.
    const stale = new ApiClient({ hub: hub.url, token: tokenA });
    await assert.rejects(
      () => stale.heartbeatJob(id, { attempt: 1 }),
      (e: unknown) => e instanceof ApiError && e.status === 409,
    );
    await assert.rejects(
      () => stale.reportJob(id, "complete", { attempt: 1 }),
      (e: unknown) => e instanceof ApiError && e.status === 409,
    );
  } finally {
    await a.stop("SIGKILL");
    await b?.stop();
    await hub.stop();
  }
});

Deno.test("kill -9 the hub mid-run: after a restart no job is lost or doubled", async () => {
  // Claims, heartbeats and finishes commit on the writer worker here (the other tests: the
  // request thread), so exactly-once across kill -9 holds for both writers.
  const args = ["--job-lease", "5s", "--sweep-every", "200ms", "--db-writer", "worker"];
  let hub = await startHub({ args });
  const { dataDir, port } = hub;
  const dir = await Deno.makeTempDir({ prefix: "fleet-markers-" });
  const workers = await agents(hub, 4, "h");
  try {
    const ids = await submitAll(
      hub.admin,
      Array.from({ length: 300 }, () => ({
        executor: "process" as const,
        command: `sleep 0.02; echo "$FLEET_JOB_ATTEMPT" >> "${dir}/$FLEET_JOB_ID"`,
      })),
    );
    await waitFor(
      async () => (await hub.admin.jobs({ state: "done", limit: 1000 })).jobs.length >= 50,
      "some jobs done",
    );
    await hub.stop("SIGKILL");
    hub = await startHub({ dataDir, port, args });
    await waitFor(
      async () => (await allJobs(hub.admin)).every((j) => j.state === "done"),
      "all jobs done after the restart",
      60_000,
      500,
    );
    const all = await allJobs(hub.admin);
    assert.deepEqual(all.map((j) => j.id).sort(), [...ids].sort(), "every submitted job, once");
    const m = await markers(dir);
    assert.equal(m.size, 300, "every job ran");
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("max attempts, cancel, timeout, retry", async () => {
  const hub = await startHub({ args: ["--sweep-every", "200ms"] });
  const [worker] = await agents(hub, 1, "m");
  try {
    const failing = await hub.admin.submitJob({
      executor: "process",
      command: "exit 3",
      max_attempts: 3,
    });
    const failed = await waitFor(async () => {
      const j = await hub.admin.job(failing.id);
      return j.state === "failed" ? j : undefined;
    }, "the failing job gives up");
    assert.equal(failed.attempts, 3);
    assert.equal(failed.exit_code, 3);
    assert.equal(failed.history!.filter((h) => h.state === "claimed").length, 3);

    const long = await hub.admin.submitJob({
      executor: "process",
      command: "sleep 60",
      max_attempts: 1,
    });
    await waitFor(
      async () => (await hub.admin.job(long.id)).state === "running",
      "long job running",
    );
    const cancelled = await hub.admin.jobAction(long.id, "cancel");
    assert.equal(cancelled.state, "cancelled");
    await waitFor(
      () =>
        worker.logs().some((l) =>
          l.msg === "hub took the job back (cancelled or lease lost); stopping it"
        ),
      "the worker stops the cancelled job",
    );
    await assert.rejects(
      () => hub.admin.jobAction(long.id, "cancel"),
      (e: unknown) => e instanceof ApiError && e.status === 409,
    );

    const slow = await hub.admin.submitJob({
      executor: "process",
      command: "sleep 30",
      timeout_s: 1,
      max_attempts: 1,
    });
    const timedOut = await waitFor(async () => {
      const j = await hub.admin.job(slow.id);
      return j.state === "failed" ? j : undefined;
    }, "the slow job times out");
    assert.match(timedOut.error ?? "", /timed out/);

    const again = await hub.admin.jobAction(failing.id, "retry");
    assert.equal(again.state, "pending");
    assert.equal(again.attempts, 0);
  } finally {
    await worker.stop();
    await hub.stop();
  }
});

Deno.test("jobs: bad input and access are refused and change nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-cfg-" });
  const file = join(dir, "fleet.yml");
  await Deno.writeTextFile(
    file,
    `clusters:\n  - id: vision\n    nodes: [agx-01]\n    template: sdxl\ntemplates:\n  sdxl:\n    image: 127.0.0.1:5000/fleet/busybox:1\n    command: echo hi\n    gpu: true\n    timeout: 10m\n`,
  );
  const hub = await startHub({ args: ["--config", file] });
  try {
    const viewer = new ApiClient({
      hub: hub.url,
      token: (await hub.admin.createToken({ kind: "viewer" })).token,
    });
    const node = new ApiClient({
      hub: hub.url,
      token: (await hub.admin.createToken({ kind: "node", node_id: "agx-01" })).token,
    });
    const ok = await hub.admin.submitJob({ template: "sdxl", cluster: "vision", priority: 5 });
    const job = await hub.admin.job(ok.id);
    assert.equal(job.executor, "docker");
    assert.equal(job.timeout_s, 600);
    assert.equal(job.image, "127.0.0.1:5000/fleet/busybox:1");

    const bad: [unknown, RegExp][] = [
      [{ template: "nope" }, /unknown template nope/],
      [{ template: "sdxl", cluster: "audio" }, /unknown cluster audio/],
      [{ executor: "process", command: "x", priority: -1 }, /priority/],
      [{ executor: "docker" }, /image/],
      [{ executor: "process" }, /command/],
      [{ template: "sdxl", executor: "process", command: "x" }, /either template or executor/],
      [{ executor: "process", command: "x", node: "ghost" }, /unknown node ghost/],
      [{ executor: "process", command: "x", max_attempts: 0 }, /max_attempts/],
    ];
    for (const [body, message] of bad) {
      await assert.rejects(() => hub.admin.request("POST", "/api/v1/jobs", body), (e: unknown) => {
        assert.ok(e instanceof ApiError && e.status === 400, `${JSON.stringify(body)}: ${e}`);
        assert.match(JSON.stringify(e.problem), message);
        return true;
      });
    }
    await assert.rejects(
      () => viewer.submitJob({ executor: "process", command: "x" }),
      (e: unknown) => e instanceof ApiError && e.status === 403,
    );
    await assert.rejects(
      () => node.submitJob({ executor: "process", command: "x" }),
      (e: unknown) => e instanceof ApiError && e.status === 403,
    );
    await assert.rejects(
      () => viewer.claimJob(0),
      (e: unknown) => e instanceof ApiError && e.status === 403,
    );
    assert.equal((await allJobs(hub.admin)).length, 1, "nothing but the good job was created");

    // The cluster member claims the cluster's job; another node would not get it.
    const other = new ApiClient({
      hub: hub.url,
      token: (await hub.admin.createToken({ kind: "node", node_id: "x86-01" })).token,
    });
    assert.equal((await other.claimJob(0)).job, null);
    const claimed = (await node.claimJob(0)).job!;
    assert.equal(claimed.id, ok.id);
    assert.equal(claimed.gpu, true);
    // Another node cannot report on it.
    await assert.rejects(
      () => other.reportJob(ok.id, "complete", { attempt: 1 }),
      (e: unknown) => e instanceof ApiError && e.status === 409,
    );
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a report claims the worker's next job in the same request", async () => {
  const hub = await startHub();
  try {
    const node = new ApiClient({
      hub: hub.url,
      token: (await hub.admin.createToken({ kind: "node", node_id: "w-1" })).token,
    });
    const submit = (max_attempts?: number) =>
      hub.admin.submitJob({ executor: "process", command: "true", max_attempts });
    const a = await submit();
    const b = await submit(1);
    const c = await submit();

    const first = (await node.claimJob(0)).job!;
    assert.equal(first.id, a.id);
    // complete + claim: A is done and B comes back claimed for this node, attempt 1.
    const r1 = await node.reportJob(a.id, "complete", { attempt: 1, claim_next: true });
    assert.equal(r1.state, "done");
    assert.equal(r1.next?.job?.id, b.id);
    assert.equal(r1.next?.job?.attempt, 1);
    assert.equal(r1.next?.roamer, null);
    const bInfo = await hub.admin.job(b.id);
    assert.equal(bInfo.state, "claimed");
    assert.equal(bInfo.claimed_by, "w-1");

    // fail + claim: B has no attempts left; C is next.
    const r2 = await node.reportJob(b.id, "fail", { attempt: 1, error: "boom", claim_next: true });
    assert.equal(r2.state, "failed");
    assert.equal(r2.next?.job?.id, c.id);

    // A report that is refused claims nothing: D stays pending.
    const d = await submit();
    await assert.rejects(
      () => node.reportJob(a.id, "complete", { attempt: 1, claim_next: true }),
      (e: unknown) => e instanceof ApiError && e.status === 409,
    );
    assert.equal((await hub.admin.job(d.id)).state, "pending");

    // Without claim_next the answer has no next; D is still there for the claim.
    const r3 = await node.reportJob(c.id, "complete", { attempt: 1 });
    assert.deepEqual(r3, { state: "done" });
    assert.equal((await hub.admin.job(d.id)).state, "pending");

    // A failed attempt that returns to the queue is not handed straight back to the same worker.
    assert.equal((await node.claimJob(0)).job?.id, d.id);
    const failed = await node.reportJob(d.id, "fail", {
      attempt: 1,
      error: "disk full",
      claim_next: true,
    });
    assert.equal(failed.state, "pending");
    assert.deepEqual(failed.next, { job: null, roamer: null });
    assert.equal((await hub.admin.job(d.id)).state, "pending");

    // The queue is empty after D: the answer says so and the worker long-polls on its own.
    assert.equal((await node.claimJob(0)).job?.id, d.id);
    const r4 = await node.reportJob(d.id, "complete", { attempt: 2, claim_next: true });
    assert.equal(r4.state, "done");
    assert.deepEqual(r4.next, { job: null, roamer: null });

    // A claim_next that is not a boolean is refused by name, and the report does not happen.
    const e = await submit();
    assert.equal((await node.claimJob(0)).job?.id, e.id);
    await assert.rejects(
      () =>
        node.request("POST", `/api/v1/jobs/${e.id}/complete`, { attempt: 1, claim_next: "yes" }),
      (err: unknown) =>
        err instanceof ApiError && err.status === 400 &&
        /claim_next/.test(JSON.stringify(err.problem)),
    );
    assert.equal((await hub.admin.job(e.id)).state, "claimed");

    // Every claim attempt is in the claim metric, those a report made too: 4 plain claims, 4
    // reports with claim_next (the refused report and the bad body are not attempts).
    const metrics = (await hub.admin.createToken({ kind: "metrics", name: "m" })).token;
    const res = await fetch(`${hub.url}/metrics`, {
      headers: { authorization: `Bearer ${metrics}` },
    });
    const count = /^fleet_hub_job_claim_seconds_count (\d+)/m.exec(await res.text())?.[1];
    assert.equal(count, "8");
  } finally {
    await hub.stop();
  }
});

/**
 * An HTTP proxy in front of the hub for an agent. `intercept(path, body, forward)` may answer a
 * request itself (after forwarding it, or not); `undefined` passes the hub's answer through.
 */
function proxyTo(
  hubUrl: string,
  intercept: (
    path: string,
    body: string,
    forward: () => Promise<Response>,
  ) => Promise<Response | undefined>,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const body = req.body ? await req.arrayBuffer() : undefined;
    const forward = () =>
      fetch(hubUrl + url.pathname + url.search, { method: req.method, headers: req.headers, body });
    const own = await intercept(url.pathname, body ? new TextDecoder().decode(body) : "", forward);
    if (own) return own;
    const res = await forward();
    const headers = new Headers(res.headers);
    // fetch has already decoded the body.
    headers.delete("content-encoding");
    headers.delete("content-length");
    const empty = [101, 204, 205, 304].includes(res.status);
    return new Response(empty ? null : await res.arrayBuffer(), { status: res.status, headers });
  });
}

Deno.test("a report whose answer is lost: the job claimed in it goes back to the queue, nothing runs twice", async () => {
  const hub = await startHub();
  const dir = await Deno.makeTempDir({ prefix: "fleet-markers-" });
  // The agent reaches the hub through this proxy, which answers the first complete that asks for
  // the next job with 502 after the hub has handled it (as a reverse proxy that timed out would).
  let dropped: string | undefined;
  const proxy = proxyTo(hub.url, async (path, body, forward) => {
    if (dropped !== undefined || !path.endsWith("/complete") || !body.includes('"claim_next"')) {
      return undefined;
    }
    const answer = JSON.parse(await (await forward()).text()) as {
      next?: { job?: { id: string } };
    };
    dropped = answer.next?.job?.id ?? "none";
    return new Response("upstream timed out", { status: 502 });
  });
  const [agent] = await agents(hub, 1, "w-lost", `http://127.0.0.1:${proxy.addr.port}`);
  try {
    const jobs = Array.from({ length: 5 }, (): JobSubmit => ({
      executor: "process",
      command: `echo "$FLEET_JOB_ATTEMPT" >> "${dir}/$FLEET_JOB_ID"`,
    }));
    const ids = await submitAll(hub.admin, jobs, 1);
    await waitFor(
      async () => (await allJobs(hub.admin)).every((j) => j.state === "done"),
      "all 5 jobs done",
      60_000,
      200,
    );
    assert.ok(dropped !== undefined && dropped !== "none", `a next job was in the lost answer`);
    // The job handed out in the lost answer never ran at attempt 1: the agent said what it runs
    // before claiming again, the hub returned it, and it ran once, at attempt 2.
    const lost = await hub.admin.job(dropped!);
    assert.equal(lost.attempts, 2);
    assert.ok(
      lost.history!.some((h) => h.state === "pending" && /agent restarted/.test(h.detail ?? "")),
      JSON.stringify(lost.history),
    );
    const m = await markers(dir);
    for (const id of ids) {
      assert.equal(m.get(id), 1, `job ${id} ran ${m.get(id) ?? 0} times`);
    }
    assert.equal((await Deno.readTextFile(join(dir, dropped!))).trim(), "2");
  } finally {
    await agent.stop();
    await proxy.shutdown();
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a hub from before claim_next: the agent's reports go through without it", async () => {
  const hub = await startHub();
  const dir = await Deno.makeTempDir({ prefix: "fleet-markers-" });
  // This proxy refuses a report carrying claim_next, as an older hub's strict schema does.
  let refused = 0;
  const proxy = proxyTo(hub.url, (path, body) => {
    if (!/\/(complete|fail)$/.test(path) || !body.includes('"claim_next"')) {
      return Promise.resolve(undefined);
    }
    refused++;
    const problem = { title: "Bad Request", status: 400, detail: "claim_next: unrecognized key" };
    return Promise.resolve(Response.json(problem, { status: 400 }));
  });
  const [agent] = await agents(hub, 1, "w-old", `http://127.0.0.1:${proxy.addr.port}`);
  try {
    const jobs = Array.from({ length: 3 }, (_, i): JobSubmit => ({
      executor: "process",
      command: i === 1 ? "exit 3" : `echo "$FLEET_JOB_ATTEMPT" >> "${dir}/$FLEET_JOB_ID"`,
      max_attempts: 1,
    }));
    const ids = await submitAll(hub.admin, jobs, 1);
    await waitFor(
      async () =>
        (await allJobs(hub.admin)).every((j) => j.state === "done" || j.state === "failed"),
      "all 3 jobs ended",
      60_000,
      200,
    );
    assert.ok(refused >= 3, `${refused} reports refused with claim_next`);
    const states = await Promise.all(ids.map(async (id) => (await hub.admin.job(id)).state));
    assert.deepEqual(states, ["done", "failed", "done"]);
    assert.match((await hub.admin.job(ids[1])).error ?? "", /exit code 3/);
    const m = await markers(dir);
    assert.equal(m.get(ids[0]), 1);
    assert.equal(m.get(ids[2]), 1);
  } finally {
    await agent.stop();
    await proxy.shutdown();
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
