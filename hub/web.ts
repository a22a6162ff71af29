/**
 * Serves the embedded canvas UI: `GET /` (the page; public, it holds no fleet data — the API
 * behind it needs the session cookie), `/assets/app.<hash>.js|css` (a year-long immutable cache,
 * gzip when the browser takes it) and the favicon. The assets come gzipped from the generated
 * module `web/dist/bundle.gen.ts` (`deno task build-web`), never from disk.
 *
 * @module
 */
import { Hono } from "hono";
import { WEB_BUNDLE } from "../web/dist/bundle.gen.ts";
import { fromBase64 } from "../shared/base64.ts";

const ICON =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32"
rx="7" fill="#0b1020"/><circle cx="16" cy="16" r="4" fill="#22d3ee"/><g fill="#34d399"><circle cx="6"
cy="8" r="2.5"/><circle cx="26" cy="8" r="2.5"/><circle cx="6" cy="24" r="2.5"/><circle cx="26" cy="24"
r="2.5"/></g><path d="M8 9l5 5m11-5l-5 5M8 23l5-5m11 5l-5-5" stroke="#22d3ee" stroke-width="1.5"/></svg>`;

function page(nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<title>Fleet Commander</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/${WEB_BUNDLE.cssName}" nonce="${nonce}">
<script type="module" src="/assets/${WEB_BUNDLE.jsName}"></script>
</head><body><div id="app"></div></body></html>`;
}

interface Asset {
  type: string;
  /** The asset gzipped, as the build stored it. */
  gzip: Uint8Array<ArrayBuffer>;
}

const ASSETS = new Map<string, Asset>(
  Object.entries(WEB_BUNDLE.gzip).map(([name, b64]): [string, Asset] => [name, {
    type: name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8",
    gzip: fromBase64(b64),
  }]),
);

/** Routes for the UI. */
export function webRoutes(): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    // The CSP nonce of this response (hono/secure-headers): the UI gives it to the <style>
    // elements xterm.js creates.
    const nonce = (c.get as (key: string) => unknown)("secureHeadersNonce") as string ?? "";
    return c.html(page(nonce), 200, { "cache-control": "no-store" });
  });
  app.get("/assets/:name", (c) => {
    const asset = ASSETS.get(c.req.param("name"));
    if (!asset) return c.notFound();
    const headers: Record<string, string> = {
      "content-type": asset.type,
      "cache-control": "public, max-age=31536000, immutable",
      "vary": "accept-encoding",
    };
    if (/\bgzip\b/.test(c.req.header("accept-encoding") ?? "")) {
      headers["content-encoding"] = "gzip";
      return c.body(asset.gzip, 200, headers);
    }
    // A client without gzip (curl, a proxy) gets the text, unpacked as it streams.
    const plain = new Blob([asset.gzip]).stream().pipeThrough(new DecompressionStream("gzip"));
    return c.body(plain, 200, headers);
  });
  app.get("/favicon.svg", (c) => c.body(ICON, 200, { "content-type": "image/svg+xml" }));
  app.get("/favicon.ico", (c) => c.redirect("/favicon.svg", 301));
  return app;
}
