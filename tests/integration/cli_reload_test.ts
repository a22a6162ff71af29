/**
 * Operator commands against a running hub (`fleet-hub job …`, `fleet-hub roamer …`) and fleet.yml
 * reload by API and SIGHUP: a bad file is refused with its line and the old config stays.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hubCli, startHub } from "../helpers/hub.ts";
import { waitFor } from "../helpers/process.ts";
import { ApiError } from "../../shared/api_client.ts";
import { SseClient } from "../helpers/sse.ts";

const BASE = `clusters:\n  - id: vision\n    nodes: [agx-01]\nroamers:\n  nodes: [r1]\n` +
  `templates:\n  hello:\n    command: echo hello\n`;

Deno.test("CLI: job submit/list/show/cancel/retry and roamer list/assign/release", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-cli-" });
  await Deno.writeTextFile(join(dir, "fleet.yml"), BASE);
  const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
  const conn = ["--hub", hub.url, "--data-dir", hub.dataDir];
  try {
    const submitted = await hubCli([
      "job",
      "submit",
      "--template",
      "hello",
      "--env",
      "A=1",
      "--priority",
      "7",
      ...conn,
    ]);
    assert.equal(submitted.code, 0, submitted.stderr);
    assert.match(submitted.stdout, /^\d+$/, "stdout is the job id");
    const id = submitted.stdout;
    const job = await hub.admin.job(id);
    assert.equal(job.priority, 7);
    assert.equal(job.template, "hello");

    const list = await hubCli(["job", "list", ...conn]);
    assert.match(list.stdout, new RegExp(`^${id}\\s+pending\\s+hello`, "m"));
    const show = await hubCli(["job", "show", id, ...conn]);
    assert.match(show.stdout, new RegExp(`job ${id}: pending`));
    const cancel = await hubCli(["job", "cancel", id, ...conn]);
    assert.match(cancel.stdout, /cancelled/);
    const again = await hubCli(["job", "cancel", id, "--json", ...conn]);
    assert.equal(again.code, 1, "a hub refusal is exit 1; 2 is for usage errors");
    assert.match(again.stderr, /409.*cancelled/);
    assert.match((await hubCli(["job", "retry", id, ...conn])).stdout, /pending/);

    const bad = await hubCli(["job", "submit", "--template", "nope", ...conn]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown template nope/);
    const badLocal = await hubCli(["job", "submit", ...conn]);
    assert.equal(badLocal.code, 2);
    assert.match(badLocal.stderr, /one of --template T, --process CMD or --image IMG/);

    const roamers = await hubCli(["roamer", "list", ...conn]);
    assert.match(roamers.stdout, /^r1\s+IDLE/m);
    const assign = await hubCli([
      "roamer",
      "assign",
      "r1",
      "--cluster",
      "vision",
      "--mode",
      "manual",
      ...conn,
    ]);
    assert.equal(assign.code, 0, assign.stderr);
    assert.match(assign.stdout, /r1\s+ASSIGNED\s+cluster vision\s+manual/);
    assert.match((await hubCli(["roamer", "release", "r1", ...conn])).stdout, /r1\s+IDLE/);
    const noToken = await hubCli(["job", "list", "--hub", hub.url, "--data-dir", dir]);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /no token/);
    // A port nothing listens on: the message names the URL tried and how to point elsewhere.
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const nowhere = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}`;
    closed.close();
    const down = await hubCli(["job", "list", "--hub", nowhere, "--token", "x"]);
    assert.equal(down.code, 1, down.stderr);
    assert.ok(down.stderr.includes(`cannot reach the hub at ${nowhere}`), down.stderr);
    assert.match(down.stderr, /--hub URL or FLEET_HUB/);
    const help = await hubCli(["job", "--help"]);
    assert.match(help.stdout, /Exit codes: 0 done, 1 refused.*2 usage/);
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload: a bad fleet.yml is refused with its line; a good one applies without a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-reload-" });
  const file = join(dir, "fleet.yml");
  await Deno.writeTextFile(file, BASE);
  const hub = await startHub({ args: ["--config", file] });
  try {
    const { id } = await hub.admin.submitJob({ template: "hello" });
    // Unknown key and a template that does not exist: refused, old config in force.
    await Deno.writeTextFile(file, BASE + "  broken:\n    comand: echo\n");
    await assert.rejects(() => hub.admin.request("POST", "/api/v1/config/reload"), (e: unknown) => {
      assert.ok(e instanceof ApiError && e.status === 400, String(e));
      assert.match(JSON.stringify(e.problem), /fleet\.yml:\d+/);
      assert.match(JSON.stringify(e.problem), /comand: unknown key/);
      return true;
    });
    assert.ok((await hub.admin.submitJob({ template: "hello" })).id, "old templates still work");
    await assert.rejects(() => hub.admin.submitJob({ template: "bye" }), /unknown template bye/);

    // A valid file with a new template, node and roamer: applied; queued jobs are kept.
    const sse = await SseClient.connect(hub.url, hub.adminToken);
    await Deno.writeTextFile(
      file,
      BASE.replace("roamers:\n  nodes: [r1]", "roamers:\n  nodes: [r1, r2]")
        .replace("templates:", "nodes:\n  - id: n9\ntemplates:") +
        "  bye:\n    command: echo bye\n",
    );
    const r = await hub.admin.request<{ templates: number; roamers: number }>(
      "POST",
      "/api/v1/config/reload",
    );
    assert.deepEqual([r.templates, r.roamers], [2, 2]);
    assert.ok((await hub.admin.submitJob({ template: "bye" })).id);
    assert.ok((await hub.admin.roamers()).some((x) => x.node_id === "r2"));
    // A node new in the inventory is tracked and announced at once, not at its first sample.
    const added = await sse.next((e) => e.event === "node.added" && e.data.includes('"n9"'));
    assert.equal(JSON.parse(added.data).node.status, "pending");
    await sse.close();
    assert.equal((await hub.admin.job(id)).state, "pending", "state survived the reload");

    // SIGHUP does the same.
    await Deno.writeTextFile(file, BASE + "  third:\n    command: echo 3\n");
    hub.child.proc.kill("SIGHUP");
    await waitFor(async () => {
      try {
        return (await hub.admin.submitJob({ template: "third" })).id;
      } catch {
        return undefined;
      }
    }, "SIGHUP reload");
    assert.ok(hub.child.logs().some((l) => l.msg === "config reloaded"));
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload: an alias bomb, a huge file, repeated ids and max_body 0 answer 400 with file and line; the running config stays", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-reload-hostile-" });
  const file = join(dir, "fleet.yml");
  await Deno.writeTextFile(file, BASE);
  const hub = await startHub({ args: ["--config", file] });
  try {
    const names = "abcdefghi";
    const bomb = [`a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
    for (let i = 1; i < names.length; i++) {
      bomb.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(", ")}]`);
    }
    const cases: [string, RegExp][] = [
      [bomb.join("\n") + "\n", /fleet\.yml:\d+.*alias \*\w: aliases expand to more than 10000/],
      [BASE + "# padding\n".repeat(110_000), /fleet\.yml.*larger than 1048576 bytes/],
      [
        BASE + "nodes:\n  - id: n1\n  - id: n1\n",
        /fleet\.yml:\d+.*nodes\.1\.id.*node n1 is listed twice/,
      ],
      [BASE + "ingest:\n  max_body: 0\n", /fleet\.yml:\d+.*ingest\.max_body.*must be more than 0/],
    ];
    for (const [yaml, message] of cases) {
      await Deno.writeTextFile(file, yaml);
      await assert.rejects(
        () => hub.admin.request("POST", "/api/v1/config/reload"),
        (e: unknown) => {
          assert.ok(e instanceof ApiError && e.status === 400, `${yaml.slice(0, 40)}: ${e}`);
          assert.match(JSON.stringify(e.problem), message);
          return true;
        },
      );
    }
    assert.ok((await hub.admin.submitJob({ template: "hello" })).id, "the old config is in force");
    assert.ok(!hub.child.logs().some((l) => l.level === "error"), "no 500 logged");
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
