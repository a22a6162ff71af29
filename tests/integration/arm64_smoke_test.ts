/**
 * arm64 smoke test (TESTING.md): the agent from source under `qemu-aarch64-static` with Deno's
 * arm64 build collects from a Xavier fixture root and pushes to an x86 hub on loopback. The arm64
 * Deno comes from the npm registry (`@deno/linux-arm64-glibc`), unpacked by .ci/run into
 * tests/.cache/deno-arm64 (or `FLEET_ARM64_DENO`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, startHub } from "../helpers/hub.ts";
import { Child, waitFor } from "../helpers/process.ts";
import { findExecutable } from "../../agent/collect/sampler.ts";

const CI = Deno.env.get("CI") === "true";
const DENO_ARM64 = Deno.env.get("FLEET_ARM64_DENO") ??
  join(ROOT, "tests/.cache/deno-arm64/package/deno");
const LD_PREFIX = "/usr/aarch64-linux-gnu";
const missing = [
  ...(findExecutable("qemu-aarch64-static") ? [] : ["qemu-aarch64-static"]),
  ...(await Deno.stat(DENO_ARM64).then(() => [], () => [DENO_ARM64])),
  ...(await Deno.stat(LD_PREFIX).then(() => [], () => [LD_PREFIX])),
];
const HOW = "apt-get install -y qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross; " +
  "(cd tests/.cache/deno-arm64 && npm pack @deno/linux-arm64-glibc@2.9.6 && tar xzf *.tgz)";
if (missing.length && !CI) {
  console.error(`\n!! SKIPPED arm64 smoke test: missing ${missing.join(", ")}\n!! ${HOW}\n`);
}

Deno.test({
  name: "arm64: the agent under qemu collects from fixtures and pushes to the hub",
  ignore: missing.length > 0 && !CI,
  fn: async () => {
    if (missing.length) throw new Error(`missing ${missing.join(", ")}: ${HOW}`);
    const hub = await startHub();
    const state = await Deno.makeTempDir({ prefix: "fleet-arm64-" });
    const token = (await hub.admin.createToken({ kind: "node", node_id: "agx-arm" })).token;
    const agent = new Child(findExecutable("qemu-aarch64-static")!, [
      DENO_ARM64,
      "run",
      "--allow-all",
      join(ROOT, "agent/main.ts"),
      "run",
      "--hub",
      hub.url,
      "--token",
      token,
      "--state-dir",
      state,
      "--root",
      join(ROOT, "tests/fixtures/roots/xavier/t0"),
      "--interval",
      "2s",
      "--tegrastats",
      "off",
      "--nvidia-smi",
      "off",
      "--docker-socket",
      "off",
      "--jobs",
      "off",
      "--config",
      join(ROOT, "tests/fixtures/agent-empty.yml"),
    ], { env: { QEMU_LD_PREFIX: LD_PREFIX } });
    try {
      const node = await waitFor(
        async () => {
          const n = await hub.admin.node("agx-arm");
          return n.last_seq >= 1 ? n : undefined;
        },
        "a sample from the arm64 agent",
        180_000,
        500,
      );
      assert.equal(node.arch, "aarch64");
      assert.equal(node.last_sample?.mem?.total_b, 32692964 * 1024, "values from the fixture root");
    } finally {
      await agent.stop("SIGTERM", 20_000);
      await hub.stop();
      await Deno.remove(state, { recursive: true });
    }
  },
});
