/**
 * Test 5 of the queue: a roamer on a real dockerd with the loopback registry is assigned to a
 * cluster whose template is a container image: it pulls the image while PROVISIONING, runs the
 * cluster's job in a container (logs stored), and after release no job container is left.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitFor } from "../helpers/process.ts";
import { DOCKER_INSTALL, DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";

const CI = Deno.env.get("CI") === "true";
if (DOCKER_MISSING.length && !CI) {
  console.error(
    `\n!! SKIPPED docker job tests: missing ${
      DOCKER_MISSING.join(", ")
    }; install with: ${DOCKER_INSTALL}\n`,
  );
}

Deno.test({
  name: "docker template job on a roamer: pull on provisioning, run, logs stored, cleaned up",
  ignore: DOCKER_MISSING.length > 0 && !CI,
  fn: async () => {
    const engine = await startDockerd();
    const dir = await Deno.makeTempDir({ prefix: "fleet-djobs-" });
    // Only the registry has the image now, so provisioning must pull it.
    await engine.docker("rmi", engine.image);
    await Deno.writeTextFile(
      join(dir, "fleet.yml"),
      `clusters:\n  - id: gen\n    nodes: []\n    template: bb\nroamers:\n  nodes: [r1]\n` +
        `templates:\n  bb:\n    image: ${engine.image}\n    command: echo "hello from job $FLEET_JOB_ID in $(cat /etc/hostname | cut -c1-4)"\n` +
        `    env:\n      GREETING: hi\n    timeout: 1m\n`,
    );
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
      await hub.admin.assignRoamer("r1", { cluster: "gen", mode: "manual" });
      const running = await waitFor(
        async () => {
          const r = (await hub.admin.roamers()).find((x) => x.node_id === "r1")!;
          return r.state === "RUNNING" || r.state === "FAILED" ? r : undefined;
        },
        "r1 provisioned",
        60_000,
      );
      assert.equal(running.state, "RUNNING", running.detail ?? "");
      assert.ok(await engine.docker("images", "-q", engine.image), "the image was pulled");

      const { id } = await hub.admin.submitJob({ template: "bb", cluster: "gen" });
      const job = await waitFor(
        async () => {
          const j = await hub.admin.job(id);
          return j.state === "done" || j.state === "failed" ? j : undefined;
        },
        "the container job finishes",
        60_000,
      );
      assert.equal(job.state, "done", job.error ?? "");
      assert.equal(job.claimed_by, "r1");
      assert.match(job.log_tail ?? "", new RegExp(`hello from job ${id} in `));
      assert.equal(await engine.docker("ps", "-a", "-q", "--filter", "label=fleet.job"), "");

      await hub.admin.releaseRoamer("r1");
      const idle = await waitFor(
        async () => {
          const r = (await hub.admin.roamers()).find((x) => x.node_id === "r1")!;
          return r.state === "IDLE" || r.state === "FAILED" ? r : undefined;
        },
        "r1 cleaned up",
        60_000,
      );
      assert.equal(idle.state, "IDLE", idle.detail ?? "");
      assert.match(idle.detail ?? "", /containers removed/);
    } finally {
      await agent.stop();
      await hub.stop();
      await engine.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
