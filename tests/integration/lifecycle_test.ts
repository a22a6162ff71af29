/**
 * The hub as an operator runs it: the demo fleet comes up through the real ingest path; SIGTERM
 * shuts down cleanly; `--help`, `version` and usage errors behave; no secret reaches the logs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hubCli, ROOT, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitFor } from "../helpers/process.ts";
import { pushSeqs } from "../helpers/samples.ts";

Deno.test("demo: simulated agents push through the real ingest path with node tokens", async () => {
  const hub = await startHub({ args: ["--demo", "7"] });
  try {
    const snap = await waitFor(
      async () => {
        const s = await hub.admin.fleet();
        return s.nodes.length === 7 && s.nodes.every((n) => n.status === "online") ? s : undefined;
      },
      "7 demo nodes online",
      30_000,
    );
    const ids = snap.nodes.map((n) => n.id).sort();
    assert.deepEqual(ids, ["agx-01", "agx-02", "agx-03", "agx-04", "agx-05", "agx-06", "spark-01"]);
    const byId = new Map(snap.nodes.map((n) => [n.id, n]));
    assert.equal(byId.get("spark-01")!.type, "spark");
    assert.equal(byId.get("agx-01")!.cluster, "vision");
    assert.equal(byId.get("agx-03")!.cluster, "speech");
    assert.equal(byId.get("agx-06")!.role, "roamer");
    assert.ok(byId.get("agx-01")!.last_sample?.gpus?.length, "Xavier samples carry GPU data");
    // Each demo agent has its own node token, visible in the token list.
    const tokens = await hub.admin.tokens();
    assert.equal(
      tokens.filter((t) => t.kind === "node" && t.name.startsWith("demo:") && !t.revoked_at).length,
      7,
    );
  } finally {
    await hub.stop();
  }
});

Deno.test("SIGTERM: the hub stops cleanly and a restart keeps its data", async () => {
  const hub = await startHub();
  const token = (await hub.admin.createToken({ kind: "node", node_id: "keep-1" })).token;
  await pushSeqs(hub.url, token, "keep-1", 1, 3);
  const status = await hub.stop("SIGTERM");
  assert.equal(status.code, 0);
  assert.ok(hub.child.logs().some((l) => l.msg === "stopped"));
  // Second start on the same data dir: no new admin token, no migration.
  const again = await startHub({ dataDir: hub.dataDir });
  try {
    assert.equal(again.adminToken, hub.adminToken);
    assert.ok(!again.child.stdout.join("\n").includes("Admin token"));
    assert.ok(!again.child.logs().some((l) => l.msg === "migrated database"));
    const node = await again.admin.node("keep-1");
    assert.equal(node.last_seq, 3);
    assert.equal(node.last_sample?.seq, 3, "the newest sample is back after a restart");
  } finally {
    await again.stop();
  }
});

Deno.test("CLI: help, version, usage errors", async () => {
  const help = await hubCli(["serve", "--help"]);
  assert.equal(help.code, 0);
  for (const flag of ["--port", "--data-dir", "--config", "--demo", "FLEET_PORT"]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  assert.match((await hubCli(["version"])).stdout, /^fleet-hub \d+\.\d+\.\d+$/);
  const unknown = await hubCli(["serve", "--prot", "1"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--prot/);
  const badPort = await hubCli(["serve", "--port", "http"]);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /--port: not a valid port/);

  const agent = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", join(ROOT, "agent/main.ts"), ...args],
      env: { FLEET_AGENT_CONFIG: join(ROOT, "tests/fixtures/agent-empty.yml") },
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  assert.match((await agent(["version"])).stdout, /^fleet-agent \d+\.\d+\.\d+/);
  const runHelp = await agent(["run", "--help"]);
  assert.equal(runHelp.code, 0);
  assert.ok(runHelp.stdout.includes("--state-dir") && runHelp.stdout.includes("FLEET_HUB"));
  const noHub = await agent(["run", "--token", "x"]);
  assert.equal(noHub.code, 2);
  assert.match(noHub.stderr, /--hub is required/);
});

Deno.test("logs: one JSON object per line and never a token", async () => {
  const hub = await startHub();
  let secrets: string[] = [hub.adminToken];
  try {
    const created = await hub.admin.createToken({ kind: "node", node_id: "x1" });
    secrets = [...secrets, created.token];
    await fetch(`${hub.url}/api/v1/fleet`, {
      headers: { authorization: `Bearer ${created.token}` },
    })
      .then((r) => r.body?.cancel());
  } finally {
    await hub.stop();
  }
  for (const line of hub.child.stderr) {
    assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
    for (const s of secrets) assert.ok(!line.includes(s), "a token in the log");
  }
});

Deno.test("agent: SIGTERM stops sampling and the job worker cleanly", async () => {
  const hub = await startHub();
  const state = await Deno.makeTempDir({ prefix: "fleet-agent-" });
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "stop-1" })).token;
    const agent = startAgent({ hub: hub.url, token, stateDir: state, interval: "5s" });
    await agent.waitForLine((l) => l.includes('"msg":"worker started"'));
    await waitFor(async () => (await hub.admin.node("stop-1")).last_seq >= 1, "first sample");
    // A clean stop exits 0 well within the grace period (a hung long-poll would be SIGKILLed).
    const status = await agent.stop("SIGTERM", 8000);
    assert.equal(status.code, 0);
    const msgs = agent.logs().map((l) => l.msg);
    assert.ok(msgs.includes("worker stopped") && msgs.includes("agent stopped"), msgs.join(", "));
  } finally {
    await hub.stop();
    await Deno.remove(state, { recursive: true });
  }
});
