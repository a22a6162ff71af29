/**
 * A roamer assigned to a custom image: the API takes `image` (+ command, env, gpu)
 * and refuses bad ones naming the field; the roamer provisions it like a template's image —
 * on a real dockerd it pulls it from the loopback registry — serves no queue, and runs jobs sent
 * to it by node.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hubCli, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitFor } from "../helpers/process.ts";
import { DOCKER_INSTALL, DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";
import { ApiError } from "../../shared/api_client.ts";
import type { RoamerInfo } from "../../shared/protocol/mod.ts";

const CI = Deno.env.get("CI") === "true";

const FLEET = `clusters:
  - id: vision
    nodes: []
    template: shell
roamers:
  nodes: [r1]
templates:
  shell:
    executor: process
    command: "true"
    timeout: 1m
`;

/** A 400 whose problem names `field`. */
function badField(field: string) {
  return (e: unknown) =>
    e instanceof ApiError && e.status === 400 && new RegExp(`\\b${field}[.:]`).test(e.message);
}

Deno.test("custom-image assignment: accepted with command/env/gpu, bad ones refused naming the field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-roamer-image-" });
  await Deno.writeTextFile(join(dir, "fleet.yml"), FLEET);
  const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
  // No Docker on this agent: provisioning has nothing to pull and reports RUNNING.
  const token = (await hub.admin.createToken({ kind: "node", node_id: "r1" })).token;
  const agent = startAgent({
    hub: hub.url,
    token,
    stateDir: join(dir, "r1"),
    interval: "1s",
    args: ["--docker-socket", join(dir, "no-docker.sock")],
  });
  try {
    const api = hub.admin;
    const post = (body: unknown) => api.request("POST", "/api/v1/roamers/r1/assign", body);
    await assert.rejects(() => post({ image: "Not An Image!" }), badField("image"));
    await assert.rejects(() => post({ image: "busybox", env: { "1BAD": "x" } }), badField("env"));
    await assert.rejects(() => post({ template: "shell", command: "echo" }), badField("command"));
    await assert.rejects(() => post({ template: "shell", image: "busybox" }), badField("cluster"));
    const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`V${i}`, "x"]));
    await assert.rejects(() => post({ image: "busybox", env: many }), badField("env"));
    await assert.rejects(() => post({ image: "busybox", gpu: "yes" }), badField("gpu"));

    await waitFor(async () => (await api.node("r1")).status === "online", "r1 online");
    const a = await api.assignRoamer("r1", {
      image: "127.0.0.1:5000/team/tool:1.2",
      command: ["sh", "-c", "echo hi"],
      env: { MODE: "fast" },
      gpu: true,
      mode: "manual",
    });
    assert.equal(a.state, "ASSIGNED");
    assert.equal(a.assignment?.image, "127.0.0.1:5000/team/tool:1.2");
    assert.equal(a.assignment?.cluster, null);
    assert.equal(a.assignment?.template, null);
    assert.deepEqual(a.assignment?.custom, {
      command: ["sh", "-c", "echo hi"],
      env: { MODE: "fast" },
      gpu: true,
    });
    const running = await waitFor(async () => {
      const r = (await api.roamers()).find((x) => x.node_id === "r1")!;
      return r.state === "RUNNING" ? r : undefined;
    }, "r1 running");
    assert.match(running.detail ?? "", /image 127\.0\.0\.1:5000\/team\/tool:1\.2 ready/);

    // No queue: a cluster job stays pending; a job sent to the node runs there.
    const clusterJob = await api.submitJob({ template: "shell", cluster: "vision" });
    const nodeJob = await api.submitJob({ template: "shell", node: "r1" });
    await waitFor(async () => (await api.job(nodeJob.id)).state === "done", "node job done");
    assert.equal((await api.job(clusterJob.id)).state, "pending");

    await api.releaseRoamer("r1");
    const idle = await waitFor(async () => {
      const r = (await api.roamers()).find((x) => x.node_id === "r1")!;
      return r.state === "IDLE" ? r : undefined;
    }, "r1 IDLE");
    assert.equal(idle.assignment, null);
  } finally {
    await agent.stop();
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "custom-image assignment on a real dockerd: the roamer pulls the image",
  ignore: DOCKER_MISSING.length > 0 && !CI,
  fn: async () => {
    if (DOCKER_MISSING.length) console.error(`missing ${DOCKER_MISSING}; ${DOCKER_INSTALL}`);
    const engine = await startDockerd();
    const dir = await Deno.makeTempDir({ prefix: "fleet-roamer-image-" });
    // Only the registry has the image now, so provisioning must pull it.
    await engine.docker("rmi", engine.image);
    await Deno.writeTextFile(join(dir, "fleet.yml"), `roamers:\n  nodes: [r1]\n`);
    const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
    const token = (await hub.admin.createToken({ kind: "node", node_id: "r1" })).token;
    const agent = startAgent({
      hub: hub.url,
      token,
      stateDir: join(dir, "agent"),
      interval: "1s",
      args: ["--docker-socket", engine.socket, "--docker-network", "none"],
    });
    try {
      await waitFor(async () => (await hub.admin.node("r1")).status === "online", "r1 online");
      await hub.admin.assignRoamer("r1", { image: engine.image, mode: "manual" });
      const r = await waitFor(
        async () => {
          const x: RoamerInfo = (await hub.admin.roamers()).find((x) => x.node_id === "r1")!;
          return x.state === "RUNNING" || x.state === "FAILED" ? x : undefined;
        },
        "r1 provisioned",
        60_000,
      );
      assert.equal(r.state, "RUNNING", r.detail ?? "");
      assert.ok(await engine.docker("images", "-q", engine.image), "the image was pulled");
      await hub.admin.releaseRoamer("r1");
      await waitFor(
        async () => (await hub.admin.roamers()).find((x) => x.node_id === "r1")?.state === "IDLE",
        "r1 cleaned up",
        60_000,
      );
    } finally {
      await agent.stop();
      await hub.stop();
      await engine.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("CLI: roamer assign --image with --command, --env and --gpu; bad input exits 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-roamer-image-cli-" });
  await Deno.writeTextFile(join(dir, "fleet.yml"), FLEET);
  const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
  const conn = ["--hub", hub.url, "--data-dir", hub.dataDir];
  try {
    const bad = await hubCli(["roamer", "assign", "r1", "--image", "Bad Image", ...conn]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /image: not an image reference/);
    const badEnv = await hubCli([
      "roamer",
      "assign",
      "r1",
      "--image",
      "busybox",
      "--env",
      "X",
      ...conn,
    ]);
    assert.equal(badEnv.code, 2, badEnv.stderr);
    assert.match(badEnv.stderr, /--env wants KEY=VALUE/);

    const args = ["roamer", "assign", "r1", "--image", "127.0.0.1:5000/fleet/busybox:1"];
    const flags = ["--command", "sleep 1", "--env", "A=1", "--env", "B=x=y", "--gpu"];
    const ok = await hubCli([...args, ...flags, "--mode", "manual", ...conn]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /r1\s+ASSIGNED\s+image 127\.0\.0\.1:5000\/fleet\/busybox:1\s+manual/);
    const r = (await hub.admin.roamers()).find((x) => x.node_id === "r1")!;
    assert.deepEqual(r.assignment?.custom, {
      command: "sleep 1",
      env: { A: "1", B: "x=y" },
      gpu: true,
    });
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
