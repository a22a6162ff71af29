/**
 * A `manual_only` roamer: the autoscaler never lends it, however long the queue, so it stays
 * IDLE for an operator's "Assign…"; assigned by hand it serves the cluster like any roamer.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { type Child, waitFor } from "../helpers/process.ts";
import type { RoamerInfo } from "../../shared/protocol/mod.ts";
import { ApiError } from "../../shared/api_client.ts";

const FLEET = `clusters:
  - id: vision
    nodes: [v1]
    template: shell
roamers:
  nodes: [r1, r2]
  manual_only: [r2]
templates:
  shell:
    executor: process
    command: sleep 1
    timeout: 1m
queue:
  autoscale_every: 200ms
  autoscale_cooldown: 500ms
  roamer_idle_grace: 1s
`;

Deno.test("manual_only roamer: the autoscaler leaves it IDLE under load; it can be assigned by hand", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-roamer-manual-" });
  await Deno.writeTextFile(join(dir, "fleet.yml"), FLEET);
  const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
  const agents: Child[] = [];
  try {
    for (const id of ["v1", "r1", "r2"]) {
      const token = (await hub.admin.createToken({ kind: "node", node_id: id })).token;
      const state = await Deno.makeTempDir({ prefix: `fleet-${id}-`, dir });
      agents.push(startAgent({ hub: hub.url, token, stateDir: state, interval: "1s" }));
    }
    await waitFor(
      async () => (await hub.admin.fleet()).nodes.filter((n) => n.status === "online").length === 3,
      "3 agents online",
    );
    const api = hub.admin;
    const r = async (id: string): Promise<RoamerInfo> =>
      (await api.roamers()).find((x) => x.node_id === id)!;
    assert.equal((await r("r2")).manual_only, true);
    assert.equal((await r("r1")).manual_only, false);

    // 20 one-second jobs against 1 worker: the autoscaler lends r1, and with r1 serving the
    // queue still exceeds 2 × 2 workers for many cooldowns — it would take r2 too if allowed.
    for (let i = 0; i < 20; i++) await api.submitJob({ template: "shell", cluster: "vision" });
    await waitFor(async () => (await r("r1")).state === "RUNNING", "r1 lent by the autoscaler");
    for (let i = 0; i < 10; i++) {
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(
        (await r("r2")).state,
        "IDLE",
        "the autoscaler never lends a manual_only roamer",
      );
    }
    const clusters = await api.clusters();
    assert.ok(clusters[0].queue.pending > 2 * clusters[0].workers.online, "still under load");

    // By hand it is assigned like any roamer and runs the cluster's jobs.
    const assigned = await api.assignRoamer("r2", { cluster: "vision", mode: "manual" });
    assert.equal(assigned.state, "ASSIGNED");
    assert.notEqual(assigned.assignment?.by, "autoscaler");
    await waitFor(async () => (await r("r2")).state === "RUNNING", "r2 running");
    await waitFor(
      async () => (await api.jobs({ limit: 100 })).jobs.some((j) => j.claimed_by === "r2"),
      "r2 ran a job",
      30_000,
    );
    const releasing = await api.releaseRoamer("r2");
    assert.ok(
      releasing.release_requested || releasing.state === "CLEANUP",
      `release under way: ${JSON.stringify(releasing)}`,
    );
    // Assigning it while the release runs says to wait, not to release it (again).
    await assert.rejects(
      () => api.assignRoamer("r2", { cluster: "vision", mode: "manual" }),
      (e: unknown) =>
        e instanceof ApiError && e.status === 409 &&
        /r2 is releasing; wait until it is IDLE/.test(e.message) && !/release it/.test(e.message),
    );
    await waitFor(async () => (await r("r2")).state === "IDLE", "r2 back to IDLE", 30_000);
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
