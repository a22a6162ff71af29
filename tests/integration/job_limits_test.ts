/**
 * Per-job resource limits with a real hub, a real agent and a real dockerd: a template's memory
 * limit makes a container that allocates more be reported as killed for memory (the engine's
 * OOMKilled), not as a generic failure; a custom job's memory and CPU limits are what its
 * container's cgroup holds; a process job with limits on a node without systemd runs and its
 * result says "limits not enforced"; bad limits are refused naming the field.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitFor } from "../helpers/process.ts";
import { DOCKER_INSTALL, DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";
import { ApiError } from "../../shared/api_client.ts";
import type { JobInfo } from "../../shared/protocol/mod.ts";

const CI = Deno.env.get("CI") === "true";
if (DOCKER_MISSING.length && !CI) {
  console.error(
    `\n!! SKIPPED job limit tests: missing ${
      DOCKER_MISSING.join(", ")
    }; install with: ${DOCKER_INSTALL}\n`,
  );
}

Deno.test({
  name: "job limits: memory kill reported as such, cgroup limits applied, unenforced said",
  ignore: DOCKER_MISSING.length > 0 && !CI,
  fn: async (t) => {
    const engine = await startDockerd();
    const dir = await Deno.makeTempDir({ prefix: "fleet-limits-" });
    await Deno.writeTextFile(
      join(dir, "fleet.yml"),
      `templates:\n  hog:\n    image: ${engine.image}\n` +
        // A 64 MiB read buffer, filled from /dev/zero: well past the 16 MiB limit.
        `    command: busybox dd if=/dev/zero of=/dev/null bs=64M count=1\n` +
        `    memory: 16M\n    timeout: 1m\n`,
    );
    const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
    const token = (await hub.admin.createToken({ kind: "node", node_id: "n1" })).token;
    const agent = startAgent({
      hub: hub.url,
      token,
      stateDir: join(dir, "agent"),
      interval: "1s",
      args: ["--docker-socket", engine.socket, "--docker-network", "none"],
    });
    const finished = (id: string) =>
      waitFor(
        async () => {
          const j = await hub.admin.job(id);
          return j.state === "done" || j.state === "failed" ? j : undefined;
        },
        `job ${id} finishes`,
        60_000,
      );
    try {
      await waitFor(async () => (await hub.admin.node("n1")).status === "online", "n1 online");

      await t.step("the template's memory limit: the job is killed for memory", async () => {
        const tpl = (await hub.admin.templates()).find((x) => x.name === "hog")!;
        assert.equal(tpl.memory_b, 16 * 1024 ** 2);
        const { id } = await hub.admin.submitJob({ template: "hog", node: "n1", max_attempts: 1 });
        const job: JobInfo = await finished(id);
        assert.equal(job.state, "failed");
        assert.equal(job.memory_b, 16 * 1024 ** 2);
        assert.match(job.error ?? "", /^killed for memory: passed its memory limit of 16 MiB/);
        assert.match(job.log_tail ?? "", /killed for memory/);
      });

      await t.step("a custom job's limits are its container's cgroup limits", async () => {
        const { id } = await hub.admin.submitJob({
          executor: "docker",
          image: engine.image,
          node: "n1",
          memory: "48M",
          cpus: 0.5,
          command: "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes " +
            "/sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null; true",
        });
        const job = await finished(id);
        assert.equal(job.state, "done", job.error ?? "");
        assert.equal(job.cpus, 0.5);
        assert.match(job.log_tail ?? "", new RegExp(`\\b${48 * 1024 ** 2}\\b`), job.log_tail!);
        assert.match(job.log_tail ?? "", /\b50000\b/, job.log_tail!);
      });

      await t.step("a process job's limits without systemd: run, said not enforced", async () => {
        const { id } = await hub.admin.submitJob({
          executor: "process",
          command: "echo fine",
          node: "n1",
          memory: "64M",
        });
        const job = await finished(id);
        assert.equal(job.state, "done", job.error ?? "");
        const result = job.result as { limits?: string };
        if (await Deno.stat("/run/systemd/system").then(() => false, () => true)) {
          assert.match(result.limits ?? "", /^limits not enforced: systemd is not running/);
        }
      });

      await t.step("bad limits are refused, naming the field", async () => {
        for (const [memory, cpus] of [["5M", 1], ["lots", 1], ["1G", 0]] as const) {
          const err = await hub.admin.submitJob({
            executor: "process",
            command: "true",
            memory,
            cpus,
          }).then(() => undefined, (e) => e);
          assert.ok(err instanceof ApiError && err.status === 400, String(err));
          assert.match(err.message, memory === "1G" ? /cpus/ : /memory/);
        }
      });
    } finally {
      await agent.stop();
      await hub.stop();
      await engine.stop();
      await Deno.remove(engine.dir, { recursive: true }).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
