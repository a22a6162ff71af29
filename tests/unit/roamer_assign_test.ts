/**
 * The roamer assignment schema (cluster, template or custom image), fleet.yml's
 * `roamers.manual_only`, and the demo inventory keeping a roamer for assignment by hand.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RoamerAssign } from "../../shared/protocol/mod.ts";
import { loadHubConfig } from "../../hub/core/config.ts";
import { demoInventory } from "../../hub/demo.ts";
import { ConfigError } from "../../shared/yaml_config.ts";

/** The paths of the issues of a refused body. */
function refused(body: unknown): string[] {
  const r = RoamerAssign.safeParse(body);
  assert.equal(r.success, false, JSON.stringify(body));
  return r.error!.issues.map((i) => i.path.join("."));
}

Deno.test("RoamerAssign: image references, env and the image-only fields", () => {
  for (
    const image of [
      "busybox",
      "busybox:1.36",
      "127.0.0.1:5000/fleet/busybox:1",
      "ghcr.io/org/tool-x_y:v2.0",
      `registry.local/a/b@sha256:${"a".repeat(64)}`,
    ]
  ) {
    assert.ok(RoamerAssign.safeParse({ image }).success, image);
  }
  for (const image of ["", "Busy Box", "Upper", "a:b:c", "x/", "-lead", "a@sha256:zz"]) {
    assert.deepEqual(refused({ image }), ["image"], image);
  }
  const ok = RoamerAssign.parse({
    image: "busybox",
    command: ["sh", "-c", "true"],
    env: { A_1: "x" },
    gpu: true,
  });
  assert.equal(ok.mode, "until_idle");
  assert.ok(
    refused({ image: "busybox", env: { "bad-name": "x" } }).some((p) => p.startsWith("env")),
  );
  const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`V${i}`, "x"]));
  assert.ok(refused({ image: "busybox", env: many }).includes("env"));
  assert.deepEqual(refused({ cluster: "c", gpu: true }), ["gpu"]);
  assert.deepEqual(refused({ template: "t", env: {} }), ["env"]);
  assert.deepEqual(refused({ cluster: "c", image: "busybox" }), ["cluster"]);
  assert.deepEqual(refused({}), ["cluster"]);
  assert.deepEqual(refused({ image: "busybox", tag: "x" }), [""]);
});

Deno.test("fleet.yml roamers.manual_only: read into the inventory; must be listed roamers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cfg-" });
  try {
    const file = join(dir, "fleet.yml");
    await Deno.writeTextFile(file, "roamers:\n  nodes: [r1, r2]\n  manual_only: [r2]\n");
    const c = await loadHubConfig({ config: file }, {});
    assert.deepEqual(c.inventory.roamers, ["r1", "r2"]);
    assert.deepEqual(c.inventory.manualRoamers, ["r2"]);
    await Deno.writeTextFile(file, "roamers:\n  nodes: [r1]\n  manual_only: [r9]\n");
    await assert.rejects(() => loadHubConfig({ config: file }, {}), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, /roamers\.manual_only\.0: r9 is not in nodes/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the demo inventory keeps one roamer for assignment by hand", () => {
  for (const n of [8, 12, 24]) {
    const inv = demoInventory(n);
    assert.equal(inv.manualRoamers?.length, 1, `${n} nodes`);
    assert.ok(inv.roamers.includes(inv.manualRoamers![0]));
    if (n >= 12) assert.ok(inv.roamers.length > 1, "the autoscaler still has roamers to lend");
  }
});
