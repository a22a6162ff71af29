/**
 * The interim page at `/`: log in with a token, then a live table of the fleet fed by the same
 * snapshot + SSE API the canvas will use. Replaced by the embedded canvas UI later. Script and
 * styles are separate resources so the strict Content-Security-Policy holds.
 *
 * @module
 */
import { Hono } from "hono";

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fleet Commander</title><link rel="stylesheet" href="/status.css">
<link rel="icon" href="/favicon.svg" type="image/svg+xml"></head>
<body>
<header><h1>Fleet Commander</h1><span id="summary"></span><span id="conn"></span>
<button id="logout" hidden>Log out</button></header>
<form id="login" hidden><label>Token <input id="token" type="password" autocomplete="off"
 placeholder="fca_… or fcv_…"></label><button>Log in</button><p id="error"></p></form>
<main><table id="fleet" hidden><thead><tr><th>Node</th><th>Status</th><th>CPU</th><th>GPU</th>
<th>RAM</th><th>Temp</th><th>Power</th><th>Last seen</th></tr></thead><tbody></tbody></table></main>
<script src="/status.js" type="module"></script></body></html>`;

const CSS = `:root{color-scheme:dark;--bg:#0b1020;--panel:#121a33;--line:#1f2a4d;--text:#dbe4ff;
--mute:#7c89b3;--cyan:#22d3ee;--green:#34d399;--amber:#fbbf24;--red:#f87171}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--text);
font:14px/1.4 system-ui,sans-serif}header{display:flex;gap:16px;align-items:center;
padding:12px 20px;border-bottom:1px solid var(--line)}h1{font-size:18px;margin:0;color:var(--cyan)}
#summary{color:var(--mute)}#conn{margin-left:auto;color:var(--amber)}main{padding:20px}
table{width:100%;border-collapse:collapse;background:var(--panel);border-radius:8px}
th,td{padding:8px 12px;text-align:left;border-bottom:1px solid var(--line)}th{color:var(--mute);
font-weight:500}.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:6px}
.online{background:var(--green)}.degraded{background:var(--amber)}.offline{background:var(--red)}
.pending{background:var(--mute)}tr.offline-row td{color:var(--mute)}
form{max-width:420px;margin:80px auto;background:var(--panel);padding:24px;border-radius:8px}
input{width:100%;margin:8px 0;padding:8px;background:var(--bg);color:var(--text);
border:1px solid var(--line);border-radius:6px}button{background:var(--cyan);color:#04202a;
border:0;padding:8px 14px;border-radius:6px;cursor:pointer}#error{color:var(--red)}`;

const JS = `const $ = (s) => document.querySelector(s);
const nodes = new Map();
let source;
const pct = (v) => (v === undefined || v === null ? "–" : Math.round(v) + " %");
function age(ts) { if (!ts) return "never"; const s = Math.round((Date.now() - ts) / 1000);
  return s < 60 ? s + " s ago" : s < 3600 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago"; }
function render() {
  const rows = [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)).map((n) => {
    const s = n.last_sample || {}; const gpu = (s.gpus || []).map((g) => g.util_pct).filter((v) => v !== undefined);
    const temp = (s.temps || []).map((t) => t.c); const rail = (s.power || [])[0];
    const tr = document.createElement("tr"); if (n.status === "offline") tr.className = "offline-row";
    const cells = [n.name + (n.cluster ? " · " + n.cluster : n.role === "roamer" ? " · roamer" : ""),
      n.status, pct(s.cpu && s.cpu.pct), gpu.length ? pct(Math.max(...gpu)) : "–", pct(s.mem && s.mem.pct),
      temp.length ? Math.max(...temp).toFixed(1) + " °C" : "–", rail ? (rail.mw / 1000).toFixed(1) + " W" : "–", age(n.last_seen)];
    cells.forEach((text, i) => { const td = document.createElement("td");
      if (i === 1) { const d = document.createElement("span"); d.className = "dot " + n.status; td.append(d); }
      td.append(text); tr.append(td); });
    return tr; });
  $("#fleet tbody").replaceChildren(...rows);
  const count = (st) => [...nodes.values()].filter((n) => n.status === st).length;
  $("#summary").textContent = nodes.size + " nodes · " + count("online") + " online · " + count("degraded") + " degraded · " + count("offline") + " offline";
}
async function load() {
  const r = await fetch("/api/v1/fleet", { credentials: "same-origin" });
  if (r.status === 401) { $("#login").hidden = false; $("#fleet").hidden = true; $("#logout").hidden = true; return; }
  const snap = await r.json(); nodes.clear(); for (const n of snap.nodes) nodes.set(n.id, n);
  $("#login").hidden = true; $("#fleet").hidden = false; $("#logout").hidden = false; render();
  if (source) source.close();
  source = new EventSource("/api/v1/fleet/events?last_event_id=" + encodeURIComponent(snap.event_id));
  source.onopen = () => { $("#conn").textContent = ""; };
  source.onerror = () => { $("#conn").textContent = "reconnecting…"; };
  source.addEventListener("node.sample", (e) => { const d = JSON.parse(e.data); const n = nodes.get(d.node_id);
    if (n) { n.last_sample = d.sample; n.last_seen = Date.now(); render(); } });
  source.addEventListener("node.status", (e) => { const d = JSON.parse(e.data); const n = nodes.get(d.node_id);
    if (n) { n.status = d.status; render(); } });
  source.addEventListener("node.added", (e) => { const d = JSON.parse(e.data); nodes.set(d.node.id, d.node); render(); });
  source.addEventListener("node.removed", (e) => { nodes.delete(JSON.parse(e.data).node_id); render(); });
  source.addEventListener("stream.reset", () => load());
}
$("#login").addEventListener("submit", async (e) => { e.preventDefault();
  const r = await fetch("/api/v1/session", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: $("#token").value.trim() }) });
  if (r.ok) { $("#error").textContent = ""; load(); } else { $("#error").textContent = (await r.json()).detail; } });
$("#logout").addEventListener("click", async () => { await fetch("/api/v1/session", { method: "DELETE" });
  if (source) source.close(); load(); });
setInterval(render, 5000);
load();`;

const ICON =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32"
rx="7" fill="#0b1020"/><circle cx="16" cy="16" r="4" fill="#22d3ee"/><g fill="#34d399"><circle cx="6"
cy="8" r="2.5"/><circle cx="26" cy="8" r="2.5"/><circle cx="6" cy="24" r="2.5"/><circle cx="26" cy="24"
r="2.5"/></g><path d="M8 9l5 5m11-5l-5 5M8 23l5-5m11 5l-5-5" stroke="#22d3ee" stroke-width="1.5"/></svg>`;

/** `GET /`, `/status.css`, `/status.js`, `/favicon.svg` (public: they hold no fleet data). */
export function statusPageRoutes(): Hono {
  const app = new Hono();
  app.get("/", (c) => c.html(HTML));
  app.get("/status.css", (c) => c.body(CSS, 200, { "content-type": "text/css; charset=utf-8" }));
  app.get(
    "/status.js",
    (c) => c.body(JS, 200, { "content-type": "text/javascript; charset=utf-8" }),
  );
  app.get("/favicon.svg", (c) => c.body(ICON, 200, { "content-type": "image/svg+xml" }));
  app.get("/favicon.ico", (c) => c.redirect("/favicon.svg", 301));
  return app;
}
