/**
 * Boot recovery against a real dockerd (TESTING.md): the hub hands out the swarm join token (and
 * says clearly when its engine is no manager), recovery finds the node in the swarm, starts a
 * stopped essential container, and a second run changes nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, startHub } from "../helpers/hub.ts";
import { DOCKER_INSTALL, DOCKER_MISSING, type Dockerd, startDockerd } from "../helpers/dockerd.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";

const CI = Deno.env.get("CI") === "true";
if (DOCKER_MISSING.length && !CI) {
  console.error(
    `\n!! SKIPPED recovery tests: missing ${
      DOCKER_MISSING.join(", ")
    }; install with: ${DOCKER_INSTALL}\n`,
  );
}

async function recover(config: string, socket: string) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "agent/main.ts"),
      "recover",
      "--config",
      config,
      "--docker-socket",
      socket,
      "--essential",
      "portainer_agent",
      "--attempts",
      "3",
      "--retry-delay",
      "200ms",
    ],
    stdin: "null",
  }).output();
  return { code: o.code, err: new TextDecoder().decode(o.stderr) };
}

Deno.test({
  name: "recover on a real engine: swarm member, essential container started, idempotent",
  ignore: DOCKER_MISSING.length > 0 && !CI,
  fn: async () => {
    let engine: Dockerd | undefined;
    let plain: Dockerd | undefined;
    const dir = await Deno.makeTempDir({ prefix: "fleet-recover-" });
    try {
      engine = await startDockerd({ swarm: true });
      const hub = await startHub({ args: ["--docker-socket", engine.socket] });
      try {
        const join_ = await hub.admin.request<{ worker_token: string; managers: string[] }>(
          "GET",
          "/api/v1/swarm/join-token",
        );
        assert.match(join_.worker_token, /^SWMTKN-/);
        assert.ok(join_.managers.length >= 1);
        assert.ok(!hub.child.stderr.join("\n").includes(join_.worker_token), "never logged");
        const viewer = new ApiClient({
          hub: hub.url,
          token: (await hub.admin.createToken({ kind: "viewer" })).token,
        });
        await assert.rejects(
          () => viewer.request("GET", "/api/v1/swarm/join-token"),
          (e: unknown) => e instanceof ApiError && e.status === 403,
        );

        await engine.docker(
          "create",
          "--network",
          "none",
          "--name",
          "portainer_agent",
          "--label",
          "fleet.essential=true",
          engine.image,
          "sleep",
          "600",
        );
        const token = (await hub.admin.createToken({ kind: "node", node_id: "rc-1" })).token;
        const config = join(dir, "agent.yml");
        await Deno.writeTextFile(config, `hub: ${hub.url}\ntoken: ${token}\n`);

        const first = await recover(config, engine.socket);
        assert.equal(first.code, 0, first.err);
        assert.equal(
          await engine.docker("inspect", "-f", "{{.State.Running}}", "portainer_agent"),
          "true",
        );
        const r1 = (await hub.admin.node("rc-1")).recovery!;
        const step = (name: string) => r1.steps.find((s) => s.step === name)!;
        assert.match(step("swarm membership").detail, /already a member/);
        assert.match(step("essential containers").detail, /portainer_agent: started/);

        const second = await recover(config, engine.socket);
        assert.equal(second.code, 0, second.err);
        const r2 = (await hub.admin.node("rc-1")).recovery!;
        assert.match(
          r2.steps.find((s) => s.step === "essential containers")!.detail,
          /portainer_agent: running/,
        );
        assert.ok(r2.at > r1.at);

        // A missing essential container is a failed step, and the exit code says so.
        await engine.docker("rm", "-f", "portainer_agent");
        const third = await recover(config, engine.socket);
        assert.equal(third.code, 1);
        assert.match(
          (await hub.admin.node("rc-1")).recovery!.steps.find((s) =>
            s.step === "essential containers"
          )!.detail,
          /missing/,
        );
      } finally {
        await hub.stop();
      }
      // An engine that is no swarm manager: a clear 409, and recovery skips the join.
      plain = await startDockerd();
      const hub2 = await startHub({ args: ["--docker-socket", plain.socket] });
      try {
        await assert.rejects(
          () => hub2.admin.request("GET", "/api/v1/swarm/join-token"),
          (e: unknown) =>
            e instanceof ApiError && e.status === 409 && /not a swarm manager/.test(e.message),
        );
        const token = (await hub2.admin.createToken({ kind: "node", node_id: "rc-2" })).token;
        const config = join(dir, "agent2.yml");
        await Deno.writeTextFile(config, `hub: ${hub2.url}\ntoken: ${token}\n`);
        await plain.docker(
          "create",
          "--network",
          "none",
          "--name",
          "portainer_agent",
          plain.image,
          "sleep",
          "600",
        );
        const r = await recover(config, plain.socket);
        assert.equal(r.code, 0, r.err);
        const swarm = (await hub2.admin.node("rc-2")).recovery!.steps.find((s) =>
          s.step === "swarm membership"
        )!;
        assert.match(swarm.detail, /no swarm to join: .*not a swarm manager/);
      } finally {
        await hub2.stop();
      }
    } finally {
      await engine?.stop();
      await plain?.stop();
      if (engine) await Deno.remove(engine.dir, { recursive: true }).catch(() => {});
      if (plain) await Deno.remove(plain.dir, { recursive: true }).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
