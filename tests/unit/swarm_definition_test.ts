/**
 * Swarm definitions without an engine: YAML and JSON parsing with the field and line named, the
 * Engine API spec of a definition read back as the same view (no drift against itself), drift
 * field by field, image references, compose checks, and the build context archive with
 * `.dockerignore` (unpacked by the system's tar).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  definitionView,
  diffViews,
  liveView,
  parseDefinitionJson,
  parseDefinitionYaml,
  toServiceSpec,
} from "../../hub/swarm/definition.ts";
import { splitImage } from "../../hub/swarm/builds.ts";
import { checkCompose } from "../../hub/swarm/stacks.ts";
import { dockerIgnore, tarDirectory } from "../../hub/swarm/tar.ts";
import { BadInput } from "../../hub/core/errors.ts";
import { loadHubConfig } from "../../hub/core/config.ts";

const GPU_YAML = `name: detector
image: 192.168.1.100:5000/detector:2
replicas: 2
ports:
  - "8080:80"
  - "9000/udp"
env:
  NVIDIA_VISIBLE_DEVICES: all
constraints:
  - node.hostname == agx-01
labels:
  team: vision
networks: [host]
mounts:
  - /data/models:/models:ro
  - type: tmpfs
    target: /dev/shm
    tmpfs_size_b: 4294967296
resources:
  limits: { cpus: 2.5, memory_b: 8589934592 }
  reservations:
    generic: [{ kind: NVIDIA-GPU, value: 1 }]
restart_policy: { condition: on-failure, max_attempts: 3, delay_s: 5 }
update_config: { parallelism: 1, delay_s: 10, failure_action: rollback }
build_context: detector
platform: linux/arm64
`;

Deno.test("swarm definition: YAML errors name the line and the field", () => {
  const bad = (text: string) => {
    try {
      parseDefinitionYaml(text);
    } catch (e) {
      assert.ok(e instanceof BadInput);
      return e;
    }
    assert.fail("accepted");
  };
  const e = bad("name: app\nimage: x:1\nreplicas: many\n");
  assert.match(e.message, /line 3: replicas/);
  assert.deepEqual(e.errors?.map((x) => x.path), ["replicas"]);
  assert.match(bad("name: app\nimage: x:1\nport: []\n").message, /line 3: .*port/);
  assert.match(bad("name: app\nimage: x:1\nbuild_context: ../etc\n").message, /build_context/);
  assert.match(bad("name: app\n  image: [\n").message, /line \d/);
  const j = (() => {
    try {
      parseDefinitionJson({ name: "app", image: "x:1", mounts: ["nocolon"] });
    } catch (e) {
      return e as BadInput;
    }
  })();
  assert.deepEqual(j?.errors?.map((x) => x.path), ["definition.mounts.0"]);
});

Deno.test("swarm definition: its spec reads back as itself; drift names each field", () => {
  const def = parseDefinitionYaml(GPU_YAML);
  const spec = toServiceSpec(def, 4);
  assert.equal(spec.Labels?.["fleet.catalog.version"], "4");
  assert.deepEqual(spec.TaskTemplate.Resources?.Reservations?.GenericResources, [
    { DiscreteResourceSpec: { Kind: "NVIDIA-GPU", Value: 1 } },
  ]);
  assert.equal(spec.TaskTemplate.Resources?.Limits?.NanoCPUs, 2_500_000_000);
  assert.deepEqual(spec.TaskTemplate.ContainerSpec.Mounts?.[1], {
    Type: "tmpfs",
    Target: "/dev/shm",
    ReadOnly: false,
    TmpfsOptions: { SizeBytes: 4294967296 },
  });
  const ids = (n: string) => n;
  assert.deepEqual(diffViews(definitionView(def), liveView(spec, ids)), []);

  // What an engine and a hand change do to the live spec.
  const live = structuredClone(spec);
  live.TaskTemplate.ContainerSpec.Image += "@sha256:" + "a".repeat(64);
  live.Labels!["com.docker.stack.namespace"] = "x";
  live.TaskTemplate.ContainerSpec.Env!.push("MODE=hand");
  live.Mode = { Replicated: { Replicas: 5 } };
  live.TaskTemplate.Placement = { Constraints: ["node.role == manager"] };
  assert.deepEqual(diffViews(definitionView(def), liveView(live, ids)), [
    { field: "replicas", catalog: 2, live: 5 },
    { field: "env.MODE", catalog: null, live: "hand" },
    {
      field: "constraints",
      catalog: ["node.hostname == agx-01"],
      live: ["node.role == manager"],
    },
  ]);
});

Deno.test("swarm: image references, compose files, .dockerignore", () => {
  assert.deepEqual(splitImage("127.0.0.1:5000/fleet/app:2"), {
    registry: "127.0.0.1:5000",
    path: "fleet/app",
    tag: "2",
  });
  assert.deepEqual(splitImage("nginx"), { registry: null, path: "nginx", tag: null });
  assert.deepEqual(splitImage("library/nginx:1@sha256:abc"), {
    registry: null,
    path: "library/nginx",
    tag: "1",
  });
  // Older CLIs read a file without a version as version 1: the hub adds one, and only then.
  assert.equal(
    checkCompose("services:\n  web:\n    image: x\n"),
    'version: "3.9"\nservices:\n  web:\n    image: x\n',
  );
  const v = "version: '3.8'\nservices:\n  web:\n    image: x\n";
  assert.equal(checkCompose(v), v);
  assert.throws(
    () => checkCompose("services:\n  web:\n    image: x\n  api:\n    image: y\n    build: .\n"),
    (e: BadInput) => /line 6: services\.api\.build: swarm ignores build/.test(e.message),
  );
  assert.throws(() => checkCompose("services:\n  web:\n    command: x\n"), /needs image/);

  const ignored = dockerIgnore("# comment\n*.log\nbuild/\n!keep.log\n**/tmp\n");
  assert.equal(ignored("a.log"), true);
  assert.equal(ignored("keep.log"), false);
  assert.equal(ignored("build/out/x"), true);
  assert.equal(ignored("src/deep/tmp"), true);
  assert.equal(ignored("src/main.ts"), false);
});

Deno.test("swarm build context: a tar the system's tar unpacks, ignores applied", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-ctx-" });
  const out = await Deno.makeTempDir({ prefix: "fleet-ctx-out-" });
  try {
    await Deno.mkdir(join(dir, "src/deep"), { recursive: true });
    await Deno.writeTextFile(join(dir, "Dockerfile"), "FROM scratch\n");
    await Deno.writeTextFile(join(dir, "src/deep/a.txt"), "x".repeat(70_000));
    await Deno.writeTextFile(join(dir, "debug.log"), "no");
    await Deno.writeTextFile(join(dir, ".dockerignore"), "*.log\n");
    const long = "d".repeat(90);
    await Deno.mkdir(join(dir, long, long), { recursive: true });
    await Deno.writeTextFile(join(dir, long, long, "f"), "deep");
    await Deno.symlink("src/deep/a.txt", join(dir, "link"));
    const tarFile = join(out, "ctx.tar");
    const f = await Deno.open(tarFile, { write: true, create: true });
    await tarDirectory(dir).pipeTo(f.writable);
    const x = await new Deno.Command("tar", { args: ["-xf", tarFile, "-C", out] }).output();
    assert.ok(x.success, new TextDecoder().decode(x.stderr));
    assert.equal((await Deno.readTextFile(join(out, "src/deep/a.txt"))).length, 70_000);
    assert.equal(await Deno.readTextFile(join(out, long, long, "f")), "deep");
    assert.equal(await Deno.readLink(join(out, "link")), "src/deep/a.txt");
    await assert.rejects(() => Deno.stat(join(out, "debug.log")));
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("swarm settings: the registry is an http(s) origin, the projects dir has a default", async () => {
  const ok = await loadHubConfig({ "swarm-registry": "http://10.0.0.10:5000/" }, {});
  assert.equal(ok.swarmRegistry, "http://10.0.0.10:5000");
  assert.equal(ok.swarmProjectsDir, "./projects");
  const env = await loadHubConfig({}, { FLEET_SWARM_PROJECTS_DIR: "/srv/p" });
  assert.equal(env.swarmProjectsDir, "/srv/p");
  await assert.rejects(
    () => loadHubConfig({ "swarm-registry": "10.0.0.10:5000" }, {}),
    /swarm registry .* is not a URL like http:\/\/192\.168\.1\.100:5000/,
  );
  await assert.rejects(
    () => loadHubConfig({ "swarm-registry": "http://10.0.0.10:5000/v2" }, {}),
    /not a URL/,
  );
});
