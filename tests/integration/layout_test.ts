/**
 * Canvas support on the hub: node positions saved per token kind (`GET/PUT /api/v1/layout`),
 * bad layouts refused with the field named and nothing changed, the template list, and the
 * embedded UI served with hashed, immutable, gzip-able assets under a strict CSP.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import type { Layout, Problem, TemplateInfo } from "../../shared/protocol/mod.ts";

function call(url: string, token: string, method: string, path: string, body?: unknown) {
  return fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function layoutOf(url: string, token: string): Promise<Layout> {
  const res = await call(url, token, "GET", "/api/v1/layout");
  assert.equal(res.status, 200);
  return await res.json();
}

Deno.test("layout: saved per token kind, bad input refused naming the field, kept across restarts", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "fleet-layout-" });
  let hub = await startHub({ dataDir });
  try {
    const viewer = (await hub.admin.createToken({ kind: "viewer", name: "wall" })).token;
    const node = (await hub.admin.createToken({ kind: "node", node_id: "n1" })).token;
    assert.deepEqual(await layoutOf(hub.url, hub.adminToken), { positions: {} });

    const admin: Layout = { positions: { "agx-01": { x: 120.5, y: -40 } }, hub: { x: 10, y: 20 } };
    const put = await call(hub.url, hub.adminToken, "PUT", "/api/v1/layout", admin);
    assert.equal(put.status, 200);
    assert.deepEqual(await put.json(), { saved: 1 });

    // The viewer (a wall screen) arranges its own copy; the admin's stays as it was.
    const wall: Layout = { positions: { "agx-02": { x: 0, y: 500 } } };
    assert.equal((await call(hub.url, viewer, "PUT", "/api/v1/layout", wall)).status, 200);
    assert.deepEqual(await layoutOf(hub.url, viewer), wall);
    assert.deepEqual(await layoutOf(hub.url, hub.adminToken), admin);

    // Node tokens have no layout.
    const asNode = await call(hub.url, node, "GET", "/api/v1/layout");
    assert.equal(asNode.status, 403);
    await asNode.body?.cancel();

    const bad: [unknown, RegExp][] = [
      [{ positions: { "agx-01": { x: "left", y: 0 } } }, /positions\.agx-01\.x/],
      [{ positions: { "../etc": { x: 0, y: 0 } } }, /positions/],
      [{ positions: {}, extra: 1 }, /extra/],
      [{ positions: { a: { x: 1e9, y: 0 } } }, /positions\.a\.x/],
      [{}, /positions/],
    ];
    for (const [body, field] of bad) {
      const res = await call(hub.url, hub.adminToken, "PUT", "/api/v1/layout", body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const p = await res.json() as Problem;
      assert.match(JSON.stringify(p), field, JSON.stringify(p));
    }
    assert.deepEqual(
      await layoutOf(hub.url, hub.adminToken),
      admin,
      "refused bodies changed nothing",
    );

    await hub.stop();
    hub = await startHub({ dataDir });
    assert.deepEqual(await layoutOf(hub.url, hub.adminToken), admin, "kept across a restart");
  } finally {
    await hub.stop();
  }
});

Deno.test("templates: listed from fleet.yml for the job and roamer dialogs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-templates-" });
  const config = join(dir, "fleet.yml");
  await Deno.writeTextFile(
    config,
    `templates:
  sdxl:
    image: registry.local/sdxl:1.0
    gpu: true
    startup_s: 40
    timeout: 10m
  echo:
    command: ["echo", "hi"]
`,
  );
  const hub = await startHub({ args: ["--config", config] });
  try {
    const res = await call(hub.url, hub.adminToken, "GET", "/api/v1/templates");
    const list = await res.json() as TemplateInfo[];
    assert.deepEqual(list, [
      {
        name: "echo",
        executor: "process",
        image: null,
        command: ["echo", "hi"],
        gpu: false,
        startup_s: null,
        timeout_s: null,
        memory_b: null,
        cpus: null,
      },
      {
        name: "sdxl",
        executor: "docker",
        image: "registry.local/sdxl:1.0",
        command: null,
        gpu: true,
        startup_s: 40,
        timeout_s: 600,
        memory_b: null,
        cpus: null,
      },
    ]);
    const anon = await fetch(`${hub.url}/api/v1/templates`);
    assert.equal(anon.status, 401);
    await anon.body?.cancel();
  } finally {
    await hub.stop();
  }
});

Deno.test("the embedded UI: page, hashed immutable assets, gzip, strict CSP, no token needed for the shell", async () => {
  const hub = await startHub();
  try {
    const page = await fetch(`${hub.url}/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    const html = await page.text();
    // Styles: the page's own sheet and <style> elements carrying this response's nonce only.
    const nonce = csp.match(/style-src 'self' 'nonce-([^']+)'/)?.[1];
    assert.ok(nonce, csp);
    assert.ok(html.includes(`nonce="${nonce}"`), "the page hands the nonce to its script");
    const again = await fetch(`${hub.url}/`);
    await again.body?.cancel();
    assert.notEqual(
      again.headers.get("content-security-policy")?.match(/'nonce-([^']+)'/)?.[1],
      nonce,
      "a fresh nonce per response",
    );
    assert.equal(page.headers.get("cache-control"), "no-store");
    const js = html.match(/src="\/assets\/(app\.[0-9a-f]{12}\.js)"/)?.[1];
    const css = html.match(/href="\/assets\/(app\.[0-9a-f]{12}\.css)"/)?.[1];
    assert.ok(js && css, html);
    assert.doesNotMatch(html, /<script>|<style>|https?:\/\//, "no inline code, nothing external");

    const plain = await fetch(`${hub.url}/assets/${js}`, {
      headers: { "accept-encoding": "identity" },
    });
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get("cache-control") ?? "", /immutable/);
    assert.equal(plain.headers.get("content-encoding"), null);
    const body = await plain.text();
    assert.ok(body.length > 10_000 && body.length < 500 * 1024, `bundle is ${body.length} bytes`);

    const zipped = await fetch(`${hub.url}/assets/${js}`, {
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(zipped.headers.get("content-encoding"), "gzip");
    // fetch decompresses: the same script either way.
    assert.equal(await zipped.text(), body);

    const style = await fetch(`${hub.url}/assets/${css}`);
    assert.match(style.headers.get("content-type") ?? "", /text\/css/);
    await style.body?.cancel();

    const missing = await fetch(`${hub.url}/assets/app.000000000000.js`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    // The page is public; the data behind it is not.
    const fleet = await fetch(`${hub.url}/api/v1/fleet`);
    assert.equal(fleet.status, 401);
    await fleet.body?.cancel();
  } finally {
    await hub.stop();
  }
});
