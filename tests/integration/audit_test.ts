/**
 * The audit log: token changes over HTTP and from the local CLI are recorded with who did it,
 * entries page newest first and filter by action, viewers may read it and node tokens may not,
 * every control route refuses viewer and node tokens (and changes nothing), and job submit,
 * cancel and retry and roamer assign and release are recorded with who did them.
 */
import assert from "node:assert/strict";
import { hubCli, startHub } from "../helpers/hub.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";

const status = (code: number) => (e: unknown) => e instanceof ApiError && e.status === code;

Deno.test("audit: token create and revoke (HTTP and CLI), paging, filters, who may read", async () => {
  const hub = await startHub();
  try {
    const ops = await hub.admin.createToken({ kind: "admin", name: "ops" });
    const opsApi = new ApiClient({ hub: hub.url, token: ops.token });
    const viewer = await opsApi.createToken({ kind: "viewer", name: "wall" });
    const node = await opsApi.createToken({ kind: "node", node_id: "a1" });
    await opsApi.revokeToken(viewer.id);
    const cli = await hubCli([
      "token",
      "create",
      "--kind",
      "viewer",
      "--name",
      "cli-made",
      "--data-dir",
      hub.dataDir,
    ]);
    assert.equal(cli.code, 0, cli.stderr);

    const all = (await hub.admin.audit()).entries;
    assert.deepEqual(all.map((e) => e.action), [
      "token.create",
      "token.revoke",
      "token.create",
      "token.create",
      "token.create",
    ]);
    const [fromCli, revoke, nodeCreate, viewerCreate, opsCreate] = all;
    assert.equal(fromCli.actor.kind, "cli");
    assert.equal(fromCli.detail?.name, "cli-made");
    assert.deepEqual(revoke.actor, { name: "ops", kind: "admin", token_id: ops.id });
    assert.equal(revoke.target, viewer.id);
    assert.equal(revoke.result, "ok");
    assert.deepEqual(nodeCreate.detail, { kind: "node", name: "a1", node_id: "a1" });
    assert.equal(viewerCreate.target, viewer.id);
    assert.deepEqual(opsCreate.actor, {
      name: "admin",
      kind: "admin",
      token_id: opsCreate.actor.token_id,
    });
    // Secrets never appear.
    for (const t of [ops, viewer, node]) assert.ok(!JSON.stringify(all).includes(t.token));
    assert.ok(all.every((e, i) => i === 0 || Number(e.id) < Number(all[i - 1].id)));
    assert.ok(all.every((e) => e.at > 0));

    // Paging: newest first, the cursor continues where the last page ended.
    const p1 = await hub.admin.audit({ limit: 2 });
    assert.deepEqual(p1.entries.map((e) => e.id), all.slice(0, 2).map((e) => e.id));
    const p2 = await hub.admin.audit({ limit: 2, cursor: p1.next_cursor! });
    assert.deepEqual(p2.entries.map((e) => e.id), all.slice(2, 4).map((e) => e.id));
    const p3 = await hub.admin.audit({ limit: 2, cursor: p2.next_cursor! });
    assert.equal(p3.entries.length, 1);
    assert.equal(p3.next_cursor, null);
    // Filters: one action, an action family, a target, an actor.
    assert.equal((await hub.admin.audit({ action: "token.revoke" })).entries.length, 1);
    assert.equal((await hub.admin.audit({ action: "token." })).entries.length, 5);
    assert.equal((await hub.admin.audit({ action: "exec." })).entries.length, 0);
    assert.equal((await hub.admin.audit({ target: viewer.id })).entries.length, 2);
    assert.equal((await hub.admin.audit({ actor: "ops" })).entries.length, 3);
    await assert.rejects(() => hub.admin.request("GET", "/api/v1/audit?limit=0"), status(400));
    await assert.rejects(() => hub.admin.request("GET", "/api/v1/audit?bogus=1"), status(400));

    // Viewers read; node tokens and no token do not.
    const wall = await hub.admin.createToken({ kind: "viewer" });
    const wallApi = new ApiClient({ hub: hub.url, token: wall.token });
    assert.ok((await wallApi.audit()).entries.length >= 5);
    await assert.rejects(
      () => new ApiClient({ hub: hub.url, token: node.token }).audit(),
      status(403),
    );
    await assert.rejects(() => new ApiClient({ hub: hub.url }).audit(), status(401));
  } finally {
    await hub.stop();
  }
});

Deno.test("control routes refuse viewer and node tokens and change nothing", async () => {
  const hub = await startHub();
  try {
    const viewer = (await hub.admin.createToken({ kind: "viewer" })).token;
    const node = (await hub.admin.createToken({ kind: "node", node_id: "n1" })).token;
    const routes: [string, string, unknown?][] = [
      ["POST", "/api/v1/exec", { nodes: ["n1"], command: "true" }],
      ["POST", "/api/v1/exec/1/cancel"],
      ["GET", "/api/v1/terminal/n1"],
      ["POST", "/api/v1/nodes/n1/containers/c1/restart"],
      ["POST", "/api/v1/nodes/n1/containers/c1/stop"],
      ["POST", "/api/v1/nodes/n1/containers/c1/remove"],
    ];
    for (const [method, path, body] of routes) {
      for (const [token, code] of [[viewer, 403], [node, 403], [undefined, 401]] as const) {
        const res = await fetch(hub.url + path, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body ? { "content-type": "application/json" } : {}),
            ...(path.includes("terminal") ? { upgrade: "websocket", connection: "Upgrade" } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
        assert.equal(res.status, code, `${method} ${path} with ${token?.slice(0, 4)}`);
        assert.match(res.headers.get("content-type") ?? "", /problem\+json/);
        await res.body?.cancel();
      }
    }
    // Nothing ran, nothing was recorded but the tokens made above.
    assert.equal((await hub.admin.execRuns()).runs.length, 0);
    const actions = (await hub.admin.audit()).entries.map((e) => e.action);
    assert.deepEqual(actions, ["token.create", "token.create"]);
  } finally {
    await hub.stop();
  }
});

Deno.test("audit: job submit, cancel, retry and roamer assign, release over HTTP", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-audit-jobs-" });
  const config = `${dir}/fleet.yml`;
  await Deno.writeTextFile(
    config,
    "clusters:\n  - id: lab\n    nodes: [w1]\nroamers:\n  nodes: [r1]\n",
  );
  const hub = await startHub({ args: ["--config", config] });
  try {
    const ops = await hub.admin.createToken({ kind: "admin", name: "ops" });
    const api = new ApiClient({ hub: hub.url, token: ops.token });
    const job = await api.submitJob({ executor: "process", command: "sleep 1", cluster: "lab" });
    await api.jobAction(job.id, "cancel");
    await api.jobAction(job.id, "retry");
    await api.assignRoamer("r1", { cluster: "lab", mode: "manual" });
    await api.releaseRoamer("r1");
    // Refused changes are not entries: cancelling twice, releasing what is being released.
    await api.jobAction(job.id, "cancel");
    await assert.rejects(() => api.jobAction(job.id, "cancel"), status(409));
    await assert.rejects(() => api.releaseRoamer("r1"), status(409));

    const entries = (await hub.admin.audit({ actor: "ops" })).entries;
    assert.deepEqual(entries.map((e) => [e.action, e.target]), [
      ["job.cancel", job.id],
      ["roamer.release", "r1"],
      ["roamer.assign", "r1"],
      ["job.retry", job.id],
      ["job.cancel", job.id],
      ["job.submit", job.id],
    ]);
    for (const e of entries) {
      assert.deepEqual(e.actor, { name: "ops", kind: "admin", token_id: ops.id });
      assert.equal(e.result, "ok");
      assert.equal(e.detail?.via, undefined, "not through MCP");
    }
    const byAction = new Map(entries.map((e) => [e.action, e]));
    assert.equal(byAction.get("job.submit")!.detail?.command, "sleep 1");
    assert.equal(byAction.get("job.submit")!.detail?.cluster, "lab");
    assert.equal(byAction.get("job.retry")!.detail?.state, "pending");
    assert.equal(byAction.get("roamer.assign")!.detail?.mode, "manual");
    assert.equal(byAction.get("roamer.release")!.detail?.from, "ASSIGNED");
    assert.equal((await hub.admin.audit({ action: "job." })).entries.length, 4);
    assert.equal((await hub.admin.audit({ action: "roamer." })).entries.length, 2);
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
