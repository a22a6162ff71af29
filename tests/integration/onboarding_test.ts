/**
 * Onboarding: enrollment tokens work once and expire; `curl …/install.sh | sh` installs a
 * checksum-verified agent (a stand-in that runs the agent from source, since compiled binaries
 * cannot be built here) below a test root, enrolls it, writes agent.yml (0600) and both units;
 * a tampered binary is refused; the enrolled agent then pushes and shows online.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hubCli, ROOT, startHub } from "../helpers/hub.ts";
import { Child, waitFor } from "../helpers/process.ts";
import { SseClient } from "../helpers/sse.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import { AGENT_V8_FLAGS } from "../../shared/runtime_flags.ts";
import { agentUnit, recoveryUnit } from "../../agent/units.ts";
import { findExecutable } from "../../agent/collect/sampler.ts";

const CI = Deno.env.get("CI") === "true";

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A dist dir whose "binary" runs the agent from source, with its SHA256SUMS. */
async function standInDist(dir: string): Promise<string> {
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  const name = `fleet-agent-linux-${arch}`;
  await Deno.writeTextFile(
    join(dir, name),
    `#!/bin/sh\nexec "${Deno.execPath()}" run --allow-all --v8-flags=${AGENT_V8_FLAGS} "${
      join(ROOT, "agent/main.ts")
    }" "$@"\n`,
    { mode: 0o755 },
  );
  await Deno.writeTextFile(join(dir, "SHA256SUMS"), `${await sha256(join(dir, name))}  ${name}\n`);
  return name;
}

async function sh(script: string, env: Record<string, string> = {}) {
  const o = await new Deno.Command("sh", { args: ["-c", script], env, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

Deno.test("enrollment: a token works once, expires, and garbage is refused", async () => {
  const hub = await startHub();
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  try {
    const made = await hubCli([
      "token",
      "create",
      "--kind",
      "enrollment",
      "--name",
      "agx-07",
      "--data-dir",
      hub.dataDir,
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^fce_/);
    const api = new ApiClient({ hub: hub.url });
    const body = { token: made.stdout, hostname: "agx-07.lan", arch: "aarch64" };
    const enrolled = await api.enroll(body);
    assert.equal(enrolled.node_id, "agx-07");
    assert.match(enrolled.token, /^fcn_/);
    // The node token works for this node only; the node shows as pending until its first sample.
    assert.equal(
      (await new ApiClient({ hub: hub.url, token: enrolled.token }).self()).node_id,
      "agx-07",
    );
    assert.equal((await hub.admin.node("agx-07")).status, "pending");
    await sse.next((e) => e.event === "node.added" && JSON.parse(e.data).node.id === "agx-07");

    await assert.rejects(
      () => api.enroll(body),
      (e: unknown) => e instanceof ApiError && e.status === 409 && /already used/.test(e.message),
    );
    await assert.rejects(
      () => api.enroll({ ...body, token: "fce_garbage" }),
      (e: unknown) => e instanceof ApiError && e.status === 401,
    );
    await assert.rejects(
      () => api.enroll({ ...body, token: hub.adminToken }),
      (e: unknown) => e instanceof ApiError && e.status === 401,
    );
    const short = await hubCli([
      "token",
      "create",
      "--kind",
      "enrollment",
      "--name",
      "agx-08",
      "--ttl",
      "1s",
      "--data-dir",
      hub.dataDir,
    ]);
    await new Promise((r) => setTimeout(r, 1200));
    await assert.rejects(
      () => api.enroll({ ...body, token: short.stdout }),
      (e: unknown) => e instanceof ApiError && e.status === 401 && /expired/.test(e.message),
    );
    assert.ok(
      hub.child.logs().some((l) => l.msg === "enrollment refused: token already used"),
      "reuse is logged",
    );
    // An enrollment token is not an API credential.
    const other = await hubCli([
      "token",
      "create",
      "--kind",
      "enrollment",
      "--data-dir",
      hub.dataDir,
    ]);
    await assert.rejects(
      () => new ApiClient({ hub: hub.url, token: other.stdout }).fleet(),
      (e: unknown) => e instanceof ApiError && e.status === 403,
    );
  } finally {
    await sse.close();
    await hub.stop();
  }
});

Deno.test("install.sh: verified download, enrollment, agent.yml 0600, units; tampering refused; node online", async () => {
  const work = await Deno.makeTempDir({ prefix: "fleet-onboard-" });
  const dist = join(work, "dist");
  await Deno.mkdir(dist);
  const binary = await standInDist(dist);
  const hub = await startHub({ args: ["--dist-dir", dist] });
  let agent: Child | undefined;
  try {
    // Public routes: no token needed for the script and the files, traversal refused.
    const script = await (await fetch(`${hub.url}/install.sh`)).text();
    assert.ok(script.startsWith("#!/bin/sh") && script.includes(`HUB='${hub.url}'`));
    const traversal = await fetch(`${hub.url}/dist/..%2Ffleet.db`);
    assert.equal(traversal.status, 404);
    await traversal.body?.cancel();

    const token = (await hubCli([
      "token",
      "create",
      "--kind",
      "enrollment",
      "--name",
      "edge-9",
      "--data-dir",
      hub.dataDir,
    ])).stdout;
    const root = join(work, "root");
    const r = await sh(
      `curl -fsSL ${hub.url}/install.sh | sh -s -- --token ${token} --root ${root} --no-systemctl`,
    );
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /checksum ok/);
    assert.equal(
      await sha256(join(root, "usr/local/bin/fleet-agent")),
      await sha256(join(dist, binary)),
    );
    const configPath = join(root, "etc/fleet/agent.yml");
    assert.equal((await Deno.stat(configPath)).mode! & 0o777, 0o600);
    const config = await Deno.readTextFile(configPath);
    assert.match(config, /node_id: edge-9/);
    assert.match(config, /token: fcn_/);
    assert.equal(
      await Deno.readTextFile(join(root, "etc/systemd/system/fleet-agent.service")),
      agentUnit(),
    );
    assert.equal(
      await Deno.readTextFile(join(root, "etc/systemd/system/fleet-recovery.service")),
      recoveryUnit(),
    );

    // Running install again keeps the node token (the enrollment token is spent).
    const again = await sh(
      `${
        join(root, "usr/local/bin/fleet-agent")
      } install --hub ${hub.url} --token ${token} --root ${root} --no-systemctl`,
    );
    assert.equal(again.code, 0, again.err);
    assert.equal(await Deno.readTextFile(configPath), config);

    // A tampered binary is refused and nothing is installed.
    await Deno.writeTextFile(join(dist, binary), "\n# tampered", { append: true });
    const root2 = join(work, "root2");
    const bad = await sh(
      `curl -fsSL ${hub.url}/install.sh | sh -s -- --token ${token} --root ${root2} --no-systemctl`,
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /checksum mismatch/);
    assert.ok(
      !(await Deno.stat(join(root2, "usr/local/bin/fleet-agent")).then(() => true, () => false)),
    );
    const noToken = await sh(`curl -fsSL ${hub.url}/install.sh | sh -s --`);
    assert.match(noToken.err, /no token/);

    // The installed agent runs with the written config and the node goes online.
    agent = new Child(join(root, "usr/local/bin/fleet-agent"), [
      "run",
      "--config",
      configPath,
      "--state-dir",
      join(root, "var/lib/fleet-agent"),
      "--interval",
      "500ms",
      "--tegrastats",
      "off",
      "--nvidia-smi",
      "off",
      "--docker-socket",
      "off",
    ]);
    await waitFor(
      async () => (await hub.admin.node("edge-9")).status === "online",
      "edge-9 online",
    );

    // Uninstall removes units and config.
    await agent.stop();
    agent = undefined;
    const un = await sh(
      `${join(root, "usr/local/bin/fleet-agent")} uninstall --root ${root} --no-systemctl`,
    );
    assert.equal(un.code, 0, un.err);
    assert.ok(!(await Deno.stat(configPath).then(() => true, () => false)));
  } finally {
    await agent?.stop();
    await hub.stop();
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("install.sh: a hub without agent binaries is told apart from an unreachable hub", async () => {
  const work = await Deno.makeTempDir({ prefix: "fleet-nodist-" });
  const hub = await startHub({ args: ["--dist-dir", join(work, "empty")] });
  try {
    const sums = await fetch(`${hub.url}/dist/SHA256SUMS`);
    assert.equal(sums.status, 404);
    const problem = await sums.json();
    assert.match(problem.detail ?? problem.title, /no agent binaries.*deno task dist/);
    const root = join(work, "root");
    const r = await sh(
      `curl -fsSL ${hub.url}/install.sh | sh -s -- --token x --root ${root} --no-systemctl`,
    );
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /answers but has no agent binaries/);
    assert.match(r.err, /deno task dist/);
    assert.match(r.err, /DENORT_BIN/);
    assert.match(r.err, /--dist-dir/);
    assert.doesNotMatch(r.err, /cannot reach/);

    // A closed port: the network really is the problem, and the message says so.
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const nowhere = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}`;
    closed.close();
    const down = await sh(
      `curl -fsSL ${hub.url}/install.sh | sh -s -- --token x --hub ${nowhere} --root ${root} --no-systemctl`,
    );
    assert.equal(down.code, 1, down.out + down.err);
    assert.match(down.err, new RegExp(`cannot reach the hub at ${nowhere}`));
    assert.doesNotMatch(down.err, /agent binaries/);
  } finally {
    await hub.stop();
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("install.sh is shellcheck-clean and the units pass systemd-analyze verify", async () => {
  const missing = ["shellcheck", "systemd-analyze"].filter((t) => !findExecutable(t));
  if (missing.length) {
    const msg = `missing ${missing.join(", ")}: apt-get install -y shellcheck systemd`;
    if (CI) throw new Error(msg);
    console.error(`\n!! SKIPPED install.sh/unit checks: ${msg}\n`);
    return;
  }
  const { installScript } = await import("../../hub/onboarding/install_script.ts");
  const dir = await Deno.makeTempDir({ prefix: "fleet-units-" });
  try {
    await Deno.writeTextFile(join(dir, "install.sh"), installScript("http://10.0.0.10:8765"));
    const sc = await sh(`shellcheck -s sh ${join(dir, "install.sh")}`);
    assert.equal(sc.code, 0, sc.out + sc.err);
    // systemd-analyze wants ExecStart to exist: point it at a real file for the check.
    const paths = {
      binary: "/bin/true",
      config: "/etc/fleet/agent.yml",
      stateDir: "/var/lib/fleet-agent",
    };
    await Deno.writeTextFile(join(dir, "fleet-agent.service"), agentUnit(paths));
    await Deno.writeTextFile(join(dir, "fleet-recovery.service"), recoveryUnit(paths));
    const v = await sh(
      `systemd-analyze verify ${join(dir, "fleet-agent.service")} ${
        join(dir, "fleet-recovery.service")
      }`,
    );
    assert.equal(v.code, 0, v.out + v.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recover: bounded steps, reported to the hub and its stream; fails when the hub stays away", async () => {
  const hub = await startHub();
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  const dir = await Deno.makeTempDir({ prefix: "fleet-recover-" });
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "rec-1" })).token;
    const config = join(dir, "agent.yml");
    await Deno.writeTextFile(config, `hub: ${hub.url}\ntoken: ${token}\n`);
    const agentMain = join(ROOT, "agent/main.ts");
    const ok = await sh(
      `"${Deno.execPath()}" run -A "${agentMain}" recover --config ${config} --docker-socket off --attempts 3 --retry-delay 100ms`,
    );
    assert.equal(ok.code, 0, ok.err);
    const node = await hub.admin.node("rec-1");
    assert.equal(node.recovery?.ok, true);
    assert.deepEqual(node.recovery?.steps.map((st) => st.step), [
      "wait for the hub",
      "docker",
      "swarm membership",
      "essential containers",
      "configs from S3",
    ]);
    await sse.next((e) => e.event === "node.recovery" && JSON.parse(e.data).node_id === "rec-1");

    // A hub that never answers: the bounded retries give up and the exit code says so.
    await Deno.writeTextFile(config, `hub: http://127.0.0.1:9\ntoken: ${token}\n`);
    const down = await sh(
      `"${Deno.execPath()}" run -A "${agentMain}" recover --config ${config} --docker-socket off --attempts 2 --retry-delay 50ms`,
    );
    assert.equal(down.code, 1);
    assert.match(down.err, /gave up after 2 tries/);
  } finally {
    await sse.close();
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
