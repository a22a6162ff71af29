/**
 * Attacks on identity and sessions, against a real hub (and a real agent for the terminal):
 * an enrollment token cannot take over a live node (a hostname collision gets a fresh id, a
 * named one 409, only `--reenroll` replaces); a second control socket with another token cannot
 * push the live one out; revoking a token, deleting a node, logging out and session expiry end
 * every stream and socket at once; the cookie holds a session id, never the token; writes with
 * the cookie need a same-origin Origin (scheme included) while bearer calls are unaffected.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hubCli, loginCookie, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { makeSample } from "../helpers/samples.ts";
import { SseClient } from "../helpers/sse.ts";
import { TerminalClient, waitControl, waitGone, WsClient } from "../helpers/control.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import { AGENT_CLOSE, TERMINAL_CLOSE } from "../../shared/protocol/mod.ts";
import { findExecutable } from "../../agent/collect/sampler.ts";

const SCRIPT_MISSING = !findExecutable("script");

function agentWs(hub: string, token: string): WsClient {
  return new WsClient(`${hub.replace(/^http/, "ws")}/api/v1/agent/ws`, {
    authorization: `Bearer ${token}`,
  });
}

/** A raw control connection that says hello and waits for the welcome. */
async function helloAgent(hub: string, token: string): Promise<WsClient> {
  const ws = agentWs(hub, token);
  await ws.opened;
  ws.send({ type: "hello", version: "test", capabilities: ["exec"] });
  await ws.next((f) => f.type === "welcome");
  return ws;
}

async function closedWith(ws: WsClient, timeoutMs = 10_000): Promise<number | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    ws.closed,
    new Promise<undefined>((res) => timer = setTimeout(() => res(undefined), timeoutMs)),
  ]);
  clearTimeout(timer);
  return r?.code;
}

const rejectsWith = (status: number, re?: RegExp) => (e: unknown) =>
  e instanceof ApiError && e.status === status && (!re || re.test(e.message));

Deno.test("enrollment cannot take over a live node; --reenroll replaces it and cuts the old agent off", async () => {
  const hub = await startHub({ args: ["--control-ping", "500ms"] });
  const sockets: WsClient[] = [];
  try {
    const real = await hub.admin.createToken({ kind: "node", node_id: "agx-01" });
    const realWs = await helloAgent(hub.url, real.token);
    sockets.push(realWs);
    const anon = new ApiClient({ hub: hub.url });

    // A token whose name is not a node id, and a hostname that names the live node.
    const loose = await hub.admin.createToken({ kind: "enrollment", name: "lab bench #3" });
    const got = await anon.enroll({ token: loose.token, hostname: "agx-01.lab", arch: "aarch64" });
    assert.equal(got.node_id, "agx-01-2", "a fresh id, never the live node's");
    const impostor = new ApiClient({ hub: hub.url, token: got.token });
    assert.equal((await impostor.self()).node_id, "agx-01-2");
    await assert.rejects(
      () => impostor.ingest({ node_id: "agx-01", samples: [makeSample(1)] }),
      rejectsWith(403),
    );
    const audit = await hub.admin.audit({ action: "node.enroll" });
    const entry = audit.entries.find((e) => e.target === "agx-01-2")!;
    assert.equal(entry.detail?.requested, "agx-01");
    assert.equal(entry.actor.kind, "enrollment");

    // The impostor's control socket is its own node's; the real agent keeps agx-01.
    const impWs = await helloAgent(hub.url, got.token);
    sockets.push(impWs);
    assert.equal(realWs.isClosed, false);
    assert.equal((await hub.admin.node("agx-01")).control, true);

    // A token named after the live node: refused with 409, and not used up.
    const named = await hub.admin.createToken({ kind: "enrollment", name: "agx-01" });
    await assert.rejects(
      () => anon.enroll({ token: named.token, hostname: "whatever", arch: "aarch64" }),
      rejectsWith(409, /already has a live token.*--reenroll/),
    );
    const namedRow = (await hub.admin.tokens()).find((t) => t.id === named.id)!;
    assert.equal(namedRow.used_at, null, "a refused enrollment does not use the token");
    const refused = await hub.admin.audit({ action: "node.enroll" });
    assert.ok(refused.entries.some((e) => e.target === "agx-01" && e.result === "error"));

    // Making an enrollment token for the live node without --reenroll is refused at once.
    await assert.rejects(
      () => hub.admin.createToken({ kind: "enrollment", node_id: "agx-01" }),
      rejectsWith(409, /already has a live token/),
    );
    const cli = await hubCli([
      "token",
      "create",
      "--kind",
      "enrollment",
      "--node",
      "agx-01",
      "--data-dir",
      hub.dataDir,
    ]);
    assert.equal(cli.code, 1, "a refusal, not a usage error");
    assert.match(cli.stderr, /already has a live token/);
    await assert.rejects(
      () => hub.admin.createToken({ kind: "viewer", reenroll: true }),
      rejectsWith(400, /reenroll/),
    );

    // Re-enrollment: the old token stops, its agent is cut off, the new one is agx-01.
    const re = await hub.admin.createToken({
      kind: "enrollment",
      node_id: "agx-01",
      reenroll: true,
    });
    assert.equal(re.reenroll, true);
    const again = await anon.enroll({ token: re.token, hostname: "new-disk", arch: "aarch64" });
    assert.equal(again.node_id, "agx-01");
    assert.equal(await closedWith(realWs), AGENT_CLOSE.revoked, "old agent cut off at once");
    await assert.rejects(
      () => new ApiClient({ hub: hub.url, token: real.token }).self(),
      rejectsWith(401),
    );
    const fresh = await helloAgent(hub.url, again.token);
    sockets.push(fresh);
    const reAudit = await hub.admin.audit({ action: "node.reenroll" });
    assert.deepEqual(reAudit.entries[0].detail?.revoked, [real.id]);
  } finally {
    for (const s of sockets) await s.close();
    await hub.stop();
  }
});

Deno.test("control socket: another token cannot replace the live one; sockets per token are capped", async () => {
  const hub = await startHub({ args: ["--control-ping", "500ms"] });
  const sockets: WsClient[] = [];
  try {
    const a = await hub.admin.createToken({ kind: "node", node_id: "cs1" });
    const b = await hub.admin.createToken({ kind: "node", node_id: "cs1" });
    const first = await helloAgent(hub.url, a.token);
    sockets.push(first);

    const second = agentWs(hub.url, b.token);
    sockets.push(second);
    await second.opened;
    second.send({ type: "hello", version: "test", capabilities: ["exec"] });
    assert.equal(await closedWith(second), AGENT_CLOSE.taken);
    assert.equal(first.isClosed, false, "the live connection stays");

    // The same token may take over (an agent reconnecting after a power cut).
    const third = await helloAgent(hub.url, a.token);
    sockets.push(third);
    assert.equal(await closedWith(first), AGENT_CLOSE.replaced);

    // At most two sockets per node token: the third upgrade is refused before it opens.
    const idle = agentWs(hub.url, a.token);
    sockets.push(idle);
    await idle.opened;
    const res = await fetch(`${hub.url}/api/v1/agent/ws`, {
      headers: {
        authorization: `Bearer ${a.token}`,
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    assert.equal(res.status, 429);
    assert.match((await res.json()).detail, /already holds 2 control sockets/);
    // A socket that never says hello is closed after a few refused frames.
    for (let i = 0; i < 8; i++) idle.send("garbage");
    assert.equal(await closedWith(idle), AGENT_CLOSE.noHello);
  } finally {
    for (const s of sockets) await s.close();
    await hub.stop();
  }
});

Deno.test({
  name: "revocation ends live sessions: terminal, SSE and control socket close at once",
  ignore: SCRIPT_MISSING,
  fn: async () => {
    const hub = await startHub({ args: ["--control-ping", "500ms"] });
    const nodeToken = (await hub.admin.createToken({ kind: "node", node_id: "rv1" })).token;
    const dir = await Deno.makeTempDir({ prefix: "fleet-rv1-" });
    const agent = startAgent({
      hub: hub.url,
      token: nodeToken,
      stateDir: join(dir, "state"),
      interval: "1s",
      args: ["--jobs", "off"],
    });
    const ops = await hub.admin.createToken({ kind: "admin", name: "ops" });
    const wall = await hub.admin.createToken({ kind: "viewer", name: "wall" });
    let term: TerminalClient | undefined;
    const streams: SseClient[] = [];
    const sockets: WsClient[] = [];
    try {
      await waitControl(hub.admin, "rv1");
      term = TerminalClient.open(hub.url, "rv1", { bearer: ops.token });
      await term.ready();
      term.type("echo shell-$$\n");
      const pid = Number((await term.waitOutput(/shell-(\d+)/))[1]);
      const opsSse = await SseClient.connect(hub.url, ops.token);
      const opsCookieSse = await SseClient.connectCookie(
        hub.url,
        await loginCookie(hub.url, ops.token),
      );
      const wallSse = await SseClient.connect(hub.url, wall.token);
      streams.push(opsSse, opsCookieSse, wallSse);

      // Revoked through the API: everything the token opened ends now.
      await hub.admin.revokeToken(ops.id);
      assert.equal(await closedWith(term), TERMINAL_CLOSE.revoked);
      await waitGone(pid, "the revoked terminal's shell");
      assert.ok(await opsSse.ended(), "bearer SSE stream ended");
      assert.ok(await opsCookieSse.ended(), "cookie SSE stream ended");
      assert.equal(wallSse.closed, false, "another token's stream goes on");
      const audit = await hub.admin.audit({ action: "token.revoke" });
      assert.ok((audit.entries[0].detail?.closed as number) >= 3);

      // Revoked by the CLI beside the running hub: the sweep ends the stream within seconds.
      const cli = await hubCli(["token", "revoke", wall.id, "--data-dir", hub.dataDir]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.ok(await wallSse.ended(10_000), "CLI revocation ended the viewer's stream");

      // Deleting a node closes its agent's control socket.
      const gone = await hub.admin.createToken({ kind: "node", node_id: "rv2" });
      const ws = await helloAgent(hub.url, gone.token);
      sockets.push(ws);
      const del = await fetch(`${hub.url}/api/v1/nodes/rv2`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${hub.adminToken}` },
      });
      assert.equal(del.status, 204);
      assert.equal(await closedWith(ws), AGENT_CLOSE.revoked);
    } finally {
      await term?.close();
      for (const s of streams) await s.close();
      for (const s of sockets) await s.close();
      await agent.stop();
      await hub.stop();
    }
  },
});

Deno.test("browser sessions: the cookie is a session id; logout, revocation, idle time and lifetime end it", async () => {
  const hub = await startHub({ args: ["--session-idle", "3s", "--session-lifetime", "9s"] });
  const streams: SseClient[] = [];
  try {
    const res = await fetch(`${hub.url}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: hub.url },
      body: JSON.stringify({ token: hub.adminToken }),
    });
    await res.body?.cancel();
    const setCookie = res.headers.get("set-cookie") ?? "";
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    assert.match(setCookie, /Max-Age=9\b/);
    const cookie = /fleet_session=([^;]+)/.exec(setCookie)![1];
    assert.match(cookie, /^fcs_/);
    assert.ok(!setCookie.includes(hub.adminToken), "the cookie never carries the token");
    // Only a hash of the session id is stored.
    const stored = new TextDecoder().decode(await Deno.readFile(join(hub.dataDir, "fleet.db")));
    const wal = await Deno.readFile(join(hub.dataDir, "fleet.db-wal")).catch(() => undefined);
    const walText = wal ? new TextDecoder().decode(wal) : "";
    assert.ok(!stored.includes(cookie) && !walText.includes(cookie), "session id at rest");

    const asCookie = (c: string, method = "GET", path = "/api/v1/session") =>
      fetch(`${hub.url}${path}`, {
        method,
        headers: { cookie: `fleet_session=${c}`, origin: hub.url },
      }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      });
    assert.equal(await asCookie(cookie), 200);
    // A raw token in the cookie is not a session.
    assert.equal(await asCookie(hub.adminToken), 401);

    // Logout ends the session on the hub, and the stream it opened.
    const sse = await SseClient.connectCookie(hub.url, cookie);
    streams.push(sse);
    assert.equal(await asCookie(cookie, "DELETE"), 204);
    assert.ok(await sse.ended(), "logout ended the session's stream");
    assert.equal(await asCookie(cookie), 401, "the old cookie is dead");

    // Revoking the token ends its sessions.
    const viewer = await hub.admin.createToken({ kind: "viewer" });
    const vCookie = await loginCookie(hub.url, viewer.token);
    assert.equal(await asCookie(vCookie), 200);
    await hub.admin.revokeToken(viewer.id);
    assert.equal(await asCookie(vCookie), 401);

    // Idle: unused for longer than --session-idle, it ends; an open live view keeps it in use.
    const idle = await loginCookie(hub.url, hub.adminToken);
    const watched = await loginCookie(hub.url, hub.adminToken);
    const wallSse = await SseClient.connectCookie(hub.url, watched);
    streams.push(wallSse);
    await new Promise((r) => setTimeout(r, 4_500));
    assert.equal(await asCookie(idle), 401, "idle session ended");
    assert.equal(await asCookie(watched), 200, "a session with an open stream stays");
    // Lifetime: it ends at --session-lifetime whatever its use, and so does its stream.
    assert.ok(await wallSse.ended(12_000), "the stream ended with the session's lifetime");
    assert.equal(await asCookie(watched), 401);
  } finally {
    for (const s of streams) await s.close();
    await hub.stop();
  }
});

Deno.test("cookie writes need a same-origin Origin (scheme included); bearer calls are unaffected", async () => {
  const hub = await startHub();
  try {
    const cookie = await loginCookie(hub.url, hub.adminToken);
    const job = await hub.admin.submitJob({ executor: "process", command: ["true"] });
    const cancel = (headers: Record<string, string>) =>
      fetch(`${hub.url}/api/v1/jobs/${job.id}/cancel`, {
        method: "POST",
        headers: { cookie: `fleet_session=${cookie}`, "content-type": "text/plain", ...headers },
        body: "x",
      }).then(async (r) => ({ status: r.status, body: await r.text() }));
    const https = hub.url.replace(/^http:/, "https:");
    for (
      const [headers, re] of [
        [{ origin: "https://evil.example" }, /evil\.example/],
        [{ origin: https }, /https:/],
        [{}, /Origin/],
      ] as const
    ) {
      const r = await cancel(headers);
      assert.equal(r.status, 403, `${JSON.stringify(headers)}: ${r.body}`);
      assert.match(JSON.parse(r.body).detail, re);
      assert.equal((await hub.admin.job(job.id)).state, "pending", "nothing changed");
    }
    // The hub's own page may.
    const own = await fetch(`${hub.url}/api/v1/jobs/${job.id}/cancel`, {
      method: "POST",
      headers: { cookie: `fleet_session=${cookie}`, origin: hub.url },
    });
    await own.body?.cancel();
    assert.equal(own.status, 200);
    assert.equal((await hub.admin.job(job.id)).state, "cancelled");
    // Reads with the cookie need no Origin; bearer writes need none either.
    const read = await fetch(`${hub.url}/api/v1/fleet`, {
      headers: { cookie: `fleet_session=${cookie}` },
    });
    await read.body?.cancel();
    assert.equal(read.status, 200);
    const other = await hub.admin.submitJob({ executor: "process", command: ["true"] });
    assert.equal((await hub.admin.jobAction(other.id, "cancel")).state, "cancelled");

    // The terminal compares the scheme too: https:// of the same host is another origin.
    await hub.admin.createToken({ kind: "node", node_id: "any" });
    const res2 = await fetch(`${hub.url}/api/v1/terminal/any`, {
      headers: {
        cookie: `fleet_session=${cookie}`,
        origin: https,
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    assert.equal(res2.status, 403);
    assert.match((await res2.json()).detail, /may not open a terminal/);
  } finally {
    await hub.stop();
  }
});
