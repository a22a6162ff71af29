/**
 * The Docker collector: against a stand-in Engine API on a unix socket (exact CPU % and memory
 * arithmetic, timeouts, missing and broken sockets) and against a REAL dockerd started by
 * tests/testbed/start-docker.sh (skipped loudly when Docker is not installed, unless CI=true).
 */
import { DOCKER_INSTALL, DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";
import assert from "node:assert/strict";
import { createDockerCollector } from "../../agent/collect/docker.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";

const MIB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Serves a few canned Engine API answers on a unix socket; `round` advances the counters. */
function fakeEngine(path: string, opts: { listDelayMs?: number } = {}) {
  const state = { round: 0, statsCalls: [] as string[] };
  const server = Deno.serve({ path, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/v1.41/containers/json") {
      assert.equal(url.searchParams.get("all"), "1");
      if (opts.listDelayMs) await sleep(opts.listDelayMs);
      return Response.json([
        {
          Id: "a".repeat(64),
          Names: ["/web"],
          Image: "nginx:1.27",
          State: "running",
          Status: "Up 3 hours",
        },
        {
          Id: "b".repeat(64),
          Names: ["/db"],
          Image: "postgres:16",
          State: "running",
          Status: "Up 2 days",
        },
        {
          Id: "c".repeat(64),
          Names: ["/migrate"],
          Image: "app:2",
          State: "exited",
          Status: "Exited (0) 1 hour ago",
        },
        {
          Id: "d".repeat(64),
          Names: [],
          Image: "flaky:1",
          State: "running",
          Status: "Up 1 second",
        },
      ]);
    }
    const m = /^\/v1\.41\/containers\/(\w+)\/stats$/.exec(url.pathname);
    if (!m) return new Response("not found", { status: 404 });
    assert.equal(url.searchParams.get("stream"), "false");
    assert.equal(url.searchParams.get("one-shot"), "true");
    state.statsCalls.push(m[1][0]);
    const r = state.round;
    if (m[1][0] === "a") {
      // cgroup v1: 0.5 s of CPU per round out of 2 s of system time on 4 CPUs = 100 %
      return Response.json({
        cpu_stats: {
          cpu_usage: { total_usage: 1e9 + r * 5e8, percpu_usage: [1, 2, 3, 4] },
          system_cpu_usage: 100e9 + r * 2e9,
        },
        memory_stats: {
          usage: 50 * MIB,
          limit: 512 * MIB,
          stats: { total_inactive_file: 10 * MIB, cache: 20 * MIB },
        },
      });
    }
    if (m[1][0] === "b") {
      // cgroup v2: 0.1 s out of 2 s on 2 CPUs = 10 %
      return Response.json({
        cpu_stats: {
          cpu_usage: { total_usage: 7e9 + r * 1e8 },
          system_cpu_usage: 100e9 + r * 2e9,
          online_cpus: 2,
        },
        memory_stats: { usage: 100 * MIB, limit: 8192 * MIB, stats: { inactive_file: 30 * MIB } },
      });
    }
    return new Response('{"message":"container is restarting"}', { status: 409 });
  });
  return { state, server };
}

Deno.test("docker: CPU % between two collects and memory without page cache", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-docker-" });
  const { state, server } = fakeEngine(`${dir}/docker.sock`);
  const docker = createDockerCollector({ socketPath: `${dir}/docker.sock` });
  try {
    const first = await docker.collect({ root: "/", now: 1 });
    SampleMetrics.parse(first);
    assert.deepEqual(first.containers?.map((c) => [c.name, c.state, c.cpu_pct]), [
      ["web", "running", undefined],
      ["db", "running", undefined],
      ["migrate", "exited", undefined],
      ["dddddddddddd", "running", undefined],
    ]);
    // exited containers are not asked for stats
    assert.deepEqual(state.statsCalls.sort(), ["a", "b", "d"]);
    state.round = 1;
    const second = await docker.collect({ root: "/", now: 2 });
    SampleMetrics.parse(second);
    assert.deepEqual(second.containers?.[0], {
      id: "a".repeat(64),
      name: "web",
      image: "nginx:1.27",
      state: "running",
      status: "Up 3 hours",
      cpu_pct: 100,
      mem_b: 40 * MIB, // usage minus total_inactive_file
      mem_limit_b: 512 * MIB,
    });
    assert.equal(second.containers?.[1].cpu_pct, 10);
    assert.equal(second.containers?.[1].mem_b, 70 * MIB); // usage minus inactive_file
    assert.deepEqual(second.containers?.[2], {
      id: "c".repeat(64),
      name: "migrate",
      image: "app:2",
      state: "exited",
      status: "Exited (0) 1 hour ago",
    });
    // a stats call that failed leaves the container without numbers, not the collect
    assert.equal(second.containers?.[3].mem_b, undefined);
  } finally {
    docker.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("docker: no socket means no containers field; a dead socket or slow engine throws", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-docker-" });
  const missing = createDockerCollector({ socketPath: `${dir}/nope.sock` });
  assert.deepEqual(await missing.collect({ root: "/", now: 1 }), {});
  missing.close();

  await Deno.writeTextFile(`${dir}/file.sock`, "");
  const broken = createDockerCollector({ socketPath: `${dir}/file.sock`, timeoutMs: 1000 });
  await assert.rejects(broken.collect({ root: "/", now: 1 }));
  broken.close();

  const { server } = fakeEngine(`${dir}/slow.sock`, { listDelayMs: 300 });
  const slow = createDockerCollector({ socketPath: `${dir}/slow.sock`, timeoutMs: 100 });
  try {
    await assert.rejects(slow.collect({ root: "/", now: 1 }), /did not answer within 100 ms/);
  } finally {
    slow.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- against a real Docker engine ------------------------------------------------------------

const CI = Deno.env.get("CI") === "true";
if (DOCKER_MISSING.length && !CI) {
  console.error(
    `\n!! SKIPPED docker collector test against a real dockerd: missing ` +
      `${
        DOCKER_MISSING.join(", ")
      }\n!! Install with: ${DOCKER_INSTALL} (with CI=true this fails)\n`,
  );
}

Deno.test({
  name: "docker: containers of a real dockerd (busy, idle, exited)",
  ignore: DOCKER_MISSING.length > 0 && !CI,
  fn: async () => {
    const engine = await startDockerd();
    const image = engine.image;
    const docker = createDockerCollector({ socketPath: engine.socket, timeoutMs: 8000 });
    try {
      const dockerRun = (args: string[]) => engine.docker("run", "--network", "none", ...args);
      await dockerRun(["-d", "--name", "fleet-busy", image, "sh", "-c", "while :; do :; done"]);
      await dockerRun(["-d", "--name", "fleet-idle", image, "sleep", "300"]);
      await dockerRun(["--name", "fleet-done", image, "true"]);

      const first = SampleMetrics.parse(await docker.collect({ root: "/", now: 1 }));
      const byName = (m: typeof first) => new Map(m.containers?.map((c) => [c.name, c]));
      const f = byName(first);
      assert.deepEqual([...f.keys()].sort(), ["fleet-busy", "fleet-done", "fleet-idle"]);
      assert.equal(f.get("fleet-busy")?.state, "running");
      assert.equal(f.get("fleet-busy")?.image, image);
      assert.equal(f.get("fleet-busy")?.cpu_pct, undefined, "no CPU % on the first collect");
      assert.ok((f.get("fleet-idle")?.mem_b ?? 0) > 0);
      assert.equal(f.get("fleet-done")?.state, "exited");
      assert.match(f.get("fleet-done")?.status ?? "", /^Exited \(0\)/);
      assert.equal(f.get("fleet-done")?.mem_b, undefined);

      await sleep(1000);
      const s = byName(SampleMetrics.parse(await docker.collect({ root: "/", now: 2 })));
      // the busy loop keeps one core at ~100 %
      assert.ok((s.get("fleet-busy")?.cpu_pct ?? 0) > 50, JSON.stringify(s.get("fleet-busy")));
      assert.ok((s.get("fleet-idle")?.cpu_pct ?? 100) < 5, JSON.stringify(s.get("fleet-idle")));
      assert.ok((s.get("fleet-busy")?.mem_limit_b ?? 0) > 0);
    } finally {
      docker.close();
      await engine.docker("rm", "-f", "fleet-busy", "fleet-idle", "fleet-done").catch(() => {});
      await engine.stop();
      await Deno.remove(engine.dir, { recursive: true }).catch(() => {});
    }
  },
});
