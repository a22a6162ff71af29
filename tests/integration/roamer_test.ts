/**
 * Roamer pool end to end with real agents: the autoscaler lends a roamer to a busy cluster, the
 * roamer goes through every state on the SSE stream, runs the cluster's jobs, cleans up and
 * returns to IDLE (until-idle); minutes and manual modes; illegal transitions are refused.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type HubProcess, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { type Child, waitFor } from "../helpers/process.ts";
import { SseClient } from "../helpers/sse.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import type { RoamerInfo } from "../../shared/protocol/mod.ts";

const FLEET = `clusters:
  - id: vision
    purpose: test images
    nodes: [v1]
    template: shell
roamers:
  nodes: [r1, r2]
templates:
  shell:
    executor: process
    command: sleep 0.5
    timeout: 1m
queue:
  autoscale_every: 200ms
  autoscale_cooldown: 1s
  roamer_idle_grace: 1s
`;

async function setup(): Promise<
  { hub: HubProcess; agents: Map<string, Child>; tokens: Map<string, string>; dir: string }
> {
  const dir = await Deno.makeTempDir({ prefix: "fleet-roamer-" });
  await Deno.writeTextFile(join(dir, "fleet.yml"), FLEET);
  const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
  const agents = new Map<string, Child>();
  const tokens = new Map<string, string>();
  for (const id of ["v1", "r1", "r2"]) {
    const token = (await hub.admin.createToken({ kind: "node", node_id: id })).token;
    tokens.set(id, token);
    const state = await Deno.makeTempDir({ prefix: `fleet-${id}-`, dir });
    agents.set(id, startAgent({ hub: hub.url, token, stateDir: state, interval: "1s" }));
  }
  await waitFor(
    async () => (await hub.admin.fleet()).nodes.filter((n) => n.status === "online").length === 3,
    "3 agents online",
  );
  return { hub, agents, tokens, dir };
}

async function teardown(s: { hub: HubProcess; agents: Map<string, Child>; dir: string }) {
  await Promise.all([...s.agents.values()].map((a) => a.stop()));
  await s.hub.stop();
  await Deno.remove(s.dir, { recursive: true });
}

/** The roamer's states in order, consecutive repeats folded (a release request is an event too). */
function roamerStates(sse: SseClient, id: string): string[] {
  return sse.data<{ roamer: RoamerInfo }>("roamer.state").filter((d) => d.roamer.node_id === id)
    .map((d) => d.roamer.state).filter((s, i, all) => i === 0 || all[i - 1] !== s);
}

Deno.test("autoscaler: a busy cluster borrows a roamer, which runs jobs and returns to IDLE", async () => {
  const s = await setup();
  const sse = await SseClient.connect(s.hub.url, s.hub.adminToken);
  try {
    const ids = [];
    for (let i = 0; i < 6; i++) {
      ids.push((await s.hub.admin.submitJob({ template: "shell", cluster: "vision" })).id);
    }
    // 6 pending > 2 × 1 worker: one roamer is lent, goes through provisioning, runs, and when the
    // queue has been empty for the grace period it is released, cleans up and is IDLE again.
    const lent = await sse.next((e) =>
      e.event === "roamer.state" && JSON.parse(e.data).roamer.state === "ASSIGNED"
    );
    const roamer = (JSON.parse(lent.data) as { roamer: RoamerInfo }).roamer;
    assert.equal(roamer.assignment?.cluster, "vision");
    assert.equal(roamer.assignment?.mode, "until_idle");
    assert.equal(roamer.assignment?.by, "autoscaler");
    await waitFor(
      () => roamerStates(sse, roamer.node_id).includes("IDLE"),
      "the roamer back to IDLE",
      30_000,
    );
    assert.deepEqual(roamerStates(sse, roamer.node_id), [
      "ASSIGNED",
      "PROVISIONING",
      "RUNNING",
      "CLEANUP",
      "IDLE",
    ]);
    const jobs = await Promise.all(ids.map((id) => s.hub.admin.job(id)));
    assert.ok(jobs.every((j) => j.state === "done"));
    assert.ok(jobs.some((j) => j.claimed_by === roamer.node_id), "the roamer ran some of the jobs");
    assert.ok(jobs.every((j) => j.claimed_by === "v1" || j.claimed_by === roamer.node_id));
    const clusters = await s.hub.admin.clusters();
    assert.deepEqual(clusters[0].queue, { pending: 0, running: 0 });
    assert.deepEqual(clusters[0].roamers, []);
    assert.equal(clusters[0].workers.total, 1);
  } finally {
    await sse.close();
    await teardown(s);
  }
});

Deno.test("roamer modes: minutes releases on time, manual stays until released; illegal moves 409", async () => {
  const s = await setup();
  try {
    const api = s.hub.admin;
    // Manual: stays RUNNING with an empty queue well past the idle grace.
    await api.assignRoamer("r1", { cluster: "vision", mode: "manual" });
    await waitFor(
      async () => (await api.roamers()).find((r) => r.node_id === "r1")?.state === "RUNNING",
      "r1 running",
    );
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(
      (await api.roamers()).find((r) => r.node_id === "r1")?.state,
      "RUNNING",
      "manual is not released by the autoscaler",
    );
    // Fixed minutes: 0.03 min = 1.8 s, released even though it is its own choice.
    await api.assignRoamer("r2", { template: "shell", mode: "minutes", minutes: 0.03 });
    await waitFor(
      async () => (await api.roamers()).find((r) => r.node_id === "r2")?.state === "RUNNING",
      "r2 running",
    );
    await waitFor(
      async () => (await api.roamers()).find((r) => r.node_id === "r2")?.state === "IDLE",
      "r2 released after its minutes",
      20_000,
    );

    // Illegal: assigning a busy roamer, releasing an idle one, a roamer reporting out of order.
    await assert.rejects(
      () => api.assignRoamer("r1", { cluster: "vision" }),
      (e: unknown) =>
        e instanceof ApiError && e.status === 409 && /only an IDLE roamer/.test(e.message),
    );
    await assert.rejects(
      () => api.releaseRoamer("r2"),
      (e: unknown) => e instanceof ApiError && e.status === 409,
    );
    const r2 = new ApiClient({ hub: s.hub.url, token: s.tokens.get("r2")! });
    await assert.rejects(
      () => r2.reportRoamer("RUNNING"),
      (e: unknown) =>
        e instanceof ApiError && e.status === 409 &&
        /cannot go from IDLE to RUNNING/.test(e.message),
    );
    await assert.rejects(
      () => api.assignRoamer("v1", { cluster: "vision" }),
      (e: unknown) => e instanceof ApiError && e.status === 404,
    );
    await assert.rejects(
      () =>
        api.request("POST", "/api/v1/roamers/r2/assign", { cluster: "vision", mode: "minutes" }),
      (e: unknown) =>
        e instanceof ApiError && e.status === 400 && /minutes/.test(JSON.stringify(e.problem)),
    );
    await assert.rejects(
      () => api.assignRoamer("r2", { cluster: "audio" }),
      (e: unknown) => e instanceof ApiError && e.status === 400,
    );
    assert.equal(
      (await api.roamers()).find((r) => r.node_id === "r2")?.state,
      "IDLE",
      "nothing changed",
    );

    // Manual release: cleanup, then IDLE.
    await api.releaseRoamer("r1");
    await waitFor(
      async () => (await api.roamers()).find((r) => r.node_id === "r1")?.state === "IDLE",
      "r1 released by hand",
    );
  } finally {
    await teardown(s);
  }
});

Deno.test("a roamer whose cleanup fails goes FAILED and gets no work until released", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-roamer-" });
  await Deno.writeTextFile(join(dir, "fleet.yml"), FLEET);
  // A "Docker socket" that is a plain file: it exists, but cleanup cannot talk to it.
  const brokenSocket = join(dir, "docker.sock");
  await Deno.writeTextFile(brokenSocket, "");
  const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
  const token = (await hub.admin.createToken({ kind: "node", node_id: "r1" })).token;
  const agent = startAgent({
    hub: hub.url,
    token,
    stateDir: join(dir, "r1"),
    interval: "1s",
    args: ["--docker-socket", brokenSocket],
  });
  try {
    await waitFor(async () => (await hub.admin.node("r1")).status === "online", "r1 online");
    await hub.admin.assignRoamer("r1", { template: "shell", mode: "manual" });
    await waitFor(
      async () => (await hub.admin.roamers()).find((r) => r.node_id === "r1")?.state === "RUNNING",
      "r1 running",
    );
    await hub.admin.releaseRoamer("r1");
    const failed = await waitFor(async () => {
      const r = (await hub.admin.roamers()).find((x) => x.node_id === "r1")!;
      return r.state === "FAILED" ? r : undefined;
    }, "r1 FAILED after a broken cleanup");
    assert.match(failed.detail ?? "", /cleanup failed/);
    // Work for its template is not given to a FAILED roamer.
    const { id } = await hub.admin.submitJob({ template: "shell" });
    const r1 = new ApiClient({ hub: hub.url, token });
    assert.equal((await r1.claimJob(0)).job, null);
    assert.equal((await hub.admin.job(id)).state, "pending");
    // The operator acknowledges: straight back to IDLE.
    assert.equal((await hub.admin.releaseRoamer("r1")).state, "IDLE");
  } finally {
    await agent.stop();
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
