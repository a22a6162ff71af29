/**
 * bootstrap/: bootstrap-node.sh run for real (dry-run plans against a fake root and a stub
 * `docker`; the daemon.json merge and the fstab edit for real below FLEET_ROOT), shellcheck on the
 * scripts, the control-box stack file (parsed, checked, its bucket init run with a stub `mc`,
 * validated by `docker stack config` when the docker CLI is there), and `deno task dist`
 * (bootstrap/dist.ts): its helpers, the build pipeline with a stand-in denort, and the clear
 * message when denort cannot be downloaded. Missing tools (shellcheck, python3) skip loudly,
 * unless CI=true where they fail.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { findExecutable } from "../../agent/collect/sampler.ts";
import {
  AGENT_PERMISSIONS,
  chooseDenort,
  cleanDenoError,
  compileArgs,
  elfArch,
  HUB_PERMISSIONS,
  isDenortDownloadFailure,
  sha256File,
  sha256sumsLine,
  TARGETS,
} from "../../bootstrap/dist.ts";
import { AGENT_V8_FLAGS, HUB_V8_FLAGS } from "../../shared/runtime_flags.ts";

const CI = Deno.env.get("CI") === "true";
const ROOT = new URL("../../", import.meta.url).pathname;
const SCRIPT = join(ROOT, "bootstrap/bootstrap-node.sh");
const SHELLCHECK = findExecutable("shellcheck");
const PYTHON3 = findExecutable("python3");

function loudSkip(what: string, install: string): void {
  console.error(`\n!! SKIPPED ${what}\n!! Install with: ${install} (with CI=true this fails)\n`);
}
if (!SHELLCHECK && !CI) loudSkip("shellcheck of bootstrap/*.sh", "apt-get install -y shellcheck");
if (!PYTHON3 && !CI) loudSkip("the real daemon.json merge", "apt-get install -y python3");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], env: Record<string, string>): Promise<Run> {
  const r = await new Deno.Command(cmd, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    cwd: ROOT,
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** bootstrap-node.sh under `sh` (dash, as on JetPack) with only `env` (plus PATH/HOME). */
function bootstrap(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return run("sh", [SCRIPT, ...args], {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    ...env,
  });
}

const SKIP_ALL_BUT = (step: string): Record<string, string> =>
  Object.fromEntries(
    ["DOCKER", "DAEMON_JSON", "NFS", "MC", "PORTAINER", "SWARM", "AGENT"]
      .filter((s) => s !== step).map((s) => [`SKIP_${s}`, "1"]),
  );

/** A `docker` stand-in: answers the read-only probes, logs every call, refuses anything else. */
async function stubDocker(dir: string, swarm: string, portainer: string | null): Promise<string> {
  const path = join(dir, "docker");
  await Deno.writeTextFile(
    path,
    `#!/bin/sh
echo "$*" >> "${dir}/docker.calls"
case "$1" in
  --version) echo "Docker version 24.0.7, build stub" ;;
  info) echo "${swarm}" ;;
  inspect) ${
      portainer === null
        ? 'echo "Error: No such object: portainer_agent" >&2; exit 1'
        : `echo "${portainer}"`
    } ;;
  run|start|swarm) [ -n "${"$"}{STUB_ACCEPT:-}" ] || { echo "stub docker: refused: $*" >&2; exit 99; } ;;
  *) echo "stub docker: unexpected: $*" >&2; exit 99 ;;
esac
`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    out.push(e.name);
    if (e.isDirectory) {
      for (const sub of await listTree(join(dir, e.name))) out.push(`${e.name}/${sub}`);
    }
  }
  return out.sort();
}

const SECRETS = {
  SWARM_TOKEN: "SWMTKN-1-supersecretswarmtoken",
  TOKEN: "fce_supersecretenrollment",
  S3_SECRET_KEY: "minio-secret-value-123",
};

// --- bootstrap-node.sh ---------------------------------------------------------------------------

Deno.test("bootstrap-node.sh: -h prints the usage; an unknown option is an error (exit 2)", async () => {
  const help = await bootstrap({}, "-h");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: bootstrap-node\.sh \[options\]/);
  for (
    const v of [
      "SKIP_DOCKER",
      "SKIP_DAEMON_JSON",
      "SKIP_NFS",
      "SKIP_PORTAINER",
      "SKIP_SWARM",
      "SKIP_AGENT",
      "DRY_RUN",
      "FLEET_ROOT",
      "REGISTRY",
      "NVIDIA",
      "NFS_SERVER",
      "SWARM_TOKEN",
      "HUB",
      "TOKEN",
    ]
  ) {
    assert.ok(help.stdout.includes(v), `usage mentions ${v}`);
  }
  const bad = await bootstrap({ DRY_RUN: "1" }, "--frobnicate");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown option: --frobnicate/);
  assert.equal(bad.stdout, "");
  const missing = await bootstrap({ DRY_RUN: "1" }, "--hub");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--hub needs a value/);
});

Deno.test("bootstrap-node.sh: DRY_RUN on a fresh node prints the whole plan and changes nothing", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fleet-bootstrap-" });
  try {
    const root = join(tmp, "root");
    await Deno.mkdir(root);
    const r = await bootstrap({
      DRY_RUN: "1",
      FLEET_ROOT: root,
      DOCKER: join(tmp, "no-such-docker"), // docker is not installed
      REGISTRY: "10.0.0.10:5000",
      NVIDIA: "1",
      NFS_SERVER: "10.0.0.10",
      NFS_EXPORT: "/srv/models",
      S3_ENDPOINT: "http://10.0.0.10:9000",
      S3_ACCESS_KEY: "fleet",
      SWARM_MANAGER: "10.0.0.10",
      HUB: "http://10.0.0.10:8765/",
      ...SECRETS,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    const lines = out.split("\n");
    // One log line per step, in order.
    const steps = lines.filter((l) => l.startsWith("[bootstrap] step: ")).map((l) =>
      l.slice(18).split(" ")[0]
    );
    assert.deepEqual(steps, ["docker", "daemon.json", "nfs", "mc", "portainer", "swarm", "agent"]);
    const has = (re: RegExp) => assert.ok(lines.some((l) => re.test(l)), `${re} in:\n${out}`);
    // a. Docker CE from get.docker.com, only planned.
    has(
      /^\[bootstrap\] {3}docker is missing: installing Docker CE from https:\/\/get\.docker\.com$/,
    );
    has(/would run: (curl -fsSL -o|wget -q -O) \S+\/get-docker\.sh https:\/\/get\.docker\.com$/);
    has(/would run: sh \S+\/get-docker\.sh$/);
    has(/would run: systemctl enable --now docker$/);
    // b. daemon.json: the merged file is shown, not written; docker restart planned.
    has(/insecure-registries \+= 10\.0\.0\.10:5000$/);
    has(/default-runtime = nvidia$/);
    has(new RegExp(`would write ${root}/etc/docker/daemon\\.json:$`));
    const at = lines.findIndex((l) => l.includes("would write"));
    const shown = [];
    for (const l of lines.slice(at + 1)) {
      if (!l.startsWith("[bootstrap]     ")) break;
      shown.push(l.slice(16));
    }
    assert.deepEqual(JSON.parse(shown.join("\n")), {
      "insecure-registries": ["10.0.0.10:5000"],
      runtimes: { nvidia: { path: "nvidia-container-runtime", runtimeArgs: [] } },
      "default-runtime": "nvidia",
    });
    has(/would run: systemctl restart docker$/);
    // c. NFS: package, mount point, fstab line, mount.
    has(/would run: apt-get install -y nfs-common$/);
    has(new RegExp(`would create ${root}/mnt/models$`));
    has(
      new RegExp(
        `would add to ${root}/etc/fstab: 10\\.0\\.0\\.10:/srv/models /mnt/models nfs ` +
          `_netdev,nofail,noatime,x-systemd\\.automount,x-systemd\\.mount-timeout=30 0 0$`,
      ),
    );
    has(/would run: systemctl daemon-reload$/);
    has(/would run: mount \/mnt\/models$/);
    // mc: installed and aliased, the secret redacted.
    has(
      /would run: (curl -fsSL -o|wget -q -O) \/usr\/local\/bin\/mc\.new https:\/\/dl\.min\.io\/client\/mc\/release\/linux-(amd64|arm64)\/mc$/,
    );
    has(/would run: mc alias set fleet http:\/\/10\.0\.0\.10:9000 fleet <S3_SECRET_KEY>$/);
    // d. Portainer agent: the exact docker run.
    has(
      /would run: \S*docker run -d --name portainer_agent --restart=always --label fleet\.essential=true -p 9001:9001 -v \/var\/run\/docker\.sock:\/var\/run\/docker\.sock -v \/var\/lib\/docker\/volumes:\/var\/lib\/docker\/volumes portainer\/agent:2\.19\.4$/,
    );
    // e. Swarm join, manager port defaulted, token redacted.
    has(/would run: \S*docker swarm join --token <SWARM_TOKEN> 10\.0\.0\.10:2377$/);
    // f. Agent install through the hub's install.sh (downloaded, then run), token redacted.
    has(
      /would run: (curl -fsSL -o|wget -q -O) \S+\/install\.sh http:\/\/10\.0\.0\.10:8765\/install\.sh$/,
    );
    has(/would run: sh \S+\/install\.sh --token <TOKEN>$/);
    has(/^\[bootstrap\] done \(dry run: nothing was changed\)$/);
    // Secrets never printed; nothing written below the root.
    for (const secret of Object.values(SECRETS)) {
      assert.ok(!out.includes(secret) && !r.stderr.includes(secret), `secret ${secret} leaked`);
    }
    assert.deepEqual(await listTree(root), []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("bootstrap-node.sh: DRY_RUN on a prepared node finds every step done (idempotent)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fleet-bootstrap-" });
  try {
    const root = join(tmp, "root");
    const daemonJson = JSON.stringify(
      {
        "insecure-registries": ["10.0.0.10:5000"],
        runtimes: { nvidia: { path: "nvidia-container-runtime", runtimeArgs: [] } },
        "default-runtime": "nvidia",
      },
      null,
      4,
    ) + "\n";
    const files: Record<string, string> = {
      "etc/docker/daemon.json": daemonJson,
      "etc/fstab": "# <fs> <mount> <type>\n10.0.0.10:/srv/models /mnt/models nfs defaults 0 0\n",
      "proc/mounts": "10.0.0.10:/srv/models /mnt/models nfs4 rw,relatime 0 0\n",
      "etc/fleet/agent.yml": "hub: http://10.0.0.10:8765\n",
      "sbin/mount.nfs": "#!/bin/sh\n",
    };
    for (const [rel, text] of Object.entries(files)) {
      await Deno.mkdir(join(root, rel, ".."), { recursive: true });
      await Deno.writeTextFile(join(root, rel), text);
    }
    await Deno.chmod(join(root, "sbin/mount.nfs"), 0o755);
    await Deno.mkdir(join(root, "mnt/models"), { recursive: true });
    const docker = await stubDocker(tmp, "active", "true");
    const before = await listTree(root);
    const r = await bootstrap({
      DRY_RUN: "1",
      FLEET_ROOT: root,
      DOCKER: docker,
      REGISTRY: "10.0.0.10:5000",
      NFS_SERVER: "10.0.0.10",
      NFS_EXPORT: "/srv/models",
      SWARM_MANAGER: "10.0.0.10:2377",
      HUB: "http://10.0.0.10:8765",
      ...SECRETS,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!/would (run|write|create|add)/.test(r.stdout), r.stdout);
    for (
      const re of [
        /docker is installed \(Docker version 24\.0\.7, build stub\): nothing to do/,
        /insecure-registries already has 10\.0\.0\.10:5000/,
        /default-runtime is already nvidia/,
        /daemon\.json unchanged: docker is not restarted/,
        /etc\/fstab already mounts 10\.0\.0\.10:\/srv\/models on \/mnt\/models/,
        /\/mnt\/models is mounted/,
        /S3_ENDPOINT not set: nothing to do/,
        /portainer_agent is running: nothing to do/,
        /already in a swarm \(state: active\): nothing to do/,
        /agent\.yml exists: the agent is enrolled/,
      ]
    ) assert.match(r.stdout, re);
    // Only read-only docker calls were made.
    const calls = (await Deno.readTextFile(join(tmp, "docker.calls"))).trim().split("\n");
    assert.deepEqual(calls, [
      "--version",
      "inspect --type container -f {{.State.Running}} portainer_agent",
      "info --format {{.Swarm.LocalNodeState}}",
    ]);
    assert.deepEqual(await listTree(root), before);
    assert.equal(await Deno.readTextFile(join(root, "etc/docker/daemon.json")), daemonJson);

    // A stopped agent container is started; a node outside the swarm joins; skips are honoured.
    const docker2 = await stubDocker(tmp, "inactive", "false");
    const r2 = await bootstrap({
      DRY_RUN: "1",
      FLEET_ROOT: root,
      DOCKER: docker2,
      SWARM_MANAGER: "10.0.0.10",
      SWARM_ADVERTISE_ADDR: "10.0.0.21",
      SKIP_AGENT: "1",
      SKIP_NFS: "1",
      ...SECRETS,
    });
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /would run: \S+docker start portainer_agent\n/);
    assert.match(
      r2.stdout,
      /would run: \S+docker swarm join --advertise-addr 10\.0\.0\.21 --token <SWARM_TOKEN> 10\.0\.0\.10:2377\n/,
    );
    assert.match(r2.stdout, /step: nfs[^\n]*\n\[bootstrap\] {3}skipped \(SKIP_NFS=1\)\n/);
    assert.match(r2.stdout, /step: agent[^\n]*\n\[bootstrap\] {3}skipped \(SKIP_AGENT=1\)\n/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test({
  name:
    "bootstrap-node.sh: for real (no DRY_RUN, no FLEET_ROOT) the docker steps run their commands",
  // Without FLEET_ROOT the script insists on root; only the stub docker is ever invoked here.
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "fleet-bootstrap-" });
    try {
      const docker = await stubDocker(tmp, "inactive", null);
      const r = await bootstrap({
        SKIP_DOCKER: "1",
        SKIP_DAEMON_JSON: "1",
        SKIP_NFS: "1",
        SKIP_MC: "1",
        SKIP_AGENT: "1",
        DOCKER: docker,
        STUB_ACCEPT: "1",
        PORTAINER_AGENT_IMAGE: "10.0.0.10:5000/portainer/agent:2.19.4",
        SWARM_MANAGER: "10.0.0.10:2377",
        SWARM_TOKEN: SECRETS.SWARM_TOKEN,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /\[bootstrap\] {3}run: \S+docker swarm join --token <SWARM_TOKEN> 10\.0\.0\.10:2377\n/,
      );
      assert.ok(!r.stdout.includes(SECRETS.SWARM_TOKEN));
      const calls = (await Deno.readTextFile(join(tmp, "docker.calls"))).trim().split("\n");
      assert.deepEqual(calls, [
        "inspect --type container -f {{.State.Running}} portainer_agent",
        "run -d --name portainer_agent --restart=always --label fleet.essential=true -p 9001:9001 " +
        "-v /var/run/docker.sock:/var/run/docker.sock -v /var/lib/docker/volumes:/var/lib/docker/volumes " +
        "10.0.0.10:5000/portainer/agent:2.19.4",
        "info --format {{.Swarm.LocalNodeState}}",
        `swarm join --token ${SECRETS.SWARM_TOKEN} 10.0.0.10:2377`,
      ]);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "bootstrap-node.sh: daemon.json merge for real keeps other keys, adds once, backs up",
  ignore: !PYTHON3 && !CI,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "fleet-bootstrap-" });
    try {
      const root = join(tmp, "root");
      const file = join(root, "etc/docker/daemon.json");
      await Deno.mkdir(join(root, "etc/docker"), { recursive: true });
      const original = '{"log-driver":"json-file","insecure-registries":["a:1"]}\n';
      await Deno.writeTextFile(file, original);
      const env = {
        ...SKIP_ALL_BUT("DAEMON_JSON"),
        FLEET_ROOT: root,
        REGISTRY: "10.0.0.10:5000",
        NVIDIA: "1",
      };

      const first = await bootstrap(env);
      assert.equal(first.code, 0, first.stderr);
      const merged = JSON.parse(await Deno.readTextFile(file));
      assert.deepEqual(merged, {
        "log-driver": "json-file",
        "insecure-registries": ["a:1", "10.0.0.10:5000"],
        runtimes: { nvidia: { path: "nvidia-container-runtime", runtimeArgs: [] } },
        "default-runtime": "nvidia",
      });
      assert.equal(await Deno.readTextFile(`${file}.bak`), original);
      assert.match(first.stdout, /backup: \S+daemon\.json\.bak/);
      // Below FLEET_ROOT the host's docker is never restarted: the restart is only printed.
      assert.match(first.stdout, /would run: systemctl restart docker\n/);

      // Run twice → the same file, no restart.
      const bytes = await Deno.readTextFile(file);
      const second = await bootstrap(env);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(await Deno.readTextFile(file), bytes);
      assert.equal(await Deno.readTextFile(`${file}.bak`), original);
      assert.match(second.stdout, /daemon\.json unchanged: docker is not restarted/);
      assert.ok(!second.stdout.includes("restart docker"), second.stdout);

      // NVIDIA=auto on a node without the nvidia runtime: registry only, no default-runtime.
      await Deno.writeTextFile(file, original);
      const auto = await bootstrap({ ...env, NVIDIA: "auto" });
      assert.equal(auto.code, 0, auto.stderr);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), {
        "log-driver": "json-file",
        "insecure-registries": ["a:1", "10.0.0.10:5000"],
      });
      assert.match(auto.stdout, /no nvidia runtime on this node/);

      // NVIDIA=auto where the runtime is configured (JetPack's stock file): default-runtime set,
      // the runtime definition kept as it was; an explicit other default-runtime is kept.
      const jetpack = {
        runtimes: { nvidia: { path: "/usr/bin/nvidia-container-runtime", runtimeArgs: [] } },
      };
      await Deno.writeTextFile(file, JSON.stringify(jetpack));
      assert.equal((await bootstrap({ ...env, NVIDIA: "auto" })).code, 0);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), {
        ...jetpack,
        "insecure-registries": ["10.0.0.10:5000"],
        "default-runtime": "nvidia",
      });
      await Deno.writeTextFile(file, JSON.stringify({ ...jetpack, "default-runtime": "runc" }));
      const kept = await bootstrap({ ...env, NVIDIA: "auto", REGISTRY: "" });
      assert.equal(kept.code, 0, kept.stderr);
      assert.equal(JSON.parse(await Deno.readTextFile(file))["default-runtime"], "runc");
      assert.match(kept.stdout, /default-runtime is runc: kept/);

      // A missing file is created; a broken one is refused and left alone.
      await Deno.remove(file);
      await Deno.remove(`${file}.bak`);
      assert.equal((await bootstrap(env)).code, 0);
      assert.equal(JSON.parse(await Deno.readTextFile(file))["default-runtime"], "nvidia");
      await Deno.writeTextFile(file, "{not json");
      const broken = await bootstrap(env);
      assert.equal(broken.code, 1);
      assert.match(broken.stderr, /is not valid JSON/);
      assert.equal(await Deno.readTextFile(file), "{not json");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("bootstrap-node.sh: the NFS fstab line is added once, the mount point created", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fleet-bootstrap-" });
  try {
    const root = join(tmp, "root");
    await Deno.mkdir(join(root, "etc"), { recursive: true });
    await Deno.writeTextFile(join(root, "etc/fstab"), "UUID=abc / ext4 defaults 0 1\n");
    const env = { ...SKIP_ALL_BUT("NFS"), FLEET_ROOT: root, NFS_SERVER: "10.0.0.10" };
    for (let i = 0; i < 2; i++) {
      const r = await bootstrap(env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /would run: mount \/mnt\/models\n/);
      // systemd re-reads fstab only when the line was just added.
      assert.equal(r.stdout.includes("would run: systemctl daemon-reload"), i === 0, r.stdout);
    }
    const fstab = await Deno.readTextFile(join(root, "etc/fstab"));
    assert.equal(
      fstab,
      "UUID=abc / ext4 defaults 0 1\n10.0.0.10:/srv/models /mnt/models nfs " +
        "_netdev,nofail,noatime,x-systemd.automount,x-systemd.mount-timeout=30 0 0\n",
    );
    assert.ok((await Deno.stat(join(root, "mnt/models"))).isDirectory);
    // Another source already on the mount point: warned about, not changed.
    const other = await bootstrap({ ...env, NFS_SERVER: "10.9.9.9" });
    assert.equal(other.code, 0);
    assert.match(
      other.stderr,
      /mounts 10\.0\.0\.10:\/srv\/models on \/mnt\/models, not 10\.9\.9\.9/,
    );
    assert.equal(await Deno.readTextFile(join(root, "etc/fstab")), fstab);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

// --- shellcheck ----------------------------------------------------------------------------------

/** The shell script of the stack's minio-init service, as the container runs it. */
async function minioInitScript(): Promise<string> {
  const stack = parse(await Deno.readTextFile(join(ROOT, "bootstrap/stack.yml")));
  const command = stack.services["minio-init"].command;
  assert.ok(Array.isArray(command) && command.length === 1);
  return command[0].replaceAll("$$", "$"); // compose's escape for a literal $
}

Deno.test({
  name: "shellcheck: bootstrap/*.sh and the stack's minio-init script are clean",
  ignore: !SHELLCHECK && !CI,
  fn: async () => {
    assert.ok(SHELLCHECK, "shellcheck is not installed (apt-get install -y shellcheck)");
    const scripts = [...Deno.readDirSync(join(ROOT, "bootstrap"))]
      .filter((e) => e.isFile && e.name.endsWith(".sh")).map((e) => `bootstrap/${e.name}`).sort();
    assert.ok(scripts.includes("bootstrap/bootstrap-node.sh"));
    const r = await run(SHELLCHECK, scripts, { PATH: Deno.env.get("PATH") ?? "" });
    assert.equal(r.code, 0, `shellcheck ${scripts.join(" ")}:\n${r.stdout}${r.stderr}`);
    const init = join(await Deno.makeTempDir({ prefix: "fleet-shellcheck-" }), "minio-init.sh");
    await Deno.writeTextFile(init, await minioInitScript());
    const r2 = await run(SHELLCHECK, ["-s", "sh", init], { PATH: Deno.env.get("PATH") ?? "" });
    await Deno.remove(join(init, ".."), { recursive: true });
    assert.equal(r2.code, 0, `shellcheck minio-init:\n${r2.stdout}`);
  },
});

// --- stack.yml -----------------------------------------------------------------------------------

const BUCKETS = ["fleet-backups", "fleet-configs", "fleet-models", "fleet-artifacts", "fleet-logs"];

Deno.test("stack.yml: valid compose 3.8 with every control-box service, secrets never inline", async () => {
  const stack = parse(await Deno.readTextFile(join(ROOT, "bootstrap/stack.yml")));
  assert.equal(stack.version, "3.8");
  const services = stack.services as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(services).sort(), [
    "cloudflared",
    "minio",
    "minio-init",
    "portainer",
    "portainer-agent",
    "registry",
    "traefik",
  ]);
  const image = (s: string) => String(services[s].image);
  assert.match(image("portainer"), /^portainer\/portainer-ce:\d/);
  assert.match(image("portainer-agent"), /^portainer\/agent:\d/);
  assert.equal(image("portainer").split(":")[1], image("portainer-agent").split(":")[1]);
  assert.match(image("traefik"), /^traefik:v2\./);
  assert.match(image("cloudflared"), /^cloudflare\/cloudflared:/);
  assert.match(image("registry"), /^registry:2/);
  assert.match(image("minio"), /^minio\/minio:RELEASE\./);
  assert.match(image("minio-init"), /^minio\/mc:RELEASE\./);

  // Portainer agent on every node.
  assert.equal((services["portainer-agent"].deploy as { mode: string }).mode, "global");
  // Traefik: dashboard off, swarm provider, routes to portainer, minio and (file) fleet-hub.
  const traefikArgs = services.traefik.command as string[];
  assert.ok(traefikArgs.includes("--api.dashboard=false"));
  assert.ok(!traefikArgs.some((a) => a.startsWith("--api.insecure")));
  assert.ok(traefikArgs.includes("--providers.docker.swarmMode=true"));
  const labels = (s: string) => ((services[s].deploy as { labels?: string[] }).labels ?? []);
  assert.ok(labels("portainer").some((l) => /routers\.portainer\.rule=Host\(`portainer\./.test(l)));
  assert.ok(labels("minio").some((l) => /routers\.minio-console\.rule=Host\(`minio\./.test(l)));
  const hubRoute = parse(await Deno.readTextFile(join(ROOT, "bootstrap/traefik/fleet-hub.yml")));
  assert.equal(hubRoute.http.routers["fleet-hub"].service, "fleet-hub");
  assert.match(hubRoute.http.services["fleet-hub"].loadBalancer.servers[0].url, /FLEET_HUB_URL/);
  assert.equal(stack.configs.traefik_fleet_hub.file, "./traefik/fleet-hub.yml");
  // Registry on 5000 with a volume.
  const reg = services.registry as {
    ports: { target: number; published: number }[];
    volumes: string[];
  };
  assert.ok(reg.ports.some((p) => p.target === 5000 && p.published === 5000));
  assert.ok(reg.volumes.some((v) => v.endsWith(":/var/lib/registry")));
  assert.ok("registry_data" in stack.volumes);
  // cloudflared's token comes from a secret.
  assert.equal(
    (services.cloudflared.environment as Record<string, string>).TUNNEL_TOKEN_FILE,
    "/run/secrets/cloudflared_token",
  );

  // MinIO buckets.
  const initEnv = services["minio-init"].environment as Record<string, string>;
  assert.deepEqual(initEnv.BUCKETS.split(/\s+/), BUCKETS);
  assert.equal(
    (services["minio-init"].deploy as { restart_policy: { condition: string } }).restart_policy
      .condition,
    "on-failure",
  );

  // Credentials: only as secrets (every secret external) or *_FILE paths, never a value.
  for (
    const [name, def] of Object.entries(stack.secrets as Record<string, { external?: boolean }>)
  ) {
    assert.equal(def.external, true, `secret ${name} is external`);
  }
  for (const [name, svc] of Object.entries(services)) {
    const env = (svc.environment ?? {}) as Record<string, string>;
    for (const [key, value] of Object.entries(env)) {
      if (/PASSWORD|SECRET|TOKEN|ACCESS_KEY|ROOT_USER/.test(key)) {
        assert.match(key, /_FILE$/, `${name}: ${key} must come from a secret file`);
        assert.match(String(value), /^\/run\/secrets\//, `${name}: ${key}`);
      }
    }
    for (const s of (svc.secrets ?? []) as string[]) assert.ok(s in stack.secrets, `${name}: ${s}`);
  }
  const text = await Deno.readTextFile(join(ROOT, "bootstrap/stack.yml"));
  assert.ok(!/(password|secret|token)\s*[:=]\s*["']?[A-Za-z0-9]{12,}/i.test(text));
});

Deno.test("stack.yml: minio-init waits for MinIO and creates the five buckets (stub mc)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "fleet-minio-init-" });
  try {
    await Deno.writeTextFile(join(tmp, "minio_root_user"), "admin");
    await Deno.writeTextFile(join(tmp, "minio_root_password"), "pw");
    // mc stand-in: the alias fails twice (MinIO still starting), then everything succeeds.
    await Deno.writeTextFile(
      join(tmp, "mc"),
      `#!/bin/sh
echo "$*" >> "${tmp}/mc.calls"
if [ "$1" = alias ]; then
  n=$(cat "${tmp}/tries" 2>/dev/null || echo 0); echo $((n + 1)) > "${tmp}/tries"
  [ "$n" -ge 2 ] || exit 1
fi
exit 0
`,
    );
    await Deno.chmod(join(tmp, "mc"), 0o755);
    const script = (await minioInitScript()).replaceAll("/run/secrets/", `${tmp}/`)
      .replace("sleep 2", "sleep 0");
    const stack = parse(await Deno.readTextFile(join(ROOT, "bootstrap/stack.yml")));
    const r = await run("sh", ["-c", script], {
      PATH: `${tmp}:${Deno.env.get("PATH")}`,
      ...stack.services["minio-init"].environment,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const calls = (await Deno.readTextFile(join(tmp, "mc.calls"))).trim().split("\n");
    assert.deepEqual(calls, [
      "alias set fleet http://minio:9000 admin pw",
      "alias set fleet http://minio:9000 admin pw",
      "alias set fleet http://minio:9000 admin pw",
      ...BUCKETS.map((b) => `mb --ignore-existing fleet/${b}`),
      "ls fleet",
    ]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

const DOCKER_CLI = findExecutable("docker");
Deno.test({
  name: "stack.yml: `docker stack config` accepts it (compose schema of the docker CLI)",
  ignore: !DOCKER_CLI && !CI,
  fn: async () => {
    assert.ok(DOCKER_CLI, "docker CLI missing (apt-get install -y docker.io)");
    const home = await Deno.makeTempDir({ prefix: "fleet-docker-home-" });
    try {
      const r = await run(DOCKER_CLI, ["stack", "config", "-c", "bootstrap/stack.yml"], {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: home,
        FLEET_DOMAIN: "fleet.test",
      });
      assert.equal(r.code, 0, r.stderr);
      const cfg = parse(r.stdout);
      assert.deepEqual(
        cfg.services.portainer.deploy.labels["traefik.http.routers.portainer.rule"],
        "Host(`portainer.fleet.test`)",
      );
      assert.match(cfg.services["minio-init"].command[0], /for bucket in \$BUCKETS; do/);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

// --- dist ----------------------------------------------------------------------------------------

Deno.test("dist: targets, compile arguments, denort choice, checksums", async () => {
  assert.deepEqual(TARGETS.map((t) => `${t.name} ${t.triple} ${t.entry}`), [
    "fleet-hub-linux-amd64 x86_64-unknown-linux-gnu hub/main.ts",
    "fleet-hub-linux-arm64 aarch64-unknown-linux-gnu hub/main.ts",
    "fleet-agent-linux-arm64 aarch64-unknown-linux-gnu agent/main.ts",
    "fleet-agent-linux-amd64 x86_64-unknown-linux-gnu agent/main.ts",
  ]);
  const hub = compileArgs(TARGETS[1], "/out/fleet-hub-linux-arm64");
  assert.deepEqual(hub, [
    "compile",
    "--frozen",
    "--target",
    "aarch64-unknown-linux-gnu",
    "--output",
    "/out/fleet-hub-linux-arm64",
    `--v8-flags=${HUB_V8_FLAGS}`,
    ...HUB_PERMISSIONS,
    "--include",
    "hub/core/writer_worker.ts",
    "--include",
    "hub/fleet/parse_worker.ts",
    "hub/main.ts",
  ]);
  assert.ok(!hub.includes("--no-check") && !hub.includes("--allow-all"));
  assert.ok(compileArgs(TARGETS[2], "x").includes(`--v8-flags=${AGENT_V8_FLAGS}`));
  assert.deepEqual(AGENT_PERMISSIONS, ["--allow-all"]);

  const elf = (machine: number) => {
    const b = new Uint8Array(64);
    b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
    b[18] = machine;
    return b;
  };
  assert.equal(elfArch(elf(0x3e)), "amd64");
  assert.equal(elfArch(elf(0xb7)), "arm64");
  assert.equal(elfArch(elf(0x28)), "other");
  assert.equal(elfArch(new TextEncoder().encode("#!/bin/sh\necho not elf\n")), undefined);

  const tmp = await Deno.makeTempDir({ prefix: "fleet-dist-" });
  try {
    const amd = join(tmp, "denort-amd64");
    const arm = join(tmp, "denort-arm64");
    await Deno.writeFile(amd, elf(0x3e));
    await Deno.writeFile(arm, elf(0xb7));
    const [hubAmd, hubArm] = TARGETS;
    assert.deepEqual(chooseDenort(hubAmd, {}), {});
    assert.deepEqual(chooseDenort(hubAmd, { DENORT_BIN: amd }), { path: amd });
    assert.match(
      chooseDenort(hubArm, { DENORT_BIN: amd }).error!,
      /built for amd64.*DENORT_BIN_ARM64/,
    );
    assert.deepEqual(chooseDenort(hubArm, { DENORT_BIN: amd, DENORT_BIN_ARM64: arm }), {
      path: arm,
    });
    assert.match(
      chooseDenort(hubArm, { DENORT_BIN_ARM64: amd }).error!,
      /built for amd64, not arm64/,
    );
    assert.match(chooseDenort(hubAmd, { DENORT_BIN: join(tmp, "nope") }).error!, /cannot be read/);
    await Deno.writeTextFile(join(tmp, "script"), "#!/bin/sh\n");
    assert.match(chooseDenort(hubAmd, { DENORT_BIN: join(tmp, "script") }).error!, /not an ELF/);

    await Deno.writeTextFile(join(tmp, "abc"), "abc");
    assert.equal(
      sha256sumsLine(await sha256File(join(tmp, "abc")), "abc"),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  abc",
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }

  const deno = "error: Writing deno compile executable to temporary file 'x'\n\nCaused by:\n" +
    "    0: Setting up base binary.\n    1: error sending request for url " +
    "(https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): dns error\n\n" +
    "Stack backtrace:\n   0: <unknown>\n";
  assert.ok(isDenortDownloadFailure(deno));
  assert.ok(!isDenortDownloadFailure("error: TS2304 [ERROR]: Cannot find name 'x'."));
  assert.ok(!cleanDenoError(deno).includes("Stack backtrace"));
});

/** An environment in which dl.deno.land cannot be reached: every HTTPS request goes to a closed
 * loopback port (the same failure as a missing route, on any machine). */
function offlineEnv(): Record<string, string> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const env = Deno.env.toObject();
  for (const k of Object.keys(env)) {
    if (/^(DENORT_BIN.*|no_proxy|NO_PROXY)$/.test(k)) delete env[k];
  }
  return {
    ...env,
    HTTPS_PROXY: `http://127.0.0.1:${port}`,
    https_proxy: `http://127.0.0.1:${port}`,
    NO_COLOR: "1",
  };
}

Deno.test("dist: without denort and without dl.deno.land, a clear message and exit 1", async () => {
  const out = await Deno.makeTempDir({ prefix: "fleet-dist-" });
  try {
    const r = await run(
      Deno.execPath(),
      [
        "run",
        "--allow-all",
        "bootstrap/dist.ts",
        "--target",
        "fleet-agent-linux-amd64",
        "--out-dir",
        out,
      ],
      offlineEnv(),
    );
    if (r.code === 0) {
      console.error(
        "\n!! SKIPPED the 'denort unreachable' assertion: deno compile found denort without the " +
          "network (cached in DENO_DIR)\n",
      );
      return;
    }
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^\[dist 1\/1\] fleet-agent-linux-amd64 … failed$/m);
    assert.match(
      r.stderr,
      /^deno compile needs the denort runtime for fleet-agent-linux-amd64 \(denort-x86_64-unknown-linux-gnu\.zip of Deno [\d.]+\), which it downloads from dl\.deno\.land; that host is unreachable from here/m,
    );
    assert.match(r.stderr, /Set DENORT_BIN=\/path\/to\/denort/);
    assert.match(r.stderr, /or run `deno task dist` where dl\.deno\.land is reachable\.$/m);
    assert.ok(!/Stack backtrace|^\s+at /m.test(r.stderr), `no stack trace:\n${r.stderr}`);
    assert.deepEqual([...Deno.readDirSync(out)], [], "nothing written");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("dist: with a local denort it builds, reports, and writes SHA256SUMS", async () => {
  // Any ELF executable of this machine's architecture stands in for denort: deno compile appends
  // the program to it. (It does not run the program, so the run check is off here; the same
  // stand-in with the check on is refused and removed.)
  const host = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  const name = `fleet-agent-linux-${host}`;
  const out = await Deno.makeTempDir({ prefix: "fleet-dist-" });
  try {
    const env = { ...offlineEnv(), DENORT_BIN: "/bin/true" };
    const args = ["run", "--allow-all", "bootstrap/dist.ts", "--target", name, "--out-dir", out];
    const r = await run(Deno.execPath(), [...args, "--no-run-check"], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^\\[dist 1/1\\] ${name} … ok \\d+ MB in [\\d.]+ s$`, "m"));
    const sums = await Deno.readTextFile(join(out, "SHA256SUMS"));
    assert.equal(sums, `${await sha256File(join(out, name))}  ${name}\n`);
    assert.match(sums, /^[0-9a-f]{64} {2}fleet-agent-linux-(amd64|arm64)\n$/);

    const checked = await run(Deno.execPath(), args, env);
    assert.equal(checked.code, 1);
    assert.match(checked.stderr, /was built, but .* version' answered "" instead of "fleet-agent /);
    assert.ok(!(await Deno.stat(join(out, name)).then(() => true, () => false)), "removed");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("bootstrap/systemd holds exactly the units fleet-agent install writes", async () => {
  const { agentUnit, recoveryUnit } = await import("../../agent/units.ts");
  const dir = new URL("../../bootstrap/systemd/", import.meta.url);
  assert.equal(await Deno.readTextFile(new URL("fleet-agent.service", dir)), agentUnit());
  assert.equal(await Deno.readTextFile(new URL("fleet-recovery.service", dir)), recoveryUnit());
});
