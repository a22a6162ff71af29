/**
 * Node actions through a real hub and a real agent process: the cleanup dry run lists exactly
 * the opt-in steps of the agent's agent.yml on a fixture root (rotated logs under /var/log, old
 * files in /tmp) and changes nothing; a run with a stale plan id is refused; the run with the dry
 * run's plan id removes exactly those files. "Run recovery now" returns the steps and stores
 * them as the node's recovery; "restart" restarts the agent in place (same process, control
 * channel back). The MCP tools reach the same routes (audited `via: mcp`). Each call is audited;
 * a viewer is refused; an offline node answers 503.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitFor } from "../helpers/process.ts";
import { processAlive, waitControl } from "../helpers/control.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/** A fixture root with live and rotated logs, and old and new files in /tmp. */
async function fixtureRoot(dir: string): Promise<{ root: string; gone: string[]; kept: string[] }> {
  const root = join(dir, "root");
  const day = 86_400_000;
  const files: [string, number][] = [
    ["var/log/syslog", 0],
    ["var/log/syslog.1", 0],
    ["var/log/syslog.2.gz", 0],
    ["var/log/kern.log-20260101", 0],
    ["var/log/nginx/access.log", 0],
    ["var/log/nginx/access.log.3.gz", 0],
    ["var/log/dpkg.log.old", 0],
    ["var/log/app.log", 0],
    ["tmp/new.txt", 0],
    ["tmp/old.txt", 3 * day],
    ["tmp/deep/er/old.bin", 3 * day],
    ["tmp/systemd-private-abc-foo.service-x/tmp/old", 3 * day],
  ];
  for (const [rel, age] of files) {
    const p = join(root, rel);
    await Deno.mkdir(join(p, ".."), { recursive: true });
    await Deno.writeTextFile(p, "x".repeat(100));
    if (age) await Deno.utime(p, new Date(Date.now() - age), new Date(Date.now() - age));
  }
  const gone = [
    "var/log/syslog.1",
    "var/log/syslog.2.gz",
    "var/log/kern.log-20260101",
    "var/log/nginx/access.log.3.gz",
    "var/log/dpkg.log.old",
    "tmp/old.txt",
    "tmp/deep/er/old.bin",
  ].map((r) => join(root, r));
  const kept = [
    "var/log/syslog",
    "var/log/nginx/access.log",
    "var/log/app.log",
    "tmp/new.txt",
    "tmp/systemd-private-abc-foo.service-x/tmp/old",
  ].map((r) => join(root, r));
  return { root, gone, kept };
}

Deno.test("node actions: cleanup dry run then run, recovery now, agent restart, audited", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-node-actions-" });
  const hub = await startHub();
  const { root, gone, kept } = await fixtureRoot(dir);
  const config = join(dir, "agent.yml");
  await Deno.writeTextFile(
    config,
    // The journal of the machine running the test is not the fixture's: never vacuumed here.
    'cleanup:\n  rotated_logs: true\n  tmp_max_age: 1d\n  journal_size: "off"\n',
  );
  const token = (await hub.admin.createToken({ kind: "node", node_id: "n1" })).token;
  const agent = startAgent({
    hub: hub.url,
    token,
    stateDir: join(dir, "state"),
    root,
    interval: "1s",
    args: ["--jobs", "off", "--config", config],
    // Not under systemd, whatever runs this test: the restart is the in-place one.
    env: { INVOCATION_ID: "" },
  });
  const admin = new ApiClient({ hub: hub.url, token: hub.adminToken, timeoutMs: 60_000 });
  const status = (code: number) => (e: unknown) => e instanceof ApiError && e.status === code;
  try {
    await waitControl(hub.admin, "n1");

    let planId = "";
    await t.step("the dry run lists the opt-in steps and changes nothing", async () => {
      const plan = await admin.nodeCleanup("n1");
      assert.equal(plan.dry_run, true);
      assert.equal(plan.node_id, "n1");
      assert.match(plan.plan_id, /^[0-9a-f]{16}$/);
      const files = plan.actions.filter((a) =>
        a.kind === "remove-rotated-log" || a.kind === "remove-tmp-file"
      ).map((a) => a.target).sort();
      assert.deepEqual(files, [...gone].sort());
      assert.ok(!plan.actions.some((a) => a.kind === "vacuum-journal"));
      assert.ok(plan.skipped.some((s) => /journal: skipped/.test(s)), plan.skipped.join("; "));
      assert.ok(plan.skipped.some((s) => /no Docker engine/.test(s)), plan.skipped.join("; "));
      // Backups exist: the plan no longer claims an S3 sync is "not in this version".
      assert.ok(
        !plan.skipped.some((s) => /S3|not in this version/.test(s)),
        plan.skipped.join("; "),
      );
      assert.equal(plan.bytes, 7 * 100);
      for (const f of [...gone, ...kept]) assert.ok(await exists(f), `${f} is still there`);
      planId = plan.plan_id;
    });

    await t.step("a run with another plan id is refused and changes nothing", async () => {
      await assert.rejects(
        admin.nodeCleanup("n1", { dry_run: false, plan_id: "0123456789abcdef" }),
        (e) => status(409)(e) && /plan changed/.test((e as Error).message),
      );
      for (const f of gone) assert.ok(await exists(f), `${f} is still there`);
    });

    await t.step("the run with the dry run's plan id removes exactly those files", async () => {
      const done = await admin.nodeCleanup("n1", { dry_run: false, plan_id: planId });
      assert.equal(done.dry_run, false);
      assert.deepEqual(done.failed, []);
      for (const f of gone) assert.ok(!(await exists(f)), `${f} was removed`);
      for (const f of kept) assert.ok(await exists(f), `${f} was kept`);
      const again = await admin.nodeCleanup("n1");
      assert.deepEqual(again.actions, []);
      assert.notEqual(planId, again.plan_id);
    });

    await t.step("a viewer is refused; an unknown node is 404", async () => {
      const viewer = (await hub.admin.createToken({ kind: "viewer", name: "v" })).token;
      const v = new ApiClient({ hub: hub.url, token: viewer });
      await assert.rejects(v.nodeCleanup("n1"), status(403));
      await assert.rejects(v.nodeRestart("n1"), status(403));
      await assert.rejects(admin.nodeRecover("nope"), status(404));
    });

    await t.step("recovery now: the steps, stored as the node's recovery", async () => {
      const r = await admin.nodeRecover("n1");
      assert.equal(r.ok, true, JSON.stringify(r.steps));
      assert.deepEqual(r.steps.map((s) => s.step).slice(0, 2), ["wait for the hub", "docker"]);
      const node = await waitFor(async () => {
        const n = await admin.node("n1");
        return n.recovery?.steps.length ? n : undefined;
      }, "the recovery report");
      assert.equal(node.recovery!.steps[0].step, "wait for the hub");
    });

    await t.step(
      "MCP: the cleanup tool dry-runs, the recovery tool runs; audited via mcp",
      async () => {
        const client = new Client({ name: "node-actions-test", version: "1" });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(`${hub.url}/mcp`), {
            requestInit: { headers: { authorization: `Bearer ${hub.adminToken}` } },
          }),
        );
        try {
          const call = async (name: string, args: Record<string, unknown>) => {
            const r = await client.callTool({ name, arguments: args }) as {
              isError?: boolean;
              content: { text: string }[];
              structuredContent: Record<string, unknown>;
            };
            assert.ok(!r.isError, `${name}: ${r.content.map((c) => c.text).join(" ")}`);
            return r;
          };
          const plan = await call("fleet_node_cleanup", { node: "n1" });
          assert.match(plan.content[0].text, /^n1: dry run, 0 steps/);
          assert.equal(plan.structuredContent.dry_run, true);
          const rec = await call("fleet_node_recover", { node: "n1" });
          assert.equal(rec.structuredContent.ok, true);
        } finally {
          await client.close();
        }
        const { entries } = await admin.audit({ target: "n1", limit: 2 });
        assert.deepEqual(entries.map((e) => [e.action, e.detail?.via]), [
          ["node.recover", "mcp"],
          ["node.cleanup", "mcp"],
        ]);
      },
    );

    await t.step("restart: in place, same process, the control channel comes back", async () => {
      const r = await admin.nodeRestart("n1");
      assert.deepEqual(r, { node_id: "n1", how: "in_place" });
      await agent.waitForLine((l) => /starting again in place/.test(l));
      await waitControl(hub.admin, "n1");
      assert.ok(processAlive(agent.proc.pid), "the agent process is the same one");
      // It answers actions again after the restart.
      assert.equal((await admin.nodeCleanup("n1")).dry_run, true);
    });

    await t.step("every action is an audit entry with its result", async () => {
      const { entries } = await admin.audit({ target: "n1", limit: 50 });
      const seen = entries.map((e) => `${e.action}:${e.result}`).reverse();
      assert.deepEqual(seen.filter((s) => s.startsWith("node.")), [
        "node.cleanup:ok",
        "node.cleanup:error",
        "node.cleanup:ok",
        "node.cleanup:ok",
        "node.recover:ok",
        "node.cleanup:ok",
        "node.recover:ok",
        "node.restart:ok",
        "node.cleanup:ok",
      ]);
      const run = entries.find((e) => e.action === "node.cleanup" && e.detail?.dry_run === false);
      assert.ok(run, "the run is recorded as a run");
      assert.equal(run.actor.name, (await admin.session()).name);
    });

    await t.step("an offline node answers 503 and leaves no entry", async () => {
      await agent.stop();
      await waitControl(hub.admin, "n1", false);
      const before = (await admin.audit({ target: "n1", limit: 1 })).entries[0].id;
      await assert.rejects(admin.nodeRestart("n1"), status(503));
      assert.equal((await admin.audit({ target: "n1", limit: 1 })).entries[0].id, before);
    });
  } finally {
    await agent.stop();
    await hub.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
