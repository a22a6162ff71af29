/**
 * The process executor's limits: the `systemd-run --scope` argv that carries them, and the
 * reason given where they cannot be enforced. (The OOM kill of a scope itself needs a systemd
 * with a writable memory controller, which this machine's nspawn container lacks; the Docker
 * path's OOM kill is tested on a real dockerd in `job_limits_test.ts` of the integration tests.)
 */
import assert from "node:assert/strict";
import { scopeCommand, scopeSupport } from "../../agent/worker/limits.ts";

Deno.test("limits: the scope's argv carries memory (no swap), CPU quota, the command as is", () => {
  const { file, args } = scopeCommand(
    "fleet-job-7-1-abc",
    { memory_b: 64 * 1024 ** 2, cpus: 1.5 },
    "/bin/sh",
    ["-c", "echo hi"],
  );
  assert.equal(file, "systemd-run");
  assert.deepEqual(args.slice(0, 3), ["--scope", "--quiet", "--unit=fleet-job-7-1-abc"]);
  const props = args.filter((_, i) => args[i - 1] === "-p");
  assert.ok(props.includes(`MemoryMax=${64 * 1024 ** 2}`));
  assert.ok(props.includes("MemorySwapMax=0"));
  assert.ok(props.includes("CPUQuota=150%"));
  assert.deepEqual(args.slice(args.indexOf("--")), ["--", "/bin/sh", "-c", "echo hi"]);

  const cpuOnly = scopeCommand("u", { cpus: 0.25 }, "true", []).args;
  assert.ok(cpuOnly.includes("CPUQuota=25%"));
  assert.ok(!cpuOnly.some((a) => a.startsWith("MemoryMax")));
});

Deno.test("limits: without systemd as PID 1 they are not enforced, and the reason says so", () => {
  const support = scopeSupport();
  const systemd = (() => {
    try {
      return Deno.statSync("/run/systemd/system").isDirectory;
    } catch {
      return false;
    }
  })();
  if (!systemd) {
    assert.deepEqual(support, { ok: false, reason: "systemd is not running on this node" });
  } else assert.ok(support.ok || /./.test(support.reason ?? ""), "a reason when not ok");
});
