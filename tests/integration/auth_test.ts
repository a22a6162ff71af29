/**
 * Test 3 of the spine: the auth matrix. Every protected route refuses a missing token (401);
 * viewers cannot write (403); a node token acts only as its own node (403); a revoked token is
 * refused at once (401), also when revoked by the CLI beside the running hub.
 */
import assert from "node:assert/strict";
import { hubCli, loginCookie, startHub } from "../helpers/hub.ts";
import { makeSample, pushSeqs } from "../helpers/samples.ts";
import { ApiClient, ApiError } from "../../shared/api_client.ts";

/** Every protected route, with a body where it takes one. */
const PROTECTED: [string, string, unknown?][] = [
  ["POST", "/api/v1/ingest", { node_id: "n1", samples: [makeSample(1)] }],
  ["GET", "/api/v1/agent/self"],
  ["GET", "/api/v1/fleet"],
  ["GET", "/api/v1/fleet/events"],
  ["GET", "/api/v1/nodes/n1"],
  ["DELETE", "/api/v1/nodes/n1"],
  ["GET", "/api/v1/nodes/n1/metrics"],
  ["GET", "/api/v1/tokens"],
  ["POST", "/api/v1/tokens", { kind: "viewer" }],
  ["DELETE", "/api/v1/tokens/tok_x"],
  ["GET", "/api/v1/session"],
  ["GET", "/api/v1/hub/stats"],
];

async function status(
  url: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  extra: Record<string, string> = {},
) {
  const headers: Record<string, string> = { ...extra };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = res.headers.get("content-type") ?? "";
  await res.body?.cancel();
  return { status: res.status, type };
}

Deno.test("auth matrix: 401 without token, 403 for the wrong kind or node, 401 once revoked", async () => {
  const hub = await startHub();
  try {
    const viewer = (await hub.admin.createToken({ kind: "viewer", name: "wall" })).token;
    const node1 = await hub.admin.createToken({ kind: "node", node_id: "n1" });
    await hub.admin.createToken({ kind: "node", node_id: "n2" });
    await pushSeqs(hub.url, node1.token, "n1", 1, 3);

    for (const [method, path, body] of PROTECTED) {
      const r = await status(hub.url, method, path, undefined, body);
      assert.equal(r.status, 401, `${method} ${path} without a token`);
      assert.equal(r.type, "application/problem+json", `${method} ${path} answers a problem`);
      const wrong = await status(hub.url, method, path, "fca_not-a-real-token", body);
      assert.equal(wrong.status, 401, `${method} ${path} with an unknown token`);
    }
    // Public routes answer without a token.
    assert.equal((await status(hub.url, "GET", "/healthz")).status, 200);
    assert.equal((await status(hub.url, "GET", "/")).status, 200);

    // Viewers read but never write.
    assert.equal((await status(hub.url, "GET", "/api/v1/fleet", viewer)).status, 200);
    assert.equal((await status(hub.url, "GET", "/api/v1/nodes/n1/metrics", viewer)).status, 200);
    for (const [method, path, body] of PROTECTED) {
      if (method === "GET" && path !== "/api/v1/tokens" && path !== "/api/v1/agent/self") continue;
      const r = await status(hub.url, method, path, viewer, body);
      assert.equal(r.status, 403, `viewer: ${method} ${path}`);
    }

    // A node token only pushes as its own node, and reads nothing else.
    const asOther = await status(hub.url, "POST", "/api/v1/ingest", node1.token, {
      node_id: "n2",
      samples: [makeSample(1)],
    });
    assert.equal(asOther.status, 403);
    assert.equal((await hub.admin.node("n2")).last_seq, 0, "nothing stored for n2");
    assert.equal((await status(hub.url, "GET", "/api/v1/fleet", node1.token)).status, 403);
    assert.equal(
      (await status(hub.url, "POST", "/api/v1/tokens", node1.token, { kind: "admin" })).status,
      403,
    );
    // An admin token is not a node token.
    assert.equal(
      (await status(hub.url, "POST", "/api/v1/ingest", hub.adminToken, {
        node_id: "n1",
        samples: [makeSample(9)],
      }))
        .status,
      403,
    );

    // Revoked through the API: refused on the next request.
    const viewerId = (await hub.admin.tokens()).find((t) => t.name === "wall")!.id;
    await hub.admin.revokeToken(viewerId);
    assert.equal((await status(hub.url, "GET", "/api/v1/fleet", viewer)).status, 401);

    // Revoked by the CLI on the same data dir while the hub runs: refused on the next request.
    const cli = await hubCli(["token", "revoke", node1.id, "--data-dir", hub.dataDir]);
    assert.equal(cli.code, 0, cli.stderr);
    await assert.rejects(
      () => pushSeqs(hub.url, node1.token, "n1", 4, 4),
      (e: unknown) => e instanceof ApiError && e.status === 401,
    );
    // Token listings never carry secrets or hashes.
    const listed = JSON.stringify(await hub.admin.tokens());
    assert.ok(!listed.includes(node1.token) && !listed.includes("hash"));
  } finally {
    await hub.stop();
  }
});

Deno.test("auth matrix, browser sessions: dead cookies 401, viewers 403, cookie writes need the Origin", async () => {
  const hub = await startHub();
  try {
    const viewer = await hub.admin.createToken({ kind: "viewer", name: "wall" });
    const viewerCookie = await loginCookie(hub.url, viewer.token);
    const adminCookie = await loginCookie(hub.url, hub.adminToken);
    const dead = await loginCookie(hub.url, hub.adminToken);
    const logout = await fetch(`${hub.url}/api/v1/session`, {
      method: "DELETE",
      headers: { cookie: `fleet_session=${dead}`, origin: hub.url },
    });
    assert.equal(logout.status, 204);
    const cookie = (c: string, origin = true) => ({
      cookie: `fleet_session=${c}`,
      ...(origin ? { origin: hub.url } : {}),
    });
    for (const [method, path, body] of PROTECTED) {
      const d = await status(hub.url, method, path, undefined, body, cookie(dead));
      assert.equal(d.status, 401, `${method} ${path} with a logged-out cookie`);
      const raw = await status(hub.url, method, path, undefined, body, cookie(hub.adminToken));
      assert.equal(raw.status, 401, `${method} ${path} with a raw token as the cookie`);
      if (method === "GET") continue;
      const v = await status(hub.url, method, path, undefined, body, cookie(viewerCookie));
      assert.equal(v.status, 403, `viewer cookie: ${method} ${path}`);
      const noOrigin = await status(
        hub.url,
        method,
        path,
        undefined,
        body,
        cookie(adminCookie, false),
      );
      assert.equal(noOrigin.status, 403, `admin cookie without Origin: ${method} ${path}`);
    }
    // Node tokens cannot log in; a node principal never comes from a cookie.
    const node = await hub.admin.createToken({ kind: "node", node_id: "n9" });
    await assert.rejects(() => loginCookie(hub.url, node.token), /login refused: 403/);
  } finally {
    await hub.stop();
  }
});

Deno.test("token CLI: create prints only the token, list shows it, the token works", async () => {
  const hub = await startHub();
  try {
    const created = await hubCli([
      "token",
      "create",
      "--kind",
      "viewer",
      "--name",
      "ops",
      "--data-dir",
      hub.dataDir,
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^fcv_[A-Za-z0-9_-]{43}$/, "stdout is only the token");
    const api = new ApiClient({ hub: hub.url, token: created.stdout });
    assert.ok(Array.isArray((await api.fleet()).nodes));
    const list = await hubCli(["token", "list", "--data-dir", hub.dataDir]);
    assert.match(list.stdout, /viewer\s+ops/);
    assert.ok(!list.stdout.includes(created.stdout), "list never shows a secret");
    const bad = await hubCli(["token", "create", "--kind", "node", "--data-dir", hub.dataDir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--node ID is required/);
    // The admin token file is private.
    assert.equal((await Deno.stat(`${hub.dataDir}/admin.token`)).mode! & 0o777, 0o600);
  } finally {
    await hub.stop();
  }
});
