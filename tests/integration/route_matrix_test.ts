/**
 * Every route × every kind of caller, in process (`app.request()`: no socket, no subprocess).
 * Public routes answer anyone; every other route refuses a missing, unknown or revoked
 * credential (401), the wrong token kind (403) and another node's token where the route names a
 * node (403), and lets the right callers through (anything but 401/403; 426 for WebSockets).
 * The routes come from the app itself: a route without a row here, or a row without its route,
 * fails the test by name. Browser-session changes without a same-origin `Origin` are refused.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Hono } from "hono";
import { closeInProcessHub, openInProcessHub, ORIGIN, send } from "../helpers/inproc_hub.ts";
import type { HubServices } from "../../hub/core/services.ts";
import type { TokenKind } from "../../shared/protocol/mod.ts";
import { makeSample } from "../helpers/samples.ts";

/** The origin requests are made to (and the one a same-origin page sends). */

/** Who may call a route (README "HTTP API"; `public` needs no credential). */
type Access = "public" | "read" | "admin" | "node" | "node_or_admin" | "metrics";

const ALLOWED: Record<Exclude<Access, "public">, readonly TokenKind[]> = {
  read: ["admin", "viewer"],
  admin: ["admin"],
  node: ["node"],
  node_or_admin: ["node", "admin"],
  metrics: ["admin", "viewer", "metrics"],
};

/** The kinds of caller every row is tried with. */
const CALLERS = [
  "none",
  "garbage",
  "revoked",
  "node",
  "other_node",
  "enrollment",
  "viewer",
  "admin",
  "cookie",
  "metrics",
] as const;
type Caller = typeof CALLERS[number];

/** The token kind each caller authenticates as (undefined: it does not authenticate). */
const CALLER_KIND: Record<Caller, TokenKind | undefined> = {
  none: undefined,
  garbage: undefined,
  revoked: undefined,
  node: "node",
  other_node: "node",
  enrollment: "enrollment",
  viewer: "viewer",
  admin: "admin",
  // The browser session of an admin token.
  cookie: "admin",
  metrics: "metrics",
};

/** A value, or a function making a fresh one per request (for rows that use something up). */
type Fresh<T> = T | ((fx: Fixture) => T | Promise<T>);

/** One request of the matrix. */
interface Row {
  /** `METHOD /pattern` exactly as the app registers the route. */
  route: string;
  access: Access;
  /** The concrete path (and query); default: the pattern, when it has no params. */
  path?: Fresh<string>;
  body?: Fresh<Record<string, unknown>>;
  /** The route acts on node n1: n2's token is refused (403). */
  ownNode?: true;
  /** A WebSocket route: 426 without an Upgrade header once authorized. */
  ws?: true;
  /** The cookie caller logs in anew, because this row ends the session it uses. */
  freshSession?: true;
}

/** Tokens, ids and a request helper shared by every row. */
class Fixture {
  tokens = {} as Record<
    "admin" | "node" | "other_node" | "enrollment" | "viewer" | "revoked" | "metrics",
    {
      id: string;
      token: string;
    }
  >;
  cookie = "";
  jobId = "";
  execId = "";
  asset = "";
  #n = 0;

  constructor(readonly app: Hono) {}

  /** A number unique within this test, for fresh names. */
  next(): number {
    return ++this.#n;
  }

  /** Sends a request to the app in process (JSON body when given). */
  send(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ): Promise<Response> {
    return send(this.app, method, path, headers, body);
  }

  /** An admin (bearer) call that must succeed; returns its JSON. */
  async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, bearer(this.tokens.admin.token), body);
    const text = await res.text();
    assert.ok(res.ok, `setup: ${method} ${path} answered ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Creates a token as the admin. */
  async token(spec: Record<string, unknown>): Promise<{ id: string; token: string }> {
    return await this.admin("POST", "/api/v1/tokens", spec);
  }

  /** Logs in as a browser does and returns the `fleet_session` cookie's value. */
  async login(token: string): Promise<string> {
    const res = await this.send("POST", "/api/v1/session", { origin: ORIGIN }, { token });
    await res.body?.cancel();
    assert.equal(res.status, 200, "setup: login");
    const m = /fleet_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "");
    assert.ok(m, "setup: login set no fleet_session cookie");
    return m[1];
  }
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The matrix. Rows run in this order, each with every caller in `CALLERS` order; rows that use
 * something up (a token, a node, a job, the session) make a fresh one per request.
 */
const ROWS: Row[] = [
  // Public: the UI, onboarding and the login/logout calls.
  { route: "GET /healthz", access: "public" },
  { route: "GET /", access: "public" },
  { route: "GET /assets/:name", access: "public", path: (fx) => `/assets/${fx.asset}` },
  { route: "GET /favicon.svg", access: "public" },
  { route: "GET /favicon.ico", access: "public" },
  { route: "GET /install.sh", access: "public" },
  { route: "GET /dist/:file", access: "public", path: "/dist/SHA256SUMS" },
  {
    route: "POST /api/v1/enroll",
    access: "public",
    // An enrollment token works once: each request brings its own.
    body: async (fx) => {
      const name = `enrolled-${fx.next()}`;
      const t = await fx.token({ kind: "enrollment", name });
      return { token: t.token, hostname: name, arch: "aarch64" };
    },
  },
  {
    route: "POST /api/v1/session",
    access: "public",
    body: (fx) => ({ token: fx.tokens.viewer.token }),
  },

  // Agents, as their own node.
  {
    route: "POST /api/v1/ingest",
    access: "node",
    ownNode: true,
    body: (fx) => ({ node_id: "n1", samples: [makeSample(fx.next())] }),
  },
  { route: "GET /api/v1/agent/self", access: "node" },
  { route: "GET /api/v1/agent/ws", access: "node", ws: true },
  {
    route: "POST /api/v1/nodes/:id/recovery",
    access: "node",
    ownNode: true,
    path: "/api/v1/nodes/n1/recovery",
    body: { steps: [{ step: "docker", ok: true, detail: "running" }] },
  },
  { route: "POST /api/v1/jobs/claim", access: "node", body: { wait_s: 0 } },
  {
    route: "POST /api/v1/jobs/:id/heartbeat",
    access: "node",
    path: (fx) => `/api/v1/jobs/${fx.jobId}/heartbeat`,
    body: { attempt: 1, running: true },
  },
  {
    route: "POST /api/v1/jobs/:id/complete",
    access: "node",
    path: (fx) => `/api/v1/jobs/${fx.jobId}/complete`,
    body: { attempt: 1, result: { ok: true }, exit_code: 0 },
  },
  {
    route: "POST /api/v1/jobs/:id/fail",
    access: "node",
    path: (fx) => `/api/v1/jobs/${fx.jobId}/fail`,
    body: { attempt: 1, error: "failed on purpose" },
  },
  {
    route: "POST /api/v1/jobs/running",
    access: "node",
    ownNode: true,
    body: { node_id: "n1", job_ids: [] },
  },
  { route: "POST /api/v1/roamers/self/state", access: "node", body: { state: "IDLE" } },
  { route: "GET /api/v1/swarm/join-token", access: "node_or_admin" },

  // Reading the fleet: admins and viewers.
  { route: "GET /api/v1/fleet", access: "read" },
  { route: "GET /api/v1/fleet/events", access: "read" },
  { route: "GET /api/v1/nodes/:id", access: "read", path: "/api/v1/nodes/n1" },
  {
    route: "GET /api/v1/nodes/:id/metrics",
    access: "read",
    path: "/api/v1/nodes/n1/metrics?from=-1h&to=now",
  },
  { route: "GET /api/v1/session", access: "read" },
  { route: "GET /api/v1/hub/stats", access: "read" },
  { route: "GET /api/v1/layout", access: "read" },
  // A viewer arranges its own copy of the canvas.
  { route: "PUT /api/v1/layout", access: "read", body: { positions: { n1: { x: 1, y: 2 } } } },
  { route: "GET /api/v1/templates", access: "read" },
  { route: "GET /api/v1/jobs", access: "read", path: "/api/v1/jobs?limit=5" },
  { route: "GET /api/v1/jobs/:id", access: "read", path: (fx) => `/api/v1/jobs/${fx.jobId}` },
  { route: "GET /api/v1/roamers", access: "read" },
  { route: "GET /api/v1/clusters", access: "read" },
  { route: "GET /api/v1/exec", access: "read", path: "/api/v1/exec?node=n1&limit=5" },
  {
    route: "GET /api/v1/exec/:id",
    access: "read",
    path: (fx) => `/api/v1/exec/${fx.execId}`,
  },
  {
    route: "GET /api/v1/nodes/:id/containers",
    access: "read",
    path: "/api/v1/nodes/n1/containers",
  },
  {
    route: "GET /api/v1/nodes/:id/containers/:cid/logs",
    access: "read",
    path: "/api/v1/nodes/n1/containers/web/logs?tail=10&follow=1",
  },
  { route: "GET /api/v1/audit", access: "read", path: "/api/v1/audit?limit=5" },
  { route: "GET /api/v1/network/links", access: "read" },
  {
    route: "GET /api/v1/network/links/:id/history",
    access: "read",
    path: "/api/v1/network/links/n1/history",
  },
  { route: "GET /api/v1/network/scans", access: "read", path: "/api/v1/network/scans?node=n1" },
  { route: "GET /api/v1/network/scans/:id", access: "read", path: "/api/v1/network/scans/x-1" },
  {
    route: "GET /api/v1/nodes/:id/network/latest",
    access: "read",
    path: "/api/v1/nodes/n1/network/latest?kind=wan",
  },
  {
    route: "GET /api/v1/nodes/:id/connections",
    access: "read",
    path: "/api/v1/nodes/n1/connections",
  },

  // Changing the fleet: admins only.
  { route: "GET /api/v1/tokens", access: "admin" },
  { route: "POST /api/v1/tokens", access: "admin", body: { kind: "viewer", name: "made-by-row" } },
  {
    route: "DELETE /api/v1/tokens/:id",
    access: "admin",
    path: async (fx) => `/api/v1/tokens/${(await fx.token({ kind: "viewer" })).id}`,
  },
  {
    route: "DELETE /api/v1/nodes/:id",
    access: "admin",
    // A node token makes its node: each request deletes a node of its own.
    path: async (fx) => {
      const id = `gone-${fx.next()}`;
      await fx.token({ kind: "node", node_id: id });
      return `/api/v1/nodes/${id}`;
    },
  },
  {
    route: "POST /api/v1/jobs",
    access: "admin",
    body: { executor: "process", command: "true", node: "n2" },
  },
  {
    route: "POST /api/v1/jobs/:id/cancel",
    access: "admin",
    path: async (fx) => {
      const job = await fx.admin<{ id: string }>("POST", "/api/v1/jobs", {
        executor: "process",
        command: "sleep 1",
        node: "n2",
      });
      return `/api/v1/jobs/${job.id}/cancel`;
    },
  },
  {
    route: "POST /api/v1/jobs/:id/retry",
    access: "admin",
    path: (fx) => `/api/v1/jobs/${fx.jobId}/retry`,
  },
  {
    route: "POST /api/v1/roamers/:id/assign",
    access: "admin",
    path: "/api/v1/roamers/r1/assign",
    body: { cluster: "c1", mode: "manual" },
  },
  {
    route: "POST /api/v1/roamers/:id/release",
    access: "admin",
    path: "/api/v1/roamers/r1/release",
  },
  { route: "POST /api/v1/config/reload", access: "admin" },
  {
    route: "POST /api/v1/exec",
    access: "admin",
    body: { nodes: ["n1"], command: "uptime", timeout_s: 5 },
  },
  {
    route: "POST /api/v1/exec/:id/cancel",
    access: "admin",
    path: (fx) => `/api/v1/exec/${fx.execId}/cancel`,
  },
  { route: "GET /api/v1/terminal/:node", access: "admin", ws: true, path: "/api/v1/terminal/n1" },
  ...["restart", "stop", "remove?force=1"].map((action): Row => ({
    route: "POST /api/v1/nodes/:id/containers/:cid/:action",
    access: "admin",
    path: `/api/v1/nodes/n1/containers/web/${action}`,
  })),
  {
    route: "POST /api/v1/network/scans",
    access: "admin",
    body: { node: "n1", cidr: "10.231.43.0/24" },
  },
  {
    route: "POST /api/v1/network/port-scans",
    access: "admin",
    body: { node: "n1", host: "10.231.43.2", ports: "22" },
  },
  { route: "POST /api/v1/network/wan-checks", access: "admin", body: { node: "n1" } },
  {
    route: "POST /api/v1/network/scans/:id/cancel",
    access: "admin",
    path: "/api/v1/network/scans/x-1/cancel",
  },
  {
    route: "POST /api/v1/nodes/:id/actions/cleanup",
    access: "admin",
    path: "/api/v1/nodes/n1/actions/cleanup",
    body: { dry_run: true },
  },
  {
    route: "POST /api/v1/nodes/:id/actions/recover",
    access: "admin",
    path: "/api/v1/nodes/n1/actions/recover",
  },
  {
    route: "POST /api/v1/nodes/:id/actions/restart",
    access: "admin",
    path: "/api/v1/nodes/n1/actions/restart",
  },

  // Alerts: read by admins and viewers; acknowledged, silenced and test-sent by admins.
  { route: "GET /api/v1/alerts", access: "read", path: "/api/v1/alerts?limit=5" },
  { route: "GET /api/v1/alerts/config", access: "read" },
  { route: "GET /api/v1/alerts/deliveries", access: "read" },
  { route: "GET /api/v1/alerts/:id", access: "read", path: "/api/v1/alerts/1" },
  { route: "POST /api/v1/alerts/:id/ack", access: "admin", path: "/api/v1/alerts/1/ack" },
  {
    route: "POST /api/v1/alerts/:id/silence",
    access: "admin",
    path: "/api/v1/alerts/1/silence",
    body: { for_s: 600 },
  },
  {
    route: "POST /api/v1/alerts/webhooks/:name/test",
    access: "admin",
    path: "/api/v1/alerts/webhooks/ops/test",
  },
  // Prometheus: metrics tokens (which read nothing else), viewers and admins.
  { route: "GET /metrics", access: "metrics" },

  // Backups (no S3 in this hub: the allowed callers get 503/404, never 401/403).
  { route: "GET /api/v1/backups", access: "read" },
  { route: "GET /api/v1/backups/status", access: "read" },
  { route: "GET /api/v1/backups/:id", access: "read", path: "/api/v1/backups/1" },
  { route: "GET /api/v1/backups/:id/tree", access: "read", path: "/api/v1/backups/1/tree" },
  { route: "GET /api/v1/backups/restores/:id", access: "read", path: "/api/v1/backups/restores/1" },
  { route: "POST /api/v1/backups", access: "admin", body: { nodes: ["n1"] } },
  { route: "POST /api/v1/backups/hub-db", access: "admin" },
  { route: "POST /api/v1/backups/prune", access: "admin" },
  { route: "POST /api/v1/backups/:id/cancel", access: "admin", path: "/api/v1/backups/1/cancel" },
  {
    route: "POST /api/v1/backups/:id/restore",
    access: "admin",
    path: "/api/v1/backups/1/restore",
    body: { dry_run: true },
  },
  {
    route: "POST /api/v1/backups/:id/verify",
    access: "admin",
    path: "/api/v1/backups/1/verify",
    body: {},
  },
  { route: "GET /api/v1/agent/configs", access: "node" },
  { route: "PUT /api/v1/agent/configs", access: "node", body: { files: [] } },

  // The MCP endpoint: admin and viewer tokens (the token's kind then decides which tools work).
  {
    route: "POST /mcp",
    access: "read",
    body: { jsonrpc: "2.0", id: 1, method: "ping" },
  },
  { route: "GET /mcp", access: "read" },
  { route: "DELETE /mcp", access: "read" },

  // Docker Swarm (no engine here: callers let through get 503, "engine unreachable").
  ...[
    "/health",
    "/catalog",
    "/catalog/app",
    "/catalog/app/versions",
    "/catalog/app/versions/1",
    "/catalog/app/diff",
    "/builds",
    "/builds/00000000-0000-4000-8000-000000000000",
    "/builds/00000000-0000-4000-8000-000000000000/events",
    "/projects",
    "/services",
    "/services/app",
    "/services/app/logs?tail=10&follow=1",
    "/stacks",
    "/stacks/demo",
    "/nodes",
    "/nodes/n1",
    "/registry",
    "/registry/tags?repository=fleet/app",
  ].map((p): Row => ({
    route: `GET /api/v1/swarm${
      p.split("?")[0]
        .replace(/\/catalog\/app\/versions\/1$/, "/catalog/:name/versions/:version")
        .replace(/\/(catalog|services|stacks)\/(app|demo)/, "/$1/:name")
        .replace(/\/builds\/[0-9a-f-]{36}/, "/builds/:id")
        .replace(/\/nodes\/n1/, "/nodes/:id")
    }`,
    access: "read",
    path: `/api/v1/swarm${p}`,
  })),
  {
    route: "POST /api/v1/swarm/catalog",
    access: "admin",
    body: { definition: { name: "app", image: "127.0.0.1:5000/app:1" } },
  },
  {
    route: "PUT /api/v1/swarm/catalog/:name",
    access: "admin",
    path: "/api/v1/swarm/catalog/app",
    body: { definition: { name: "app", image: "127.0.0.1:5000/app:1" } },
  },
  {
    route: "DELETE /api/v1/swarm/catalog/:name",
    access: "admin",
    path: "/api/v1/swarm/catalog/app",
  },
  {
    route: "POST /api/v1/swarm/catalog/:name/deploy",
    access: "admin",
    path: "/api/v1/swarm/catalog/app/deploy",
    body: {},
  },
  {
    route: "POST /api/v1/swarm/catalog/:name/build",
    access: "admin",
    path: "/api/v1/swarm/catalog/app/build",
    body: {},
  },
  {
    route: "POST /api/v1/swarm/builds/:id/cancel",
    access: "admin",
    path: "/api/v1/swarm/builds/00000000-0000-4000-8000-000000000000/cancel",
  },
  {
    route: "POST /api/v1/swarm/deploy",
    access: "admin",
    body: { definition: { name: "app", image: "127.0.0.1:5000/app:1" } },
  },
  {
    route: "POST /api/v1/swarm/services/:name/scale",
    access: "admin",
    path: "/api/v1/swarm/services/app/scale",
    body: { replicas: 2 },
  },
  {
    route: "POST /api/v1/swarm/services/:name/update",
    access: "admin",
    path: "/api/v1/swarm/services/app/update",
    body: { force: true },
  },
  {
    route: "POST /api/v1/swarm/services/:name/restart",
    access: "admin",
    path: "/api/v1/swarm/services/app/restart",
  },
  {
    route: "DELETE /api/v1/swarm/services/:name",
    access: "admin",
    path: "/api/v1/swarm/services/app",
  },
  {
    route: "POST /api/v1/swarm/stacks",
    access: "admin",
    body: { name: "demo", compose: "services:\n  web:\n    image: x\n" },
  },
  {
    route: "DELETE /api/v1/swarm/stacks/:name",
    access: "admin",
    path: "/api/v1/swarm/stacks/demo",
  },
  {
    route: "POST /api/v1/swarm/nodes/:id/:action",
    access: "admin",
    path: "/api/v1/swarm/nodes/n1/drain",
  },
  {
    route: "PATCH /api/v1/swarm/nodes/:id/labels",
    access: "admin",
    path: "/api/v1/swarm/nodes/n1/labels",
    body: { add: { gpu: "orin" } },
  },
  { route: "DELETE /api/v1/swarm/nodes/:id", access: "admin", path: "/api/v1/swarm/nodes/n1" },
  {
    route: "DELETE /api/v1/swarm/registry/tags",
    access: "admin",
    path: "/api/v1/swarm/registry/tags?repository=fleet/app&tag=1",
  },

  // Logging out needs no credential (a dead session must be able to log out); last, as it ends
  // the cookie caller's session.
  { route: "DELETE /api/v1/session", access: "public", freshSession: true },
];

/** What a caller must get: refused with 401 or 403, or let through. */
function expected(row: Row, caller: Caller): 401 | 403 | "through" {
  if (row.access === "public") return "through";
  const kind = CALLER_KIND[caller];
  if (kind === undefined) return 401;
  if (!ALLOWED[row.access].includes(kind)) return 403;
  if (row.ownNode && caller === "other_node") return 403;
  return "through";
}

/** The request headers of `caller` for `row`. */
async function credentials(
  fx: Fixture,
  row: Row,
  method: string,
  caller: Caller,
): Promise<Record<string, string>> {
  switch (caller) {
    case "none":
      return {};
    case "garbage":
      return bearer("fca_" + "x".repeat(43));
    case "cookie": {
      const session = row.freshSession ? await fx.login(fx.tokens.admin.token) : fx.cookie;
      const headers: Record<string, string> = { cookie: `fleet_session=${session}` };
      // A browser sends its page's Origin on changes and on WebSocket handshakes.
      if (UNSAFE.has(method) || row.ws) headers.origin = ORIGIN;
      return headers;
    }
    default:
      return bearer(fx.tokens[caller].token);
  }
}

/** The route pattern as a regular expression over concrete paths. */
function patternOf(route: string): RegExp {
  const path = route.slice(route.indexOf(" ") + 1);
  const re = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z_]+/g, "[^/?]+");
  return new RegExp(`^${re}(\\?.*)?$`);
}

async function resolve<T>(value: Fresh<T>, fx: Fixture): Promise<T> {
  return typeof value === "function" ? await (value as (fx: Fixture) => T | Promise<T>)(fx) : value;
}

/** Makes the tokens, session, job and exec run the rows name. */
async function setUp(app: Hono, services: HubServices): Promise<Fixture> {
  const fx = new Fixture(app);
  const adminToken = (await Deno.readTextFile(join(services.config.dataDir, "admin.token"))).trim();
  fx.tokens.admin = { id: "", token: adminToken };
  fx.tokens.viewer = await fx.token({ kind: "viewer", name: "wall" });
  fx.tokens.node = await fx.token({ kind: "node", node_id: "n1" });
  fx.tokens.other_node = await fx.token({ kind: "node", node_id: "n2" });
  fx.tokens.enrollment = await fx.token({ kind: "enrollment", name: "pending-node" });
  fx.tokens.metrics = await fx.token({ kind: "metrics", name: "scraper" });
  // An admin token, so only its revocation can be why it is refused.
  fx.tokens.revoked = await fx.token({ kind: "admin", name: "revoked" });
  await fx.admin("DELETE", `/api/v1/tokens/${fx.tokens.revoked.id}`);
  fx.cookie = await fx.login(adminToken);
  // A job for n1, so n1's claim row takes it and its heartbeat/complete rows hold it.
  fx.jobId = (await fx.admin<{ id: string }>("POST", "/api/v1/jobs", {
    executor: "process",
    command: "true",
    node: "n1",
  })).id;
  // No agent is connected: the run is answered at once with n1 offline.
  fx.execId = String(
    (await fx.admin<{ id: string | number }>("POST", "/api/v1/exec", {
      nodes: ["n1"],
      command: "uptime",
    })).id,
  );
  const page = await (await fx.send("GET", "/")).text();
  const asset = /\/assets\/([^"]+)"/.exec(page);
  assert.ok(asset, "setup: the page names no asset");
  fx.asset = asset[1];
  return fx;
}

Deno.test("route matrix: every route × every caller gets the auth decision the README promises", async (t) => {
  const hub = await openInProcessHub(
    "fleet-route-matrix-",
    "clusters:\n  - id: c1\n    nodes: [n2]\nroamers:\n  nodes: [r1]\n",
  );
  await Deno.writeTextFile(join(hub.dir, "dist", "SHA256SUMS"), "0  fleet-agent-aarch64\n");
  const { services, app } = hub;
  try {
    const fx = await setUp(app, services);

    await t.step("every route the app serves has a row, and every row a route", () => {
      // `app.use` middleware is registered as method ALL; a handler chain repeats its route.
      const served = new Set(
        app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`),
      );
      const listed = new Set(ROWS.map((r) => r.route));
      const missing = [...served].filter((r) => !listed.has(r));
      const stale = [...listed].filter((r) => !served.has(r));
      assert.deepEqual(
        { missing, stale },
        { missing: [], stale: [] },
        `routes without a row: ${missing.join(", ") || "none"}; ` +
          `rows without a route: ${stale.join(", ") || "none"}`,
      );
    });

    await t.step(
      "each caller is refused or let through as its token kind and node say",
      async () => {
        const failures: string[] = [];
        let checks = 0;
        for (const row of ROWS) {
          const method = row.route.slice(0, row.route.indexOf(" "));
          for (const caller of CALLERS) {
            const path = await resolve(row.path ?? row.route.slice(method.length + 1), fx);
            if (!patternOf(row.route).test(path)) {
              failures.push(`row ${row.route}: its path ${path} is not one of that route's`);
              continue;
            }
            const body = await resolve(row.body, fx);
            const headers = await credentials(fx, row, method, caller);
            const res = await fx.send(method, path, headers, body);
            // Only the status counts: streams (SSE, log follow, dist files) are let go at once.
            await res.body?.cancel();
            checks++;
            const got = res.status;
            const type = res.headers.get("content-type") ?? "";
            const want = expected(row, caller);
            const what = `${caller} ${method} ${path}: ${got}`;
            if ((got === 401 || got === 403) && type !== "application/problem+json") {
              failures.push(`${what} answered ${type || "no content type"}, not problem+json`);
            }
            if (want !== "through") {
              if (got !== want) failures.push(`${what}, expected ${want}`);
            } else if (row.ws && row.access !== "public") {
              if (got !== 426) failures.push(`${what}, expected 426 (authorized, no Upgrade)`);
            } else if (got === 401 || got === 403 || (got >= 500 && got !== 503)) {
              failures.push(`${what}, expected to be let through`);
            }
          }
        }
        assert.deepEqual(failures, [], `${failures.length} of ${checks} checks failed`);
        assert.equal(checks, ROWS.length * CALLERS.length);
      },
    );

    await t.step("a change with the session cookie needs the hub's own Origin", async () => {
      const count = async () => (await fx.admin<unknown[]>("GET", "/api/v1/tokens")).length;
      const before = await count();
      const cookie = { cookie: `fleet_session=${fx.cookie}` };
      const body = { kind: "viewer", name: "cross-site" };
      for (const origin of [undefined, "http://evil.test", "https://hub.test"]) {
        const headers = origin ? { ...cookie, origin } : cookie;
        const res = await fx.send("POST", "/api/v1/tokens", headers, body);
        await res.body?.cancel();
        assert.equal(res.status, 403, `cookie POST with Origin ${origin ?? "(none)"}`);
        assert.equal(res.headers.get("content-type"), "application/problem+json");
      }
      assert.equal(await count(), before, "a refused change changed nothing");
      // The terminal WebSocket checks the same for a browser, on a GET.
      const term = await fx.send("GET", "/api/v1/terminal/n1", cookie);
      await term.body?.cancel();
      assert.equal(term.status, 403, "cookie terminal without Origin");
      // The session itself is still good: only the Origin was refused.
      const ok = await fx.send("POST", "/api/v1/tokens", { ...cookie, origin: ORIGIN }, body);
      await ok.body?.cancel();
      assert.equal(ok.status, 201, "cookie POST with the hub's Origin");
    });
  } finally {
    await closeInProcessHub(hub);
  }
});
