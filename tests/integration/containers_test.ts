/**
 * Containers on a node through its agent's control channel, on a real dockerd (TESTING.md):
 * list, logs (tail and follow), restart, stop, remove (409 without force for a running one, 404
 * for an unknown one), refusals for viewer and node tokens, 503 for an agent without Docker, and
 * an audit entry for every action.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitFor } from "../helpers/process.ts";
import { waitControl } from "../helpers/control.ts";
import { DOCKER_INSTALL, DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";

const CI = Deno.env.get("CI") === "true";
if (DOCKER_MISSING.length && !CI) {
  console.error(
    `\n!! SKIPPED container tests: missing ${
      DOCKER_MISSING.join(", ")
    }; install with: ${DOCKER_INSTALL}\n`,
  );
}

const status = (code: number) => (e: unknown) => e instanceof ApiError && e.status === code;

Deno.test({
  name: "containers: list, logs (tail, follow), restart, stop, remove, audited",
  ignore: DOCKER_MISSING.length > 0 && !CI,
  fn: async () => {
    const engine = await startDockerd();
    const dir = await Deno.makeTempDir({ prefix: "fleet-containers-" });
    const hub = await startHub();
    const token = (await hub.admin.createToken({ kind: "node", node_id: "d1" })).token;
    const agent = startAgent({
      hub: hub.url,
      token,
      stateDir: join(dir, "agent"),
      interval: "1s",
      args: ["--jobs", "off", "--docker-socket", engine.socket],
    });
    try {
      await engine.docker(
        "run",
        "-d",
        "--name",
        "ticker",
        "--network",
        "none",
        engine.image,
        "sh",
        "-c",
        // PID 1 of a container ignores SIGTERM unless it traps it: stop and restart are quick.
        "trap 'exit 0' TERM; i=0; " +
          'while true; do echo "tick-$i"; echo "err-$i" >&2; i=$((i+1)); sleep 0.2; done',
      );
      await engine.docker(
        "run",
        "-d",
        "--name",
        "sleeper",
        "--network",
        "none",
        engine.image,
        "sleep",
        "3600",
      );
      await waitControl(hub.admin, "d1");
      // Stop waits up to 10 s for a container that ignores SIGTERM (sleeper does).
      const admin = new ApiClient({ hub: hub.url, token: hub.adminToken, timeoutMs: 60_000 });

      const list = await admin.containers("d1");
      const byName = new Map(list.map((c) => [c.name, c]));
      assert.equal(byName.get("ticker")?.state, "running");
      assert.equal(byName.get("sleeper")?.state, "running");
      assert.equal(byName.get("ticker")?.image, engine.image);
      assert.match(byName.get("ticker")!.id, /^[0-9a-f]{64}$/);

      // Logs: the last N lines of both streams, then a follow that sees new lines.
      await waitFor(async () => (await engine.docker("logs", "ticker")).includes("tick-5"), "logs");
      const res = await fetch(`${hub.url}/api/v1/nodes/d1/containers/ticker/logs?tail=4`, {
        headers: { authorization: `Bearer ${hub.adminToken}` },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /text\/plain/);
      const tail = (await res.text()).trim().split("\n");
      assert.equal(tail.length, 4);
      assert.ok(tail.every((l) => /^(tick|err)-\d+$/.test(l)), tail.join("|"));
      assert.ok(tail.some((l) => l.startsWith("err-")));

      const follow = await fetch(
        `${hub.url}/api/v1/nodes/d1/containers/ticker/logs?tail=1&follow=1`,
        { headers: { authorization: `Bearer ${hub.adminToken}` } },
      );
      assert.equal(follow.status, 200);
      const reader = follow.body!.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      const first = Number(/tick-(\d+)|err-(\d+)/.exec(await engine.docker("logs", "ticker"))![1]);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
        const nums = [...seen.matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]));
        if (nums.length >= 3 && Math.max(...nums) > first + 5) break;
      }
      await reader.cancel();
      assert.ok([...seen.matchAll(/tick-(\d+)/g)].length >= 3, `followed: ${seen}`);

      // Restart: the container runs again with a new start time.
      const startedBefore = await engine.docker("inspect", "-f", "{{.State.StartedAt}}", "ticker");
      const restarted = await admin.containerAction("d1", "ticker", "restart");
      assert.deepEqual(restarted, {
        node_id: "d1",
        container: "ticker",
        action: "restart",
        ok: true,
      });
      assert.notEqual(
        await engine.docker("inspect", "-f", "{{.State.StartedAt}}", "ticker"),
        startedBefore,
      );
      assert.equal(await engine.docker("inspect", "-f", "{{.State.Running}}", "ticker"), "true");

      // Stop, and stop again (already stopped is fine).
      await admin.containerAction("d1", "sleeper", "stop");
      assert.equal(await engine.docker("inspect", "-f", "{{.State.Running}}", "sleeper"), "false");
      await admin.containerAction("d1", "sleeper", "stop");
      assert.equal(
        (await admin.containers("d1")).find((c) => c.name === "sleeper")?.state,
        "exited",
      );

      // Remove: a running container needs force; unknown ones are 404.
      await assert.rejects(() => admin.containerAction("d1", "ticker", "remove"), status(409));
      await admin.containerAction("d1", "ticker", "remove", true);
      await admin.containerAction("d1", "sleeper", "remove");
      const names = (await admin.containers("d1")).map((c) => c.name);
      assert.ok(!names.includes("ticker") && !names.includes("sleeper"), names.join(","));
      await assert.rejects(() => admin.containerAction("d1", "nope", "restart"), status(404));
      const logs404 = await fetch(`${hub.url}/api/v1/nodes/d1/containers/nope/logs`, {
        headers: { authorization: `Bearer ${hub.adminToken}` },
      });
      assert.equal(logs404.status, 404);
      await logs404.body?.cancel();
      await assert.rejects(() => admin.containers("nope"), status(404));
      await assert.rejects(
        () => admin.request("POST", "/api/v1/nodes/d1/containers/bad%20name/stop"),
        status(400),
      );
      await assert.rejects(
        () => admin.request("POST", "/api/v1/nodes/d1/containers/ticker/explode"),
        status(400),
      );

      // Viewers read, but cannot act; node tokens do neither.
      const viewer = new ApiClient({
        hub: hub.url,
        token: (await hub.admin.createToken({ kind: "viewer" })).token,
      });
      const nodeApi = new ApiClient({ hub: hub.url, token });
      assert.ok(Array.isArray(await viewer.containers("d1")));
      for (const action of ["restart", "stop", "remove"] as const) {
        await assert.rejects(() => viewer.containerAction("d1", "x", action), status(403));
        await assert.rejects(() => nodeApi.containerAction("d1", "x", action), status(403));
      }
      await assert.rejects(() => nodeApi.containers("d1"), status(403));

      // Every action is in the audit log, with its result.
      const audit = (await hub.admin.audit({ action: "container." })).entries.reverse();
      assert.deepEqual(audit.map((e) => `${e.action} ${e.target} ${e.result}`), [
        "container.restart d1/ticker ok",
        "container.stop d1/sleeper ok",
        "container.stop d1/sleeper ok",
        "container.remove d1/ticker error",
        "container.remove d1/ticker ok",
        "container.remove d1/sleeper ok",
        "container.restart d1/nope error",
      ]);
      assert.equal(audit[0].actor.kind, "admin");
      assert.equal(audit[4].detail?.force, true);
    } finally {
      await agent.stop();
      await hub.stop();
      await engine.stop();
    }
  },
});

Deno.test("containers: an agent without Docker, or without a connection, is a clear 503", async () => {
  const hub = await startHub();
  const token = (await hub.admin.createToken({ kind: "node", node_id: "nd1" })).token;
  await hub.admin.createToken({ kind: "node", node_id: "off1" });
  const agent = startAgent({
    hub: hub.url,
    token,
    stateDir: await Deno.makeTempDir({ prefix: "fleet-nodocker-" }),
    args: ["--jobs", "off"],
  });
  try {
    await waitControl(hub.admin, "nd1");
    await assert.rejects(
      () => hub.admin.containers("nd1"),
      // The agent was given no --docker-socket: the message must not claim it was.
      (e) =>
        e instanceof ApiError && e.status === 503 && /reports no Docker engine/.test(e.message) &&
        !/started with/.test(e.message),
    );
    await assert.rejects(
      () => hub.admin.containerAction("off1", "x", "stop"),
      (e) => e instanceof ApiError && e.status === 503 && /not connected/.test(e.message),
    );
  } finally {
    await agent.stop();
    await hub.stop();
  }
});
