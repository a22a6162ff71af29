/**
 * The agent's job ledger with real processes: a recorded run is killed whole (its process group,
 * and what left the group but carries the run's tag), a recycled PID is never signalled, a docker
 * run's container is removed (on a real dockerd), and the records go once handled.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  JOB_TAG_ENV,
  JobLedger,
  processStartTime,
  reapLeftovers,
} from "../../agent/worker/ledger.ts";
import { createProcessExecutor } from "../../agent/worker/process.ts";
import { createDockerExecutor } from "../../agent/worker/docker.ts";
import { DOCKER_INSTALL, DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";
import type { JobSpec } from "../../shared/protocol/mod.ts";
import { waitFor } from "../helpers/process.ts";

/** Whether `pid` runs as the process that started at `start` (a zombie is dead). */
function alive(pid: number, start: number | undefined): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return f[0] !== "Z" && Number(f[19]) === start;
  } catch {
    return false;
  }
}

function job(id: string, command: string[], image?: string): JobSpec {
  return {
    id,
    attempt: 1,
    lease_expires_at: Date.now() + 60_000,
    executor: image ? "docker" : "process",
    image: image ?? null,
    command,
    env: {},
    mounts: [],
    gpu: false,
    timeout_s: 600,
    payload: null,
  };
}

async function pidsIn(file: string, n: number): Promise<number[]> {
  return await waitFor(async () => {
    const text = await Deno.readTextFile(file).catch(() => "");
    const pids = text.trim().split("\n").filter(Boolean).map(Number);
    return pids.length >= n ? pids : undefined;
  }, `${n} PIDs in ${file}`);
}

Deno.test("ledger: a run left behind is killed whole, including what left its group", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ledger-" });
  const ledger = new JobLedger(join(dir, "running"));
  const pidFile = join(dir, "pids");
  // The leader, a child in its group, and one that left the group with setsid.
  const script = `echo $$ >> "$1"; sleep 600 & echo $! >> "$1"; ` +
    `setsid sh -c 'echo $$ >> "$0"; exec sleep 600' "$1" & wait`;
  const spec = job("41", ["/bin/sh", "-c", script, "sh", pidFile]);
  const record = ledger.begin(spec);
  const stop = new AbortController();
  // Not awaited: this stands for the run of an agent that is then killed.
  const run = createProcessExecutor().run(spec, {
    signal: stop.signal,
    tempDir: dir,
    tag: record.tag,
    onHandle: (h) => ledger.update(record, h),
  });
  try {
    const pids = await pidsIn(pidFile, 3);
    const starts = pids.map((p) => processStartTime(p));
    assert.ok(pids.every((p, i) => alive(p, starts[i])), "the run is up");
    const onDisk = await ledger.list();
    assert.equal(onDisk.length, 1);
    assert.equal(onDisk[0].pgid, pids[0], "the leader's PID is the recorded group");
    assert.equal(onDisk[0].start_time, starts[0]);

    const reaped = await reapLeftovers(ledger, { jobsDir: dir });
    assert.deepEqual([...reaped.killed].sort(), [...pids].sort());
    assert.ok(pids.every((p, i) => !alive(p, starts[i])), "no process of the run survives");
    assert.deepEqual(await ledger.list(), [], "the record is gone");
    const result = await run;
    assert.equal(result.exit_code, null, "the leader was killed");
  } finally {
    stop.abort();
    await run;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ledger: a recycled PID is left alone; a run recorded only by its tag is still found", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ledger-" });
  const ledger = new JobLedger(join(dir, "running"));
  // A process group that is not the recorded run: same PID, another start time.
  const stranger = new Deno.Command("setsid", { args: ["sleep", "600"] }).spawn();
  const tag = crypto.randomUUID();
  // The agent died between spawning and recording the group: only the tag tells.
  const untracked = new Deno.Command("setsid", {
    args: ["sleep", "600"],
    env: { [JOB_TAG_ENV]: tag },
  }).spawn();
  try {
    const strangerStart = await waitFor(() => processStartTime(stranger.pid), "stranger up");
    const untrackedStart = await waitFor(() => processStartTime(untracked.pid), "untracked up");
    await waitFor(
      () => Deno.readTextFile(`/proc/${untracked.pid}/environ`).then((e) => e.includes(tag)),
      "the tag in the environment (after exec)",
    );
    const recycled = ledger.begin({ id: "7", attempt: 2, executor: "process" });
    ledger.update(recycled, { pgid: stranger.pid, start_time: strangerStart + 1 });
    const tagged = ledger.begin({ id: "8", attempt: 1, executor: "process" });
    // Only the tag: as written before the run was spawned.
    Deno.writeTextFileSync(
      join(ledger.dir, "8-1.json"),
      JSON.stringify({ ...tagged, tag }),
    );

    const reaped = await reapLeftovers(ledger);
    assert.deepEqual(reaped.killed, [untracked.pid]);
    assert.ok(alive(stranger.pid, strangerStart), "a recycled PID is never signalled");
    assert.ok(!alive(untracked.pid, untrackedStart), "the tagged process is killed");
    assert.deepEqual(await ledger.list(), []);
  } finally {
    for (const c of [stranger, untracked]) {
      try {
        c.kill("SIGKILL");
      } catch { /* already gone */ }
      await c.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});

const CI = Deno.env.get("CI") === "true";
if (DOCKER_MISSING.length && !CI) {
  console.error(
    `\n!! SKIPPED the ledger's docker test: missing ${DOCKER_MISSING.join(", ")}\n` +
      `!! Install with: ${DOCKER_INSTALL} (with CI=true this fails)\n`,
  );
}

Deno.test({
  name: "ledger: a docker run left behind loses its container; one never created is no error",
  ignore: DOCKER_MISSING.length > 0 && !CI,
  fn: async () => {
    const engine = await startDockerd();
    const dir = await Deno.makeTempDir({ prefix: "ledger-" });
    const ledger = new JobLedger(join(dir, "running"));
    const docker = async (...args: string[]) => {
      const o = await new Deno.Command("docker", {
        args,
        env: { DOCKER_HOST: `unix://${engine.socket}` },
        stdin: "null",
      }).output();
      assert.ok(o.success, new TextDecoder().decode(o.stderr));
      return new TextDecoder().decode(o.stdout).trim();
    };
    const spec = job("51", ["sh", "-c", "echo started; sleep 600"], engine.image);
    const record = ledger.begin(spec);
    const stop = new AbortController();
    let started!: () => void;
    const running = new Promise<void>((r) => started = r);
    const run = createDockerExecutor({ socketPath: engine.socket, networkMode: "none" }).run(
      spec,
      {
        signal: stop.signal,
        tempDir: dir,
        tag: record.tag,
        onHandle: (h) => ledger.update(record, h),
        onOutput: (text) => text.includes("started") && started(),
      },
    );
    try {
      await running;
      const [onDisk] = await ledger.list();
      assert.match(onDisk.container ?? "", /^fleet-job-51-1-/);
      const byTag = ["ps", "-a", "--filter", `label=fleet.tag=${record.tag}`, "--format"];
      assert.equal(await docker(...byTag, "{{.Names}} {{.State}}"), `${onDisk.container} running`);
      // The agent died between recording a name and creating the container.
      const never = ledger.begin({ id: "52", attempt: 1, executor: "docker" });
      ledger.update(never, { container: "fleet-job-52-1-absent" });

      const reaped = await reapLeftovers(ledger, { dockerSocket: engine.socket });
      assert.deepEqual(reaped.containers, [onDisk.container]);
      assert.deepEqual(reaped.kept, []);
      assert.equal(await docker(...byTag, "{{.Names}}"), "", "the container is gone");
      assert.deepEqual(await ledger.list(), []);
      // 128 + SIGKILL: the forced removal killed what the run was waiting for.
      assert.equal((await run).exit_code, 137, "the run ended with its container");
    } finally {
      stop.abort();
      await run;
      await engine.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
