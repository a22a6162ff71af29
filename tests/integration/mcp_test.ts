/**
 * `fleet-hub mcp` and `/mcp` with the MCP SDK's own client against a real hub and two real agents:
 * the stdio server (status, nodes, metrics, exec on both agents with progress, a process job to
 * done, waited on with progress, roamer assign and release, the audit log marking MCP), resources
 * and prompts built from the fleet's real data, the hub's Streamable HTTP endpoint (bearer tokens,
 * 401 without one, progress as SSE, a viewer offered only read-only tools and refused a write), bad
 * arguments and hub errors as tool errors, `--read-only`, a stdout that carries nothing but
 * JSON-RPC, and the container tools on a real dockerd (skipped without one, as containers_test).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { type HubProcess, ROOT, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { type Child, waitFor } from "../helpers/process.ts";
import { waitControl } from "../helpers/control.ts";
import { DOCKER_INSTALL, DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";
import { HUB_PERMISSIONS } from "../../bootstrap/dist.ts";

const CI = Deno.env.get("CI") === "true";
if (DOCKER_MISSING.length && !CI) {
  console.error(
    `\n!! SKIPPED the MCP container tools test: missing ${
      DOCKER_MISSING.join(", ")
    }; install with: ${DOCKER_INSTALL}\n`,
  );
}

const FLEET = `clusters:
  - id: lab
    nodes: [m1, m2]
roamers:
  nodes: [r1]
`;

const READ_ONLY_TOOLS = [
  "fleet_alert_config",
  "fleet_alerts_list",
  "fleet_audit_list",
  "fleet_backup_list",
  "fleet_cluster_list",
  "fleet_docker_logs",
  "fleet_docker_ps",
  "fleet_job_list",
  "fleet_job_status",
  "fleet_link_quality",
  "fleet_node_connections",
  "fleet_node_get",
  "fleet_node_list",
  "fleet_node_metrics",
  "fleet_registry_images",
  "fleet_roamer_list",
  "fleet_service_get",
  "fleet_service_list",
  "fleet_service_logs",
  "fleet_stack_list",
  "fleet_status",
  "fleet_swarm_health",
  "fleet_swarm_node_list",
];

interface ToolResult {
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

async function toolsOf(client: Client): Promise<Tool[]> {
  return (await client.listTools()).tools as Tool[];
}

type Progress = { progress: number; total?: number; message?: string };

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  onprogress?: (p: Progress) => void,
) {
  const r = await client.callTool(
    { name, arguments: args },
    undefined,
    onprogress ? { onprogress } : undefined,
  ) as ToolResult;
  return { ...r, text: r.content.map((c) => c.text).join("\n") };
}

/** Calls a tool that must succeed; returns its structured content. */
async function ok<T = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  onprogress?: (p: Progress) => void,
): Promise<T> {
  const r = await call(client, name, args, onprogress);
  assert.ok(!r.isError, `${name} failed: ${r.text}`);
  assert.ok(r.text.length > 0 && !r.text.includes("\n"), `${name}: a one-line summary`);
  return r.structuredContent as T;
}

async function setup(): Promise<{ hub: HubProcess; agents: Child[]; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "fleet-mcp-" });
  await Deno.writeTextFile(join(dir, "fleet.yml"), FLEET);
  const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
  const agents: Child[] = [];
  for (const id of ["m1", "m2"]) {
    const token = (await hub.admin.createToken({ kind: "node", node_id: id })).token;
    const stateDir = await Deno.makeTempDir({ prefix: `fleet-${id}-`, dir });
    agents.push(startAgent({ hub: hub.url, token, stateDir, interval: "1s" }));
  }
  for (const id of ["m1", "m2"]) await waitControl(hub.admin, id);
  return { hub, agents, dir };
}

function stdioClient(hub: HubProcess, token: string, extra: string[] = []): StdioClientTransport {
  return new StdioClientTransport({
    command: Deno.execPath(),
    args: [
      "run",
      ...HUB_PERMISSIONS,
      join(ROOT, "hub/main.ts"),
      "mcp",
      "--hub",
      hub.url,
      "--token",
      token,
      ...extra,
    ],
    env: { ...Deno.env.toObject(), FLEET_LOG_LEVEL: "warn" },
    stderr: "ignore",
  });
}

async function connect(transport: StdioClientTransport | StreamableHTTPClientTransport) {
  const client = new Client({ name: "mcp-test", version: "1" });
  await client.connect(transport);
  return client;
}

Deno.test({
  name: "mcp: stdio and HTTP servers drive a real fleet through the hub's API",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const { hub, agents, dir } = await setup();
  try {
    await t.step("stdio: tools, status, nodes, exec, job, roamer, audit", async () => {
      const client = await connect(stdioClient(hub, hub.adminToken));
      try {
        const tools = await toolsOf(client);
        const names = tools.map((x) => x.name);
        for (const n of [...READ_ONLY_TOOLS, "fleet_node_exec", "fleet_job_submit"]) {
          assert.ok(names.includes(n), `${n} offered`);
        }
        for (const tool of tools) {
          assert.ok(tool.outputSchema, `${tool.name} has an output schema`);
          assert.equal(typeof tool.annotations?.readOnlyHint, "boolean", tool.name);
          assert.equal(
            tool.annotations?.readOnlyHint,
            READ_ONLY_TOOLS.includes(tool.name),
            `${tool.name} readOnlyHint`,
          );
        }
        const exec = tools.find((x) => x.name === "fleet_node_exec")!;
        assert.equal(exec.annotations?.destructiveHint, true);

        const status = await ok<{ nodes: number; by_status: Record<string, number> }>(
          client,
          "fleet_status",
        );
        assert.equal(status.by_status.online, 2);

        const list = await ok<{ nodes: { id: string; control: boolean }[] }>(
          client,
          "fleet_node_list",
          { cluster: "lab", status: "online" },
        );
        assert.deepEqual(list.nodes.map((n) => n.id).sort(), ["m1", "m2"]);
        assert.ok(list.nodes.every((n) => n.control));

        const node = await ok<{ node: { id: string; cluster: string } }>(
          client,
          "fleet_node_get",
          { node: "m1" },
        );
        assert.equal(node.node.cluster, "lab");

        const progress: Progress[] = [];
        const ran = await ok<{
          state: string;
          exec_id: string;
          results: { node_id: string; exit_code: number; stdout: string }[];
        }>(client, "fleet_node_exec", {
          nodes: ["m1", "m2"],
          command: "echo fleet-$((6*7))",
          timeout_s: 20,
        }, (p) => progress.push(p));
        assert.equal(ran.state, "done");
        // Per finished node, ending at the total; never going back.
        assert.ok(progress.length >= 2, JSON.stringify(progress));
        assert.deepEqual(progress.at(-1), {
          progress: 2,
          total: 2,
          message: "2 of 2 nodes finished",
        });
        assert.ok(
          progress.every((p, i) =>
            p.total === 2 && (i === 0 || p.progress > progress[i - 1].progress)
          ),
        );
        assert.deepEqual(
          ran.results.map((r) => [r.node_id, r.exit_code, r.stdout]).sort(),
          [["m1", 0, "fleet-42\n"], ["m2", 0, "fleet-42\n"]],
        );
        // The effect is the hub's own: the run is in its history.
        assert.equal((await hub.admin.execRun(ran.exec_id)).state, "done");

        // Waiting: the final state comes back, state changes as progress.
        const states: Progress[] = [];
        const waited = await ok<{ id: string; state: string; job: { log_tail: string } }>(
          client,
          "fleet_job_submit",
          { executor: "process", command: "echo waited-ok", node: "m2", wait_s: 30 },
          (p) => states.push(p),
        );
        assert.equal(waited.state, "done");
        assert.match(waited.job.log_tail, /waited-ok/);
        assert.ok(states.length >= 2, JSON.stringify(states));
        assert.match(states.at(-1)!.message!, new RegExp(`job ${waited.id} done`));

        const job = await ok<{ id: string }>(client, "fleet_job_submit", {
          executor: "process",
          command: "echo job-ok",
          node: "m1",
        });
        const done = await waitFor(
          async () => {
            const s = await ok<{ job: { state: string } }>(client, "fleet_job_status", {
              id: job.id,
            });
            return ["done", "failed"].includes(s.job.state) ? s.job : undefined;
          },
          `job ${job.id} to end`,
          30_000,
          250,
        );
        assert.equal(done.state, "done");
        assert.equal((await hub.admin.job(job.id)).state, "done");

        const assigned = await ok<{ roamer: { node_id: string; assignment: unknown } }>(
          client,
          "fleet_roamer_assign",
          { roamer: "r1", cluster: "lab", mode: "manual" },
        );
        assert.equal(assigned.roamer.node_id, "r1");
        const r1 = (await hub.admin.roamers()).find((r) => r.node_id === "r1")!;
        assert.equal(r1.assignment?.cluster, "lab");
        await ok(client, "fleet_roamer_release", { roamer: "r1" });
        const listed = await ok<{ roamers: { node_id: string }[] }>(client, "fleet_roamer_list");
        assert.deepEqual(listed.roamers.map((r) => r.node_id), ["r1"]);

        const audit = await ok<{ entries: { action: string; detail: Record<string, unknown> }[] }>(
          client,
          "fleet_audit_list",
          { action: "exec." },
        );
        const entry = audit.entries.find((e) => e.detail?.exec_id === ran.exec_id);
        assert.ok(entry, "the exec is in the audit log");
        assert.equal(entry.detail.via, "mcp");
        // Jobs and roamers too, through the hub's own API.
        const jobAudit = (await hub.admin.audit({ action: "job.submit" })).entries;
        assert.deepEqual(jobAudit.map((e) => e.target).sort(), [job.id, waited.id].sort());
        assert.ok(jobAudit.every((e) => e.detail?.via === "mcp" && e.actor.kind === "admin"));
        for (const action of ["roamer.assign", "roamer.release"]) {
          const [e] = (await hub.admin.audit({ action })).entries;
          assert.equal(e?.target, "r1", action);
          assert.equal(e.detail?.via, "mcp", action);
        }
        assert.equal(
          (await hub.admin.audit({ action: "roamer.assign" })).entries[0].detail?.cluster,
          "lab",
        );

        // Metrics the agents pushed (every second): numbers, with nulls for silent buckets.
        const metrics = await waitFor(
          async () => {
            const m = await ok<
              { ts: number[]; series: Record<string, { avg: (number | null)[] }> }
            >(
              client,
              "fleet_node_metrics",
              { node: "m1", series: ["cpu_pct", "mem_pct", "no_such"], range: "5m", step: 1 },
            );
            return m.series.mem_pct?.avg.some((v) => typeof v === "number") ? m : undefined;
          },
          "m1 metrics",
          20_000,
          500,
        );
        assert.deepEqual(Object.keys(metrics.series).sort(), ["cpu_pct", "mem_pct"]);
        for (const s of Object.values(metrics.series)) {
          assert.equal(s.avg.length, metrics.ts.length);
          assert.ok(s.avg.every((v) => v === null || Number.isFinite(v)));
        }
        const metricsText = await call(client, "fleet_node_metrics", {
          node: "m1",
          series: ["no_such"],
        });
        assert.match(metricsText.text, /no series no_such/);

        const enroll = await ok<{ install: string; token: string }>(
          client,
          "fleet_enrollment_token_create",
          { name: "new-node" },
        );
        assert.equal(
          enroll.install,
          `curl -fsSL ${hub.url}/install.sh | sudo sh -s -- --token ${enroll.token}`,
        );
      } finally {
        await client.close();
      }
    });

    await t.step("resources and prompts carry the fleet's real data", async () => {
      const client = await connect(stdioClient(hub, hub.adminToken));
      try {
        const templates = (await client.listResourceTemplates()).resourceTemplates;
        assert.deepEqual(
          templates.map((x: { uriTemplate: string }) => x.uriTemplate).sort(),
          ["fleet://jobs/{id}/log", "fleet://nodes/{id}"],
        );
        const uris = (await client.listResources()).resources.map((r: { uri: string }) => r.uri);
        for (const u of ["fleet://fleet", "fleet://nodes/m1", "fleet://nodes/m2"]) {
          assert.ok(uris.includes(u), `${u} listed`);
        }
        const done = (await hub.admin.jobs({ state: "done", limit: 1 })).jobs[0];
        assert.ok(done, "the first step left a finished job");
        assert.ok(uris.includes(`fleet://jobs/${done.id}/log`), "a recent job's log listed");

        const [node] = (await client.readResource({ uri: "fleet://nodes/m1" })).contents;
        assert.equal(node.mimeType, "application/json");
        const summary = JSON.parse(node.text as string);
        assert.equal(summary.id, "m1");
        assert.equal(summary.cluster, "lab");
        const [log] = (await client.readResource({ uri: `fleet://jobs/${done.id}/log` })).contents;
        assert.equal(log.mimeType, "text/plain");
        assert.equal(log.text, (await hub.admin.job(done.id)).log_tail);
        assert.match(log.text as string, /ok/);
        const [fleet] = (await client.readResource({ uri: "fleet://fleet" })).contents;
        assert.equal(JSON.parse(fleet.text as string).by_status.online, 2);
        await assert.rejects(() => client.readResource({ uri: "fleet://nodes/nope-9" }), /nope-9/);

        const prompts = (await client.listPrompts()).prompts;
        assert.deepEqual(prompts.map((p: { name: string }) => p.name).sort(), [
          "diagnose_node",
          "triage_fleet",
        ]);
        // A node that never connected; a threshold of 0 % makes every disk full; a failed job.
        await hub.admin.createToken({ kind: "node", node_id: "m9" });
        const failed = await hub.admin.submitJob({
          executor: "process",
          command: "exit 3",
          node: "m2",
          max_attempts: 1,
        });
        await waitFor(
          async () => (await hub.admin.job(failed.id)).state === "failed",
          "job to fail",
          30_000,
          250,
        );
        const triage = await client.getPrompt({
          name: "triage_fleet",
          arguments: { temp_c: "0", disk_pct: "0" },
        });
        const text = (triage.messages[0].content as { text: string }).text;
        assert.match(text, /Not online \(1\):\n- m9 [a-z]+, never seen/);
        assert.match(text, /Hot, above 0 °C/);
        assert.match(
          text,
          new RegExp(`job ${failed.id} process on m2, attempt 1 of 1: exit code 3`),
        );
        // Disks of the agents' host are above 0 %: both nodes are listed.
        assert.match(text, /Disk above 0 % \(2\):\n- m[12] [0-9.]+ % on \//);
        const defaults = await client.getPrompt({ name: "triage_fleet", arguments: {} });
        assert.match((defaults.messages[0].content as { text: string }).text, /above 80 °C/);

        const diag = await client.getPrompt({ name: "diagnose_node", arguments: { node: "m2" } });
        const d = (diag.messages[0].content as { text: string }).text;
        assert.match(d, /^Diagnose node m2/);
        assert.match(d, /Status online, cluster lab/);
        assert.match(d, /- mem_pct: avg [0-9.]+/);
        assert.match(d, new RegExp(`- job ${failed.id} process failed \\(exit 3\\)`));
        // These agents run without Docker: the brief says so rather than failing.
        assert.match(d, /Containers:\n- not available: /);
        await assert.rejects(
          () => client.getPrompt({ name: "diagnose_node", arguments: { node: "nope-9" } }),
          /nope-9/,
        );
      } finally {
        await client.close();
      }
    });

    await t.step(
      "bad arguments name the field; an unknown node is the hub's 404; a hub that is down",
      async () => {
        const client = await connect(stdioClient(hub, hub.adminToken));
        try {
          const bad = await call(client, "fleet_node_exec", { nodes: "m1", command: "true" });
          assert.equal(bad.isError, true);
          assert.match(bad.text, /nodes/);
          const badStatus = await call(client, "fleet_node_list", { status: "sleepy" });
          assert.equal(badStatus.isError, true);
          assert.match(badStatus.text, /status/);
          const missing = await call(client, "fleet_node_get", { node: "nope-9" });
          assert.equal(missing.isError, true);
          assert.match(missing.text, /404.*nope-9/);
        } finally {
          await client.close();
        }
        // A hub that is down is a tool error, not a dead server.
        const down = await connect(stdioClient({ ...hub, url: "http://127.0.0.1:1" }, "fca_x"));
        try {
          const r = await call(down, "fleet_status");
          assert.equal(r.isError, true);
          assert.match(r.text, /cannot reach the hub at http:\/\/127\.0\.0\.1:1/);
        } finally {
          await down.close();
        }
      },
    );

    await t.step("HTTP /mcp: bearer tokens, 401 without, a viewer gets read-only", async () => {
      const http = (token: string) =>
        new StreamableHTTPClientTransport(new URL(`${hub.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        });
      const admin = await connect(http(hub.adminToken));
      try {
        const names = (await toolsOf(admin)).map((x) => x.name);
        assert.ok(names.includes("fleet_node_exec"));
        const status = await ok<{ nodes: number }>(admin, "fleet_status");
        assert.equal(status.nodes, (await hub.admin.fleet()).nodes.length);
        // A progress token turns the answer into an SSE stream carrying the notifications.
        const progress: Progress[] = [];
        const ran = await ok<{ state: string }>(admin, "fleet_node_exec", {
          nodes: ["m1", "m2"],
          command: "true",
        }, (p) => progress.push(p));
        assert.equal(ran.state, "done");
        assert.ok(progress.length >= 2, JSON.stringify(progress));
        assert.equal(progress.at(-1)?.progress, 2);
        assert.equal(progress.at(-1)?.total, 2);
      } finally {
        await admin.close();
      }

      const none = await fetch(`${hub.url}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
      });
      assert.equal(none.status, 401);
      assert.equal(none.headers.get("content-type"), "application/problem+json");
      await none.body?.cancel();

      const viewerToken = (await hub.admin.createToken({ kind: "viewer", name: "mcp-viewer" }))
        .token;
      const viewer = await connect(http(viewerToken));
      try {
        const names = (await toolsOf(viewer)).map((x) => x.name).sort();
        assert.deepEqual(names, READ_ONLY_TOOLS);
        await ok(viewer, "fleet_node_list");
        const refused = await call(viewer, "fleet_node_exec", {
          nodes: ["m1"],
          command: "touch /tmp/never",
        });
        assert.equal(refused.isError, true);
        assert.match(refused.text, /admin token/);
        assert.equal((await hub.admin.execRuns()).runs.length, 2, "the viewer ran nothing");
      } finally {
        await viewer.close();
      }
    });

    await t.step("--read-only: only read-only tools; stdout carries only JSON-RPC", async () => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          ...HUB_PERMISSIONS,
          join(ROOT, "hub/main.ts"),
          "mcp",
          "--hub",
          hub.url,
          "--token",
          hub.adminToken,
          "--read-only",
        ],
        env: { FLEET_LOG_LEVEL: "debug" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      const send = (m: unknown) => writer.write(new TextEncoder().encode(JSON.stringify(m) + "\n"));
      const lines: string[] = [];
      let buffered = "";
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const response = async (id: number) => {
        while (true) {
          const found = lines.map((l) => JSON.parse(l)).find((m) => m.id === id);
          if (found) return found;
          const { value, done } = await reader.read();
          if (done) throw new Error(`stdout ended before answer ${id}`);
          buffered += value;
          const parts = buffered.split("\n");
          buffered = parts.pop()!;
          lines.push(...parts.filter((l) => l !== ""));
        }
      };
      try {
        await send({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-06-18",
            capabilities: {},
            clientInfo: { name: "raw", version: "1" },
          },
        });
        await response(1);
        await send({ jsonrpc: "2.0", method: "notifications/initialized" });
        await send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
        const tools = (await response(2)).result.tools as {
          name: string;
          annotations: { readOnlyHint: boolean };
        }[];
        assert.deepEqual(tools.map((x) => x.name).sort(), READ_ONLY_TOOLS);
        assert.ok(tools.every((x) => x.annotations.readOnlyHint));
        await send({
          jsonrpc: "2.0",
          id: 3,
          method: "tools/call",
          params: { name: "fleet_status" },
        });
        assert.equal((await response(3)).result.isError, undefined);
        await send({
          jsonrpc: "2.0",
          id: 4,
          method: "tools/call",
          params: { name: "fleet_job_cancel", arguments: { id: "1" } },
        });
        const refused = await response(4);
        assert.equal(refused.result.isError, true);
        assert.match(refused.result.content[0].text, /read-only/);
      } finally {
        await writer.close();
      }
      const status = await child.status;
      const rest = buffered + (await new Response(
        new ReadableStream({
          pull: async (c) => {
            const { value, done } = await reader.read();
            if (done) c.close();
            else c.enqueue(new TextEncoder().encode(value));
          },
        }),
      ).text());
      lines.push(...rest.split("\n").filter((l) => l !== ""));
      const stderr = await new Response(child.stderr).text();
      assert.equal(status.code, 0, `exit code (stderr: ${stderr.slice(0, 500)})`);
      assert.ok(lines.length >= 4);
      for (const line of lines) {
        assert.equal(JSON.parse(line).jsonrpc, "2.0", `not JSON-RPC on stdout: ${line}`);
      }
      // The logs went to stderr.
      assert.match(stderr, /"msg":"mcp server on stdio"/);
    });
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "mcp: container tools on a real dockerd (ps, logs, restart, stop), audited as MCP",
  ignore: DOCKER_MISSING.length > 0 && !CI,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const engine = await startDockerd();
  const dir = await Deno.makeTempDir({ prefix: "fleet-mcp-docker-" });
  const hub = await startHub();
  const token = (await hub.admin.createToken({ kind: "node", node_id: "d1" })).token;
  const agent = startAgent({
    hub: hub.url,
    token,
    stateDir: join(dir, "agent"),
    interval: "1s",
    args: ["--jobs", "off", "--docker-socket", engine.socket],
  });
  const client = await connect(
    new StreamableHTTPClientTransport(new URL(`${hub.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${hub.adminToken}` } },
    }),
  );
  try {
    await engine.docker(
      "run",
      "-d",
      "--name",
      "ticker",
      "--network",
      "none",
      engine.image,
      "sh",
      "-c",
      // PID 1 of a container ignores SIGTERM unless it traps it: stop and restart are quick.
      "trap 'exit 0' TERM; i=0; while true; do echo \"tick-$i\"; i=$((i+1)); sleep 0.2; done",
    );
    await waitControl(hub.admin, "d1");
    await waitFor(async () => (await engine.docker("logs", "ticker")).includes("tick-5"), "logs");

    const ps = await ok<{ node_id: string; containers: { name: string; state: string }[] }>(
      client,
      "fleet_docker_ps",
      { node: "d1" },
    );
    assert.equal(ps.node_id, "d1");
    assert.equal(ps.containers.find((c) => c.name === "ticker")?.state, "running");

    const logs = await ok<{ logs: string; truncated: boolean }>(client, "fleet_docker_logs", {
      node: "d1",
      container: "ticker",
      tail: 3,
    });
    const lines = logs.logs.trim().split("\n");
    assert.equal(lines.length, 3, logs.logs);
    assert.ok(lines.every((l) => /^tick-\d+$/.test(l)), logs.logs);
    assert.equal(logs.truncated, false);

    const before = await engine.docker("inspect", "-f", "{{.State.StartedAt}}", "ticker");
    const restarted = await ok(client, "fleet_container_restart", {
      node: "d1",
      container: "ticker",
    });
    assert.deepEqual(restarted, {
      node_id: "d1",
      container: "ticker",
      action: "restart",
      ok: true,
    });
    assert.notEqual(await engine.docker("inspect", "-f", "{{.State.StartedAt}}", "ticker"), before);

    await ok(client, "fleet_container_stop", { node: "d1", container: "ticker" });
    assert.equal(await engine.docker("inspect", "-f", "{{.State.Running}}", "ticker"), "false");
    const stopped = await ok<{ containers: { name: string; state: string }[] }>(
      client,
      "fleet_docker_ps",
      { node: "d1", all: false },
    );
    assert.ok(!stopped.containers.some((c) => c.name === "ticker"), "only running ones");

    const missing = await call(client, "fleet_container_restart", {
      node: "d1",
      container: "nope",
    });
    assert.equal(missing.isError, true);
    assert.match(missing.text, /404/);

    const audit = (await hub.admin.audit({ action: "container." })).entries;
    assert.deepEqual(audit.map((e) => `${e.action} ${e.target} ${e.result} ${e.detail?.via}`), [
      "container.restart d1/nope error mcp",
      "container.stop d1/ticker ok mcp",
      "container.restart d1/ticker ok mcp",
    ]);
  } finally {
    await client.close();
    await agent.stop();
    await hub.stop();
    await engine.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "mcp: cancel and retry a job; a hub killed mid-session gives tool errors, then recovers",
  // The SDK's stdio transport keeps handles the sanitizers count.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "fleet-mcp-restart-" });
    let hub = await startHub({ dataDir });
    const port = hub.port;
    const client = await connect(stdioClient(hub, hub.adminToken));
    try {
      // No worker runs here, so the job stays pending until cancelled, then comes back on retry.
      const job = await ok<{ id: string }>(client, "fleet_job_submit", {
        executor: "process",
        command: "true",
      });
      const cancelled = await ok<{ job: { state: string } }>(client, "fleet_job_cancel", {
        id: job.id,
      });
      assert.equal(cancelled.job.state, "cancelled");
      assert.equal((await hub.admin.job(job.id)).state, "cancelled");
      const retried = await ok<{ job: { state: string } }>(client, "fleet_job_retry", {
        id: job.id,
      });
      assert.equal(retried.job.state, "pending");
      assert.equal((await hub.admin.job(job.id)).state, "pending");
      const actions = (await hub.admin.audit({ target: job.id })).entries.map((e) =>
        `${e.action} ${e.detail?.via ?? "-"}`
      );
      assert.deepEqual(actions.sort(), ["job.cancel mcp", "job.retry mcp", "job.submit mcp"]);

      // The hub is killed mid-session: the tool answers with an error and the server lives on.
      await hub.stop("SIGKILL");
      const down = await call(client, "fleet_status");
      assert.equal(down.isError, true);
      assert.match(down.text, /cannot reach the hub/);
      // Back on the same port and data: the same session works again.
      hub = await startHub({ dataDir, port });
      const back = await ok<{ nodes: unknown }>(client, "fleet_status");
      assert.ok(back, "fleet_status answers again");
      const again = await ok<{ job: { state: string } }>(client, "fleet_job_status", {
        id: job.id,
      });
      assert.equal(again.job.state, "pending");
    } finally {
      await client.close();
      await hub.stop();
    }
  },
});
