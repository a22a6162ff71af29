/**
 * UI test 6: the bundle comes from the hub and nothing leaves 127.0.0.1. The page is loaded, the
 * operator logs in and walks every view (canvas, a node's panel, clusters, roamer pool, jobs and
 * a job's detail); every request stayed on the hub (the guard aborts and records any other) and
 * nothing failed in the page. The headers are checked over plain HTTP: `/` carries a strict
 * Content-Security-Policy (scripts only from 'self', no 'unsafe-inline' or 'unsafe-eval') and
 * has no inline script; the assets are named by the hash of their content, cached a year as
 * immutable, gzipped when asked (and the gzip inflates to the same bytes), and the script stays
 * within the 500 KB budget.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { startHub } from "../helpers/hub.ts";
import { WEB_BUNDLE } from "../../web/dist/bundle.gen.ts";
import { browserTest, login, newPage, type PageWindow, screenshot } from "../helpers/browser.ts";

const T = 20_000;

/** A GET without any transparent decompression: status, headers and the raw body bytes. */
function rawGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string>; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, timeout: 10_000 }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on("end", () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) h[k] = String(v);
        const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const c of chunks) {
          body.set(c, at);
          at += c.length;
        }
        resolve({ status: res.statusCode ?? 0, headers: h, body });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.on("error", reject);
    req.end();
  });
}

/** Parses a CSP header into directive → sources. */
function parseCsp(header: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of header.split(";")) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), sources);
  }
  return out;
}

browserTest(
  "bundle: served by the hub, no request leaves 127.0.0.1, strict CSP, cached assets",
  async (
    browser,
  ) => {
    const hub = await startHub({ args: ["--demo", "8", "--autoscale-every", "1h"] });
    const g = await newPage(browser);
    const requested: string[] = [];
    g.page.on("request", (r) => requested.push(r.url()));
    try {
      const { page } = g;
      await page.goto(hub.url, { waitUntil: "load" });
      await login(page, hub.adminToken);
      // Every view, a node's panel and a job's detail.
      const card = page.locator("[data-testid=node-card]").first();
      await card.waitFor({ timeout: T });
      const atStart = [...requested];
      await card.click();
      await page.locator("[data-testid=history-chart][data-state=ready]").waitFor({ timeout: T });
      await page.keyboard.press("Escape");
      for (const [view, testid] of [["clusters", "clusters-view"], ["roamers", "roamers-view"]]) {
        await page.locator(`button[data-view=${view}]`).click();
        await page.locator(`[data-testid=${testid}]`).waitFor({ timeout: T });
      }
      await page.locator("button[data-view=jobs]").click();
      const job = page.locator("[data-testid=job-row]").first();
      await job.waitFor({ timeout: 30_000 }); // the demo's generator submits every 4 s
      await job.click();
      await page.locator("[data-testid=job-detail]").waitFor({ timeout: T });
      await page.locator("button[data-view=canvas]").click();
      await page.locator("[data-testid=node-card]").first().waitFor({ timeout: T });
      await screenshot(page, "bundle-all-views");

      assert.deepEqual(g.external, [], "requests that left 127.0.0.1");
      const origin = new URL(hub.url).origin;
      const elsewhere = requested.filter((u) =>
        !u.startsWith(origin + "/") && !u.startsWith("data:")
      );
      assert.deepEqual(elsewhere, []);
      assert.ok(requested.some((u) => /\/assets\/app\.[0-9a-f]{12}\.js$/.test(u)), "the script");
      assert.ok(requested.some((u) => /\/assets\/app\.[0-9a-f]{12}\.css$/.test(u)), "the styles");
      g.assertClean();

      // --- the page: strict CSP, no inline script, hashed asset names
      const pageRes = await rawGet(hub.url + "/");
      assert.equal(pageRes.status, 200);
      const csp = parseCsp(pageRes.headers["content-security-policy"] ?? "");
      const scriptSrc = csp.get("script-src") ?? csp.get("default-src");
      assert.ok(scriptSrc, `no script-src in ${pageRes.headers["content-security-policy"]}`);
      assert.deepEqual(scriptSrc, ["'self'"]);
      for (const [name, sources] of csp) {
        assert.ok(!sources.includes("'unsafe-inline'"), `${name} allows 'unsafe-inline'`);
        assert.ok(!sources.includes("'unsafe-eval'"), `${name} allows 'unsafe-eval'`);
      }
      assert.deepEqual(csp.get("default-src"), ["'self'"]);
      assert.deepEqual(csp.get("connect-src") ?? csp.get("default-src"), ["'self'"]);
      const html = new TextDecoder().decode(pageRes.body);
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      assert.ok(scripts.length > 0);
      for (const [, attrs, body] of scripts) {
        assert.match(attrs, /\bsrc="\/assets\//, "every script is an asset of the hub");
        assert.equal(body.trim(), "", "no inline script");
      }
      assert.doesNotMatch(html, /<style\b|\sstyle="/, "no inline styles");
      assert.doesNotMatch(html, /https?:\/\//, "no absolute URL in the page");

      // --- the assets: the entry script, the styles and every chunk the scripts import (found
      // by following their "./x.js" specifiers): hashed names, a year immutable, gzip on request.
      const queue = [...html.matchAll(/\/assets\/([\w.-]+\.(?:js|css))/g)].map((m) => m[1]);
      assert.equal(queue.length, 2, "one script and one style sheet in the page");
      const sizes = new Map<string, number>();
      while (queue.length) {
        const name = queue.shift()!;
        if (sizes.has(name)) continue;
        const ext = name.endsWith(".css") ? "css" : "js";
        const plain = await rawGet(`${hub.url}/assets/${name}`);
        assert.equal(plain.status, 200, name);
        sizes.set(name, plain.body.length);
        assert.equal(plain.headers["content-encoding"], undefined);
        assert.match(plain.headers["cache-control"] ?? "", /\bimmutable\b/);
        assert.match(plain.headers["cache-control"] ?? "", /\bmax-age=31536000\b/);
        assert.match(plain.headers["content-type"], ext === "js" ? /javascript/ : /text\/css/);
        const own = /^app\.([0-9a-f]{12})\.(?:js|css)$/.exec(name);
        if (own) {
          const sha = createHash("sha256").update(plain.body).digest("hex");
          assert.equal(sha.slice(0, 12), own[1], `${name} is named by its content`);
        } else {
          assert.match(name, /^[\w-]+-[A-Z0-9]{8}\.js$/, `${name}: a chunk with esbuild's hash`);
        }
        const gz = await rawGet(`${hub.url}/assets/${name}`, { "accept-encoding": "gzip" });
        assert.equal(gz.status, 200);
        assert.equal(gz.headers["content-encoding"], "gzip");
        assert.match(gz.headers["cache-control"] ?? "", /\bimmutable\b/);
        assert.match(gz.headers["vary"] ?? "", /accept-encoding/i);
        assert.deepEqual(new Uint8Array(gunzipSync(gz.body)), plain.body);
        assert.ok(gz.body.length < plain.body.length / 2, `${name} gzip ${gz.body.length} B`);
        if (ext === "js") {
          const text = new TextDecoder().decode(plain.body);
          for (const m of text.matchAll(/["'`]\.\/([\w.-]+\.js)["'`]/g)) queue.push(m[1]);
        }
      }
      // That is every asset of the bundle, and everything the page fetched is among them; the script it needed to show the canvas fits
      // the 500 KB budget.
      const fetched = requested.filter((u) => u.includes("/assets/")).map((u) =>
        new URL(u).pathname.slice("/assets/".length)
      );
      assert.deepEqual(
        [...sizes.keys()].sort(),
        Object.keys(WEB_BUNDLE.gzip).sort(),
      );
      for (const name of fetched) assert.ok(sizes.has(name), `${name} was not discovered`);
      const startJs = atStart.filter((u) => /\/assets\/.*\.js$/.test(u)).map((u) =>
        sizes.get(new URL(u).pathname.slice("/assets/".length))!
      ).reduce((a, b) => a + b, 0);
      assert.ok(startJs > 0 && startJs <= 500_000, `${startJs} B of JS to show the canvas`);
    } finally {
      await g.close();
      await hub.stop();
    }
  },
);

browserTest("bundle: the guard aborts and records a request that leaves the machine", async (
  browser,
) => {
  // Checks the check: a page without the hub's CSP asks for an image on a TEST-NET-1 address.
  const g = await newPage(browser);
  try {
    g.allowConsoleError(/ERR_BLOCKED_BY_CLIENT|Failed to load resource/);
    await g.page.setContent(`<img src="http://192.0.2.1/logo.png" alt="">`);
    await g.page.waitForFunction(
      () => (globalThis as unknown as PageWindow).document.querySelector("img")?.complete,
      undefined,
      { timeout: T },
    );
    assert.deepEqual(g.external, ["GET http://192.0.2.1/logo.png"]);
    assert.throws(() => g.assertClean(), /left 127\.0\.0\.1/);
  } finally {
    await g.close();
  }
});
