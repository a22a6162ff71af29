/**
 * Batch exec end to end with three real agent processes: per-node output and exit codes on the
 * stream and in the store, a non-zero exit, a timeout that kills the command with its children,
 * cancel, the output cap, an offline node reported at once, a cluster as target, bad input that
 * runs nothing, and a hub restart mid-run (the run is marked interrupted, the agent kills the
 * command and reconnects).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type HubProcess, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { type Child, waitFor } from "../helpers/process.ts";
import { SseClient } from "../helpers/sse.ts";
import { processAlive, waitControl, waitGone } from "../helpers/control.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import type { ExecInfo, ExecNodeResult } from "../../shared/protocol/mod.ts";

interface Agents {
  children: Child[];
  homes: Map<string, string>;
  stop(): Promise<void>;
}

/** Starts one agent per id, each with its own HOME (so `echo $HOME` tells them apart). */
async function startAgents(hub: HubProcess, ids: string[]): Promise<Agents> {
  const children: Child[] = [];
  const homes = new Map<string, string>();
  for (const id of ids) {
    const token = (await hub.admin.createToken({ kind: "node", node_id: id })).token;
    const home = await Deno.makeTempDir({ prefix: `fleet-home-${id}-` });
    homes.set(id, home);
    children.push(startAgent({
      hub: hub.url,
      token,
      stateDir: join(home, "state"),
      interval: "1s",
      args: ["--jobs", "off"],
      env: { HOME: home },
    }));
  }
  for (const id of ids) await waitControl(hub.admin, id);
  return {
    children,
    homes,
    stop: async () => void await Promise.all(children.map((c) => c.stop())),
  };
}

/** Waits (bounded) until the run is no longer running; returns it. */
function finished(api: ApiClient, id: string, timeoutMs = 30_000): Promise<ExecInfo> {
  return waitFor(
    async () => {
      const r = await api.execRun(id);
      return r.state !== "running" ? r : undefined;
    },
    `exec ${id} to finish`,
    timeoutMs,
    100,
  );
}

function text(r: ExecNodeResult, stream?: "stdout" | "stderr"): string {
  return r.output.filter((c) => !stream || c.stream === stream).map((c) => c.data).join("");
}

Deno.test("exec: three agents and an offline node; outputs, exit codes, stream events", async () => {
  const hub = await startHub();
  const agents = await startAgents(hub, ["e1", "e2", "e3"]);
  await hub.admin.createToken({ kind: "node", node_id: "gone1" }); // known, no agent
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  try {
    const started = await hub.admin.exec({
      nodes: ["e1", "e2", "e3", "gone1"],
      command: 'echo "home=$HOME"; echo "to-stderr" >&2; test "$HOME" != "' +
        agents.homes.get("e2") + '" || exit 7',
      timeout_s: 20,
    });
    // The offline node is reported in the answer itself, not waited for.
    const gone = started.results!.find((r) => r.node_id === "gone1")!;
    assert.equal(gone.state, "offline");
    assert.match(gone.error!, /not connected/);
    const run = await finished(hub.admin, started.id);
    assert.equal(run.state, "done");
    assert.deepEqual(run.counts, { exited: 3, offline: 1 });
    for (const id of ["e1", "e2", "e3"]) {
      const r = run.results!.find((x) => x.node_id === id)!;
      assert.equal(text(r, "stdout"), `home=${agents.homes.get(id)}\n`, id);
      assert.equal(text(r, "stderr"), "to-stderr\n", id);
      assert.equal(r.exit_code, id === "e2" ? 7 : 0, id);
      assert.equal(r.state, "exited");
    }
    // The stream carried the same story, keyed by exec id.
    const mine = (t: string) =>
      sse.data<Record<string, unknown>>(t).filter((e) => e.exec_id === started.id);
    await sse.next((e) => e.event === "exec.finished" && JSON.parse(e.data).exec_id === started.id);
    assert.deepEqual(mine("exec.started")[0].nodes, ["e1", "e2", "e3", "gone1"]);
    const exits = mine("exec.exit");
    assert.equal(exits.length, 4);
    assert.equal(exits.find((e) => e.node_id === "gone1")!.state, "offline");
    assert.equal(exits.find((e) => e.node_id === "e2")!.exit_code, 7);
    const e1Out = mine("exec.output").filter((e) => e.node_id === "e1" && e.stream === "stdout");
    assert.equal(e1Out.map((e) => e.data).join(""), `home=${agents.homes.get("e1")}\n`);
    // History: newest first, without output.
    const second = await hub.admin.exec({ nodes: ["e1"], command: "true", timeout_s: 5 });
    await finished(hub.admin, second.id);
    const list = await hub.admin.execRuns({ limit: 1 });
    assert.equal(list.runs[0].id, second.id);
    assert.equal(list.runs[0].results, undefined);
    assert.equal(list.next_cursor, second.id);
    const page2 = await hub.admin.execRuns({ limit: 1, cursor: list.next_cursor! });
    assert.equal(page2.runs[0].id, started.id);
    assert.equal((await hub.admin.execRuns({ node: "e3" })).runs.length, 1);
  } finally {
    await sse.close();
    await agents.stop();
    await hub.stop();
  }
});

Deno.test("exec: timeout kills the command with its children; cancel; output cap", async () => {
  const hub = await startHub({ args: ["--exec-output-cap", "4KB"] });
  const agents = await startAgents(hub, ["t1", "t2"]);
  try {
    // Timeout: a background child and the shell itself are killed (the whole group).
    const timed = await hub.admin.exec({
      nodes: ["t1"],
      command: "sleep 300 & echo child=$!; echo shell=$$; sleep 300",
      timeout_s: 1,
    });
    const t = (await finished(hub.admin, timed.id)).results![0];
    assert.equal(t.state, "timed_out");
    assert.equal(t.exit_code, null);
    const child = Number(/child=(\d+)/.exec(text(t))![1]);
    const shell = Number(/shell=(\d+)/.exec(text(t))![1]);
    await waitGone(child, "the timed-out command's background child");
    await waitGone(shell, "the timed-out shell");

    // Cancel: both nodes' process groups end; the run is cancelled.
    const long = await hub.admin.exec({
      nodes: ["t1", "t2"],
      command: "echo pid=$$; exec sleep 300",
      timeout_s: 120,
    });
    const pids = await waitFor(async () => {
      const r = await hub.admin.execRun(long.id);
      const found = r.results!.map((x) => /pid=(\d+)/.exec(text(x))?.[1]).filter(Boolean);
      return found.length === 2 ? found.map(Number) : undefined;
    }, "both nodes to print their pid");
    assert.ok(pids.every(processAlive));
    const cancelling = await hub.admin.cancelExec(long.id);
    assert.equal(cancelling.state, "running");
    const cancelled = await finished(hub.admin, long.id);
    assert.equal(cancelled.state, "cancelled");
    assert.deepEqual(cancelled.results!.map((r) => r.state), ["cancelled", "cancelled"]);
    for (const pid of pids) await waitGone(pid, "a cancelled command");
    await assert.rejects(
      () => hub.admin.cancelExec(long.id),
      (e) => e instanceof ApiError && e.status === 409,
    );

    // Output cap: the first 4 KB are kept and streamed, the rest counted, the tail kept.
    const big = await hub.admin.exec({
      nodes: ["t2"],
      command: "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done",
      timeout_s: 30,
    });
    const b = (await finished(hub.admin, big.id)).results![0];
    assert.equal(b.state, "exited");
    assert.equal(b.exit_code, 0);
    assert.equal(b.truncated, true);
    const expectedBytes = Array.from({ length: 2000 }, (_, i) => `line-${i}\n`).join("").length;
    assert.equal(b.output_bytes, expectedBytes);
    assert.ok(text(b).length <= 4096 && text(b).startsWith("line-0\nline-1\n"));
    assert.match(b.tail!, /line-1999\n$/);
  } finally {
    await agents.stop();
    await hub.stop();
  }
});

Deno.test("exec: a cluster as target; bad input runs nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-exec-cluster-" });
  await Deno.writeTextFile(
    join(dir, "fleet.yml"),
    "clusters:\n  - id: gpu\n    nodes: [k1, k2]\n  - id: empty\n    nodes: []\n",
  );
  const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
  const agents = await startAgents(hub, ["k1", "k2", "k3"]);
  try {
    const run = await hub.admin.exec({ cluster: "gpu", command: "echo ok", timeout_s: 10 });
    assert.equal(run.cluster, "gpu");
    assert.deepEqual(run.nodes, ["k1", "k2"]);
    const done = await finished(hub.admin, run.id);
    assert.deepEqual(done.results!.map((r) => text(r)), ["ok\n", "ok\n"]);

    const before = (await hub.admin.execRuns()).runs.length;
    const auditBefore = (await hub.admin.audit({ action: "exec.run" })).entries.length;
    const marker = join(dir, "must-not-exist");
    const bad: [unknown, number, RegExp][] = [
      [{ nodes: ["k1", "nope"], command: `touch ${marker}` }, 400, /unknown node nope/],
      [{ nodes: ["k1"], command: "" }, 400, /command is empty/],
      [{ nodes: ["k1"], command: "   \n" }, 400, /command is empty/],
      [{ cluster: "nope", command: `touch ${marker}` }, 400, /unknown cluster nope/],
      [{ cluster: "empty", command: `touch ${marker}` }, 400, /has no nodes/],
      [
        { nodes: ["k1"], cluster: "gpu", command: `touch ${marker}` },
        400,
        /either nodes or cluster/,
      ],
      [{ command: `touch ${marker}` }, 400, /either nodes or cluster/],
      [{ nodes: ["k1"], command: `touch ${marker}`, timeout_s: 0 }, 400, /timeout_s/],
      [{ nodes: ["bad id!"], command: `touch ${marker}` }, 400, /node id/],
      [{ nodes: ["k1"], command: `touch ${marker}`, extra: 1 }, 400, /extra/],
    ];
    for (const [body, status, re] of bad) {
      const res = await fetch(`${hub.url}/api/v1/exec`, {
        method: "POST",
        headers: { authorization: `Bearer ${hub.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const problem = await res.json();
      assert.equal(res.status, status, JSON.stringify(body));
      assert.match(JSON.stringify(problem), re, JSON.stringify(body));
    }
    const notJson = await fetch(`${hub.url}/api/v1/exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.adminToken}`, "content-type": "application/json" },
      body: "{nope",
    });
    assert.equal(notJson.status, 400);
    await notJson.body?.cancel();
    // Unknown runs.
    await assert.rejects(
      () => hub.admin.execRun("999"),
      (e) => e instanceof ApiError && e.status === 404,
    );
    await assert.rejects(
      () => hub.admin.cancelExec("999"),
      (e) => e instanceof ApiError && e.status === 404,
    );
    assert.equal((await hub.admin.execRuns()).runs.length, before);
    assert.equal((await hub.admin.audit({ action: "exec.run" })).entries.length, auditBefore);
    await assert.rejects(() => Deno.stat(marker), Deno.errors.NotFound);
  } finally {
    await agents.stop();
    await hub.stop();
  }
});

Deno.test("exec: a hub restart mid-run marks it interrupted; the agent kills it and reconnects", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "fleet-exec-restart-" });
  let hub = await startHub({ dataDir });
  const port = hub.port;
  const agents = await startAgents(hub, ["r1"]);
  try {
    const run = await hub.admin.exec({
      nodes: ["r1"],
      command: "echo pid=$$; exec sleep 300",
      timeout_s: 600,
    });
    const pid = await waitFor(async () => {
      const r = await hub.admin.execRun(run.id);
      const m = /pid=(\d+)/.exec(text(r.results![0]));
      return m ? Number(m[1]) : undefined;
    }, "the command's pid");
    assert.ok(processAlive(pid));
    // SIGKILL: the hub gets no chance to finish anything.
    await hub.stop("SIGKILL");
    // The agent lost its channel and killed what ran on it.
    await waitGone(pid, "the command of the lost channel");
    hub = await startHub({ dataDir, port });
    const after = await hub.admin.execRun(run.id);
    assert.equal(after.state, "interrupted");
    assert.equal(after.results![0].state, "interrupted");
    assert.match(after.results![0].error!, /hub stopped/);
    await waitControl(hub.admin, "r1", true, 60_000);
    // The reconnected agent runs the next command normally.
    const next = await hub.admin.exec({ nodes: ["r1"], command: "echo back", timeout_s: 10 });
    const done = await finished(hub.admin, next.id);
    assert.equal(text(done.results![0]), "back\n");
  } finally {
    await agents.stop();
    await hub.stop();
  }
});
