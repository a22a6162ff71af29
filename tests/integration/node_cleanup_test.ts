/**
 * `fleet-agent cleanup` on a real dockerd: `--dry-run` lists exactly what the real run then
 * removes; essential containers (and their image) survive; a running job container blocks it
 * unless `--force`. With `--volumes`, named volumes no remaining container uses go too (those of
 * the removed containers included); an essential container's volume and a volume labelled
 * `fleet.essential=true` stay.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../helpers/hub.ts";
import { DOCKER_INSTALL, DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";

const CI = Deno.env.get("CI") === "true";
if (DOCKER_MISSING.length && !CI) {
  console.error(
    `\n!! SKIPPED cleanup tests: missing ${
      DOCKER_MISSING.join(", ")
    }; install with: ${DOCKER_INSTALL}\n`,
  );
}

async function agent(args: string[]) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "agent/main.ts"), ...args],
    env: { FLEET_AGENT_CONFIG: join(ROOT, "tests/fixtures/agent-empty.yml") },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

Deno.test({
  name: "cleanup: dry run equals the real run; essential containers survive; jobs block it",
  ignore: DOCKER_MISSING.length > 0 && !CI,
  fn: async () => {
    const engine = await startDockerd();
    const state = await Deno.makeTempDir({ prefix: "fleet-cleanup-" });
    const d = engine.docker;
    try {
      const img = engine.image;
      await d(
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "portainer_agent",
        "--label",
        "fleet.essential=true",
        "-v",
        "vol-essential:/data",
        img,
        "sleep",
        "600",
      );
      await d(
        "run",
        "-d",
        "--init",
        "--network",
        "none",
        "--name",
        "leftover-a",
        "-v",
        "vol-leftover:/data",
        img,
        "sleep",
        "600",
      );
      await d(
        "run",
        "-d",
        "--init",
        "--network",
        "none",
        "--name",
        "leftover-b",
        img,
        "sleep",
        "600",
      );
      await d("run", "--network", "none", "--name", "exited-c", img, "true");
      await d("volume", "create", "vol-orphan");
      await d("volume", "create", "--label", "fleet.essential=true", "vol-keep");
      // An image no container will use once the leftovers are gone.
      await d("commit", "exited-c", "fleet/unused:1");
      await Deno.mkdir(join(state, "jobs", "7-1"), { recursive: true });
      await Deno.writeTextFile(join(state, "jobs", "7-1", "out.bin"), "x".repeat(4096));
      const common = [
        "--docker-socket",
        engine.socket,
        "--state-dir",
        state,
        "--image-age",
        "0s",
        "--journal-size",
        "1G",
        "--volumes",
      ];

      // A running job container blocks cleanup.
      await d(
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "job-9",
        "--label",
        "fleet.job=9",
        img,
        "sleep",
        "600",
      );
      const blocked = await agent(["cleanup", "--dry-run", ...common]);
      assert.equal(blocked.code, 1, "a refusal, not a usage error");
      assert.match(blocked.err, /a job is running \(job-9\)/);
      await d("rm", "-f", "job-9");

      const plan = await agent(["cleanup", "--dry-run", ...common]);
      assert.equal(plan.code, 0, plan.err);
      const lines = plan.out.split("\n").map((l) => l.trim()).filter((l) =>
        /^(stop|remove|clear|vacuum)-/.test(l)
      );
      const kinds = (k: string) =>
        lines.filter((l) => l.startsWith(k)).map((l) => l.split(" ")[1]).sort();
      assert.deepEqual(kinds("stop-container"), ["leftover-a", "leftover-b"]);
      assert.deepEqual(kinds("remove-container"), ["exited-c", "leftover-a", "leftover-b"]);
      assert.ok(lines.some((l) => l.startsWith("remove-image fleet/unused:1")), plan.out);
      assert.ok(
        !lines.some((l) => l.startsWith("remove-image") && l.includes(img)),
        "the essential container's image is kept",
      );
      assert.ok(lines.some((l) => l.startsWith("clear-dir job temp dirs")));
      assert.deepEqual(kinds("remove-volume"), ["vol-leftover", "vol-orphan"]);
      // The dry run changed nothing.
      assert.equal((await d("ps", "-a", "--format", "{{.Names}}")).split("\n").length, 4);

      const run = await agent([
        "cleanup",
        ...common.filter((x) => x !== "--journal-size" && x !== "1G"),
      ]);
      assert.equal(run.code, 0, run.out + run.err);
      assert.match(run.out, /freed about/);
      assert.equal(await d("ps", "-a", "--format", "{{.Names}}"), "portainer_agent");
      assert.equal(await d("inspect", "-f", "{{.State.Running}}", "portainer_agent"), "true");
      assert.equal(await d("images", "-q", "fleet/unused:1"), "");
      assert.ok(await d("images", "-q", img), "the essential container's image is still there");
      assert.ok(!(await Deno.stat(join(state, "jobs")).then(() => true, () => false)));
      assert.deepEqual(
        (await d("volume", "ls", "-q")).split("\n").sort(),
        ["vol-essential", "vol-keep"],
      );
      // Nothing left to do.
      const again = await agent([
        "cleanup",
        "--dry-run",
        ...common.filter((x) => x !== "--journal-size" && x !== "1G"),
      ]);
      assert.match(again.out, /would: nothing to do/);
    } finally {
      await engine.stop();
      await Deno.remove(engine.dir, { recursive: true }).catch(() => {});
      await Deno.remove(state, { recursive: true }).catch(() => {});
    }
  },
});
