/**
 * The docker executor and job cleanup: the exact Engine API requests against a stand-in engine
 * (command forms, env, binds, labels, the nvidia runtime, pull only when absent, log demuxing and
 * the output cap), and real runs against ONE real dockerd + loopback registry started by
 * tests/testbed/start-docker.sh (skipped loudly when Docker is not installed, unless CI=true).
 */
import { DOCKER_INSTALL, DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";
import assert from "node:assert/strict";
import { createDockerExecutor } from "../../agent/worker/docker.ts";
import { cleanupJobContainers, pruneDanglingImages } from "../../agent/worker/cleanup.ts";
import { DockerUnavailableError } from "../../shared/docker_api.ts";
import type { ExecOptions } from "../../agent/worker/executor.ts";
import type { JobSpec } from "../../shared/protocol/mod.ts";

function job(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    id: `job-${crypto.randomUUID().slice(0, 8)}`,
    attempt: 1,
    lease_expires_at: Date.now() + 300_000,
    executor: "docker",
    image: null,
    command: null,
    env: {},
    mounts: [],
    gpu: false,
    timeout_s: 60,
    payload: null,
    ...overrides,
  };
}

function execOptions(overrides: Partial<ExecOptions> = {}): ExecOptions {
  return { signal: new AbortController().signal, tempDir: "/nonexistent", ...overrides };
}

/** One frame of Docker's multiplexed log stream. */
function frame(stream: number, text: string | Uint8Array): Uint8Array {
  const payload = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

/** A stand-in Engine API on a unix socket that records what the executor asks for. */
function fakeEngine(path: string) {
  const state = {
    present: new Set<string>(),
    pulls: [] as string[],
    created: [] as { name: string | null; body: Record<string, unknown> }[],
    removed: [] as string[],
    logs: [] as Uint8Array[],
  };
  const server = Deno.serve({ path, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const p = url.pathname.replace(/^\/v1\.41/, "");
    const image = /^\/images\/(.+)\/json$/.exec(p);
    if (req.method === "GET" && image) {
      return state.present.has(image[1])
        ? Response.json({ Id: "sha256:1" })
        : Response.json({ message: `No such image: ${image[1]}` }, { status: 404 });
    }
    if (req.method === "POST" && p === "/images/create") {
      const ref = `${url.searchParams.get("fromImage")}:${url.searchParams.get("tag")}`;
      state.pulls.push(ref);
      if (ref.includes("slow")) {
        // A pull that never finishes: one progress line, then nothing until the client leaves.
        const body = new ReadableStream<Uint8Array>({
          start: (c) => c.enqueue(new TextEncoder().encode('{"status":"Downloading"}\r\n')),
        });
        return new Response(body);
      }
      const lines = [{ status: "Pulling from team/app" }, { status: "Downloading" }];
      if (ref.includes("broken")) {
        lines.push({ errorDetail: { message: "unauthorized" }, error: "unauthorized" } as never);
      } else state.present.add(ref);
      return new Response(lines.map((l) => JSON.stringify(l)).join("\r\n") + "\r\n");
    }
    if (p === "/info") return Response.json({ Runtimes: { runc: {}, nvidia: {} } });
    if (p === "/containers/create") {
      state.created.push({ name: url.searchParams.get("name"), body: await req.json() });
      return Response.json({ Id: `c${state.created.length}`, Warnings: [] }, { status: 201 });
    }
    if (/^\/containers\/c\d+\/start$/.test(p)) return new Response(null, { status: 204 });
    if (/^\/containers\/c\d+\/wait$/.test(p)) return Response.json({ StatusCode: 0 });
    if (/^\/containers\/c\d+\/logs$/.test(p)) {
      // Chunks of 5 bytes: headers and payloads split anywhere.
      const all = new Uint8Array(state.logs.reduce((n, b) => n + b.length, 0));
      let off = 0;
      for (const b of state.logs) all.set(b, (off += b.length) - b.length);
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < all.length; i += 5) chunks.push(all.slice(i, i + 5));
      return new Response(ReadableStream.from(chunks));
    }
    if (req.method === "DELETE") {
      state.removed.push(p.split("/")[2]);
      return new Response(null, { status: 204 });
    }
    return Response.json({ message: `unexpected ${req.method} ${p}` }, { status: 500 });
  });
  return { state, server };
}

Deno.test("docker executor: the requests it makes, log demuxing and the output cap", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-worker-docker-" });
  const socketPath = `${dir}/docker.sock`;
  const { state, server } = fakeEngine(socketPath);
  const executor = createDockerExecutor({ socketPath });
  try {
    assert.equal(executor.kind, "docker");
    const e = new TextEncoder().encode("é"); // two bytes, split across two frames below
    state.logs = [
      frame(1, "h"),
      frame(1, e.subarray(0, 1)),
      frame(2, "oops\n"),
      frame(1, e.subarray(1)),
      frame(1, "llo\n"),
    ];
    const chunks: string[] = [];
    const first = await executor.run(
      job({
        id: "j/1",
        attempt: 2,
        image: "127.0.0.1:5000/team/app:2",
        command: "echo $A && nvidia-smi",
        env: { A: "1", B: "two words" },
        mounts: [{ source: "/data", target: "/in", readonly: true }, {
          source: "/tmp/x",
          target: "/out",
        }],
        gpu: true,
      }),
      execOptions({ onOutput: (c) => chunks.push(c) }),
    );
    assert.equal(first.error, undefined, first.error);
    assert.equal(first.exit_code, 0);
    // pulled once, with the registry port kept in fromImage and the tag split off
    assert.deepEqual(state.pulls, ["127.0.0.1:5000/team/app:2"]);
    const { name, body } = state.created[0];
    assert.match(name ?? "", /^fleet-job-j-1-2-[0-9a-f]{6}$/);
    assert.deepEqual(body.Cmd, ["/bin/sh", "-c", "echo $A && nvidia-smi"]);
    assert.deepEqual(body.Env, [
      "A=1",
      "B=two words",
      "FLEET_JOB_ID=j/1",
      "FLEET_JOB_ATTEMPT=2",
      "FLEET_JOB_PAYLOAD=null",
      "NVIDIA_VISIBLE_DEVICES=all",
    ]);
    assert.deepEqual(body.Labels, { "fleet.job": "j/1", "fleet.attempt": "2" });
    assert.equal(body.Tty, false);
    // production keeps the engine's default network: no NetworkMode at all
    assert.deepEqual(body.HostConfig, {
      Binds: ["/data:/in:ro", "/tmp/x:/out"],
      Runtime: "nvidia",
    });
    assert.ok(first.output.startsWith("[fleet] pulling 127.0.0.1:5000/team/app:2\n"), first.output);
    assert.ok(first.output.endsWith("hoops\néllo\n"), first.output);
    assert.equal(chunks.join(""), first.output);
    assert.deepEqual(state.removed, ["c1"]);

    // Cached: no pull. An argv runs as is; no command means the image's own; a small cap keeps
    // the tail.
    state.logs = [frame(1, "a".repeat(100) + "\n"), frame(2, "the end\n")];
    const second = await executor.run(
      job({ image: "127.0.0.1:5000/team/app:2", command: ["python3", "-c", "print(1)"] }),
      execOptions({ outputCapBytes: 20 }),
    );
    assert.deepEqual(state.pulls, ["127.0.0.1:5000/team/app:2"]);
    assert.deepEqual(state.created[1].body.Cmd, ["python3", "-c", "print(1)"]);
    assert.deepEqual(state.created[1].body.HostConfig, { Binds: [] });
    assert.equal(second.output, "aaaaaaaaaaa\nthe end\n");
    assert.equal(second.truncated, true);

    await executor.run(job({ image: "127.0.0.1:5000/team/app:2" }), execOptions());
    assert.equal("Cmd" in state.created[2].body, false);
    // no tag means latest
    await executor.run(job({ image: "127.0.0.1:5000/team/app" }), execOptions());
    assert.equal(state.pulls[1], "127.0.0.1:5000/team/app:latest");

    // A pull that fails inside the progress stream: an error result and nothing created.
    const broken = await executor.run(
      job({ image: "127.0.0.1:5000/team/broken:1", command: "true" }),
      execOptions(),
    );
    assert.equal(broken.exit_code, null);
    assert.match(
      broken.error ?? "",
      /pull of 127\.0\.0\.1:5000\/team\/broken:1 failed: unauthorized/,
    );
    assert.equal(state.created.length, 4);

    // A pull that hangs: the pull timeout ends it, and so does a cancel; nothing is created.
    const slow = job({ image: "127.0.0.1:5000/team/slow:1", command: "true" });
    const quick = createDockerExecutor({ socketPath, pullTimeoutMs: 200 });
    const late = await quick.run(slow, execOptions());
    assert.match(
      late.error ?? "",
      /pull of 127\.0\.0\.1:5000\/team\/slow:1 did not finish within 0.2 s/,
    );
    assert.equal(late.cancelled, false);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 200);
    const began = Date.now();
    const dropped = await executor.run(slow, execOptions({ signal: abort.signal }));
    assert.equal(dropped.cancelled, true);
    assert.equal(dropped.error, undefined);
    assert.ok(Date.now() - began < 2000);
    assert.equal(state.created.length, 4);

    // Not a docker job / no image / a reference that would bend the URL: errors, no requests.
    for (
      const bad of [job({ executor: "process", command: "true" }), job(), job({ image: "a?b" })]
    ) {
      const r = await executor.run(bad, execOptions());
      assert.ok(r.error, JSON.stringify(r));
    }
    assert.equal(state.created.length, 4);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("docker executor and cleanup: no Docker is a clear error naming the socket", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-worker-docker-" });
  const socketPath = `${dir}/absent.sock`;
  try {
    const named = (err: unknown) =>
      err instanceof DockerUnavailableError && err.message.includes(socketPath);
    await assert.rejects(
      createDockerExecutor({ socketPath }).run(
        job({ image: "x/y:1", command: "true" }),
        execOptions(),
      ),
      named,
    );
    await assert.rejects(cleanupJobContainers(socketPath), named);
    await assert.rejects(pruneDanglingImages(socketPath), named);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- against a real Docker engine ------------------------------------------------------------

const CI = Deno.env.get("CI") === "true";
if (DOCKER_MISSING.length && !CI) {
  console.error(
    `\n!! SKIPPED docker executor tests against a real dockerd: missing ` +
      `${
        DOCKER_MISSING.join(", ")
      }\n!! Install with: ${DOCKER_INSTALL} (with CI=true this fails)\n`,
  );
}

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ ok: boolean; out: string; err: string }> {
  const o = await new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return {
    ok: o.success,
    out: new TextDecoder().decode(o.stdout),
    err: new TextDecoder().decode(o.stderr),
  };
}

Deno.test({
  name: "docker executor: real jobs on a real dockerd",
  ignore: DOCKER_MISSING.length > 0 && !CI,
  fn: async (t) => {
    const engine = await startDockerd();
    const { dir, image, registry } = engine;
    const socketPath = engine.socket;
    const env = { DOCKER_HOST: `unix://${socketPath}` };
    const docker = async (...args: string[]): Promise<string> => {
      const r = await run("docker", args, env);
      assert.ok(r.ok, `docker ${args.join(" ")}: ${r.err}`);
      return r.out.trim();
    };
    /** IDs of all containers (any state) labelled with this job. */
    const containersOf = (id: string) =>
      docker("ps", "-a", "-q", "--filter", `label=fleet.job=${id}`);
    const executor = createDockerExecutor({ socketPath, networkMode: "none" });
    const hostDir = `${dir}/host`;
    await Deno.mkdir(hostDir);
    try {
      await t.step("env vars and a bind mount; the container is gone after", async () => {
        const j = job({
          image,
          command: 'echo "foo=$FOO bar=$BAR"; echo to-stderr >&2; echo "$FOO" > /out/result.txt',
          env: { FOO: "alpha", BAR: "beta gamma" },
          mounts: [{ source: hostDir, target: "/out" }],
        });
        const chunks: string[] = [];
        const r = await executor.run(j, execOptions({ onOutput: (c) => chunks.push(c) }));
        assert.equal(r.error, undefined, r.error);
        assert.equal(r.exit_code, 0, r.output);
        assert.equal(r.timed_out || r.cancelled, false);
        assert.match(r.output, /foo=alpha bar=beta gamma\n/);
        assert.match(r.output, /to-stderr\n/);
        assert.doesNotMatch(r.output, /pulling/, "the image is cached: no pull");
        assert.equal(chunks.join(""), r.output);
        assert.equal(await Deno.readTextFile(`${hostDir}/result.txt`), "alpha\n");
        assert.equal(await containersOf(j.id), "");
      });

      await t.step("a non-zero exit; a GPU job without runtime or driver says so", async () => {
        const j = job({ image, command: ["sh", "-c", "echo failing; exit 7"], gpu: true });
        const r = await executor.run(j, execOptions());
        assert.equal(r.exit_code, 7);
        assert.equal(r.error, undefined);
        assert.match(r.output, /no nvidia runtime and no GPU device driver; running without GPU/);
        assert.match(r.output, /failing\n/);
        assert.equal(await containersOf(j.id), "");
      });

      // Both stop the container with `stop?t=2`; run together to keep the file fast.
      await t.step(
        "a timeout and a cancel stop the container (labels seen while running)",
        async () => {
          const slow = job({ image, command: "sleep 60", timeout_s: 2 });
          const cancelled = job({ image, command: "echo started; sleep 60", attempt: 3 });
          const abort = new AbortController();
          let abortedAt = 0;
          let labelsWhileRunning = "";
          let sawStart!: () => void;
          const startSeen = new Promise<void>((r) => sawStart = r);
          const began = Date.now();
          const [timedOut, stopped] = await Promise.all([
            executor.run(slow, execOptions()),
            executor.run(
              cancelled,
              execOptions({
                signal: abort.signal,
                onOutput: (c) => c.includes("started") && sawStart(),
              }),
            ),
            (async () => {
              await startSeen;
              labelsWhileRunning = await docker(
                "ps",
                "--filter",
                `label=fleet.job=${cancelled.id}`,
                "--format",
                '{{.Label "fleet.job"}} {{.Label "fleet.attempt"}} {{.State}}',
              );
              abortedAt = Date.now();
              abort.abort();
            })(),
          ]);
          assert.equal(labelsWhileRunning, `${cancelled.id} 3 running`);

          assert.equal(timedOut.timed_out, true);
          assert.equal(timedOut.cancelled, false);
          assert.equal(timedOut.exit_code, null);
          const took = timedOut.ended_at - began;
          assert.ok(took >= 2000 && took < 9000, `timeout took ${took} ms`);
          assert.match(timedOut.output, /timed out after 2 s/);

          assert.equal(stopped.cancelled, true);
          assert.equal(stopped.timed_out, false);
          assert.equal(stopped.exit_code, null);
          assert.match(stopped.output, /^started\n/);
          const stopTook = stopped.ended_at - abortedAt;
          assert.ok(stopTook < 7000, `cancel took ${stopTook} ms`);
          assert.equal(await containersOf(slow.id), "");
          assert.equal(await containersOf(cancelled.id), "");
        },
      );

      await t.step(
        "an image missing from the registry: an error, nothing left behind",
        async () => {
          const j = job({ image: `${registry}/fleet/nope:1`, command: "true" });
          const r = await executor.run(j, execOptions());
          assert.equal(r.exit_code, null);
          assert.match(r.error ?? "", /pull of .*fleet\/nope:1 failed: .*not found/);
          assert.equal(await containersOf(j.id), "");
          assert.equal(await docker("images", "-q", `${registry}/fleet/nope`), "");
        },
      );

      await t.step(
        "an image only in the registry is pulled once, then used from cache",
        async () => {
          const pulled = `${registry}/fleet/pulled:1`;
          await docker("tag", image, pulled);
          await docker("push", pulled);
          await docker("rmi", pulled);
          const first = await executor.run(
            job({ image: pulled, command: "echo hi" }),
            execOptions(),
          );
          assert.equal(first.exit_code, 0, first.error ?? first.output);
          assert.match(
            first.output,
            /^\[fleet\] pulling .*\n\[fleet\] pulled .* in [\d.]+ s\nhi\n$/,
          );
          const second = await executor.run(
            job({ image: pulled, command: "echo hi" }),
            execOptions(),
          );
          assert.equal(second.output, "hi\n");
        },
      );

      await t.step("cleanupJobContainers removes fleet.job containers, never others", async () => {
        // A job that exits on SIGTERM, one never started, and one the operator runs.
        const running = await docker(
          "run",
          "-d",
          "--network",
          "none",
          "--label",
          "fleet.job=left-1",
          image,
          "sh",
          "-c",
          'trap "exit 0" TERM; sleep 300 & wait',
        );
        const created = await docker("create", "--label", "fleet.job=left-2", image, "true");
        const bystander = await docker(
          "run",
          "-d",
          "--network",
          "none",
          "--label",
          "app=mine",
          image,
          "sleep",
          "300",
        );
        try {
          const { removed, failed } = await cleanupJobContainers(socketPath);
          assert.deepEqual(removed.sort(), [running, created].sort());
          assert.deepEqual(failed, []);
          assert.equal(await docker("ps", "-a", "-q", "--no-trunc"), bystander);
          assert.deepEqual(await cleanupJobContainers(socketPath), { removed: [], failed: [] });
        } finally {
          await run("docker", ["rm", "-f", bystander], env);
        }
      });

      await t.step("pruneDanglingImages deletes an untagged image", async () => {
        const c = await docker("create", image, "true");
        const dangling = await docker("commit", c);
        await docker("rm", c);
        const { deleted, reclaimed_b } = await pruneDanglingImages(socketPath);
        assert.ok(deleted >= 1, `deleted ${deleted}`);
        assert.ok(reclaimed_b >= 0);
        const inspect = await run("docker", ["image", "inspect", dangling], env);
        assert.equal(inspect.ok, false, "the dangling image is gone");
        await docker("image", "inspect", image); // the tagged one is kept
      });
    } finally {
      await engine.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
