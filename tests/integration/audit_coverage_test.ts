/**
 * Every write route the app serves is audited or excluded on purpose, in process
 * (`app.request()`, as in `route_matrix_test.ts`). The routes come from the app itself: a
 * non-GET route that is neither in `AUDITED` nor in `EXCLUDED` fails the test by name, and each
 * audited route, called once as an admin would, must leave a new entry with its action and the
 * caller's token name as actor. A refused write (unknown target, a session already over) leaves
 * no entry; a reload of a bad fleet.yml is an attempt that failed and leaves an `error` entry.
 */
import assert from "node:assert/strict";
import type { Hono } from "hono";
import {
  closeInProcessHub,
  type InProcessHub,
  openInProcessHub,
  ORIGIN,
  send,
} from "../helpers/inproc_hub.ts";
import { listAudit } from "../../hub/core/store.ts";
import { insertFiring } from "../../hub/alerts/store.ts";
import type { HubServices } from "../../hub/core/services.ts";
import type { AgentSession, ControlSocket } from "../../hub/control/agent_sessions.ts";
import type { AuditEntry } from "../../shared/protocol/mod.ts";

/** The origin requests are made to (and the one a same-origin page sends). */

const FLEET_YML = "clusters:\n  - id: c1\n    nodes: [n2]\nroamers:\n  nodes: [r1]\n" +
  "network:\n  wan_targets:\n    - { host: 10.231.43.2, port: 443 }\n" +
  // A webhook to test-send to: the in-process hub stores the delivery and sends nothing.
  "alerts:\n  webhooks:\n    - name: ops\n      url: http://127.0.0.1:9/hook\n";

/** A firing alert to acknowledge or silence (as a rule would raise it); returns its id. */
async function firingAlert(fx: Fixture): Promise<string> {
  const n = Math.random().toString(36).slice(2);
  const alert = await fx.services.db.write((tx) =>
    insertFiring(tx, {
      key: `disk|n1|/data-${n}`,
      rule: "disk",
      kind: "disk",
      severity: "warning",
      node_id: "n1",
      subject: `/data-${n}`,
      message: "n1 /data 95 % full",
      value: 95,
      threshold: 90,
    }, Date.now())
  );
  return alert!.id;
}

/** One audited write: how to call it as an admin and the entry it must leave. */
interface Audited {
  /** The action of the entry it leaves. */
  action: string;
  /** Makes the request (fresh targets where the call uses one up). */
  call: (fx: Fixture) => Promise<Response>;
  /** The actor's token name, when it is not the admin's (enrollment audits as its token). */
  actor?: (fx: Fixture) => string; /**
   * The status the call gets here when it is refused by a system the in-process hub lacks (the
   * swarm routes: no Docker engine, 503); the attempt must then leave an `error` entry. Their ok
   * entries are checked against a real engine in `swarm_test.ts`.
   */

  refused?: number;
}

/**
 * Write routes that are not audited, and why. Node-agent traffic is the fleet reporting, not an
 * operator changing it; the MCP transport carries tool calls that reach the hub's own routes in
 * process and are audited there (with `via: "mcp"`).
 */
const EXCLUDED: Record<string, string> = {
  "POST /api/v1/ingest": "node agent: sample batches",
  "POST /api/v1/nodes/:id/recovery": "node agent: its boot recovery report",
  "POST /api/v1/jobs/claim": "node agent: claiming a job",
  "POST /api/v1/jobs/:id/heartbeat": "node agent: a running job's lease",
  "POST /api/v1/jobs/:id/complete": "node agent: a job's result",
  "POST /api/v1/jobs/:id/fail": "node agent: a job's failure",
  "POST /api/v1/jobs/running": "node agent: the jobs it still holds after a restart",
  "POST /api/v1/roamers/self/state": "node agent: a roamer's own state",
  "PUT /api/v1/layout": "a token kind's canvas arrangement: changes nothing in the fleet",
  "POST /mcp": "MCP transport: its write tools call the audited routes in process",
  "DELETE /mcp": "MCP transport: stateless, there is no MCP session to end",
  // Backups need a real S3: their entries (backup.create, .cancel, .restore, .verify, .prune,
  // .hub_db) are checked against Ceph RGW in backup_fleet_test.ts.
  "POST /api/v1/backups": "audited as backup.create; checked with real S3 in backup_fleet_test",
  "POST /api/v1/backups/hub-db": "audited as backup.hub_db; checked in backup_fleet_test",
  "POST /api/v1/backups/prune": "audited as backup.prune; checked in backup_fleet_test",
  "POST /api/v1/backups/:id/cancel": "audited as backup.cancel; checked in backup_fleet_test",
  "POST /api/v1/backups/:id/restore": "audited as backup.restore; checked in backup_fleet_test",
  "POST /api/v1/backups/:id/verify": "audited as backup.verify; checked in backup_fleet_test",
  "PUT /api/v1/agent/configs": "node agent: its config dir (audited as backup.configs.push)",
};

/** Audited write routes, run in this order (release after assign, logout last). */
const AUDITED: Record<string, Audited> = {
  "POST /api/v1/enroll": {
    action: "node.enroll",
    call: async (fx) => {
      const t = await fx.token({ kind: "enrollment", name: "enrolling" });
      return await fx.send("POST", "/api/v1/enroll", {}, {
        token: t.token,
        hostname: "enrolling",
        arch: "aarch64",
      });
    },
    // Public: the enrollment token is the credential and so the actor.
    actor: () => "enrolling",
  },
  "POST /api/v1/session": {
    action: "session.open",
    call: (fx) => fx.send("POST", "/api/v1/session", { origin: ORIGIN }, { token: fx.adminToken }),
  },
  "POST /api/v1/tokens": {
    action: "token.create",
    call: (fx) => fx.asAdmin("POST", "/api/v1/tokens", { kind: "viewer", name: "made" }),
  },
  "DELETE /api/v1/tokens/:id": {
    action: "token.revoke",
    call: async (fx) =>
      fx.asAdmin("DELETE", `/api/v1/tokens/${(await fx.token({ kind: "viewer" })).id}`),
  },
  "DELETE /api/v1/nodes/:id": {
    action: "node.delete",
    call: async (fx) => {
      // A node token makes its node.
      await fx.token({ kind: "node", node_id: "gone" });
      return await fx.asAdmin("DELETE", "/api/v1/nodes/gone");
    },
  },
  "POST /api/v1/jobs": {
    action: "job.submit",
    call: (fx) => fx.asAdmin("POST", "/api/v1/jobs", { executor: "process", command: "true" }),
  },
  "POST /api/v1/jobs/:id/cancel": {
    action: "job.cancel",
    call: async (fx) => fx.asAdmin("POST", `/api/v1/jobs/${await fx.job()}/cancel`),
  },
  "POST /api/v1/jobs/:id/retry": {
    action: "job.retry",
    call: async (fx) => {
      const id = await fx.job();
      await fx.admin("POST", `/api/v1/jobs/${id}/cancel`);
      return await fx.asAdmin("POST", `/api/v1/jobs/${id}/retry`);
    },
  },
  "POST /api/v1/roamers/:id/assign": {
    action: "roamer.assign",
    call: (fx) =>
      fx.asAdmin("POST", "/api/v1/roamers/r1/assign", { cluster: "c1", mode: "manual" }),
  },
  "POST /api/v1/roamers/:id/release": {
    action: "roamer.release",
    call: (fx) => fx.asAdmin("POST", "/api/v1/roamers/r1/release"),
  },
  "POST /api/v1/config/reload": {
    action: "config.reload",
    call: (fx) => fx.asAdmin("POST", "/api/v1/config/reload"),
  },
  "POST /api/v1/exec": {
    action: "exec.run",
    call: (fx) => fx.asAdmin("POST", "/api/v1/exec", { nodes: ["n1"], command: "uptime" }),
  },
  "POST /api/v1/exec/:id/cancel": {
    action: "exec.cancel",
    call: async (fx) => {
      // The fake agent never finishes a run by itself: this one is still running.
      const run = await fx.admin<{ id: string }>("POST", "/api/v1/exec", {
        nodes: ["n1"],
        command: "sleep 60",
      });
      return await fx.asAdmin("POST", `/api/v1/exec/${run.id}/cancel`);
    },
  },
  "POST /api/v1/nodes/:id/containers/:cid/:action": {
    action: "container.restart",
    call: (fx) => fx.asAdmin("POST", "/api/v1/nodes/n1/containers/web/restart"),
  },
  "POST /api/v1/network/scans": {
    action: "network.scan",
    call: (fx) =>
      fx.asAdmin("POST", "/api/v1/network/scans", { node: "n1", cidr: "10.231.43.0/24" }),
  },
  "POST /api/v1/network/port-scans": {
    action: "network.port_scan",
    call: (fx) =>
      fx.asAdmin("POST", "/api/v1/network/port-scans", {
        node: "n1",
        host: "10.231.43.2",
        ports: "22,80",
      }),
  },
  "POST /api/v1/network/wan-checks": {
    action: "network.wan_check",
    call: (fx) => fx.asAdmin("POST", "/api/v1/network/wan-checks", { node: "n1" }),
  },
  "POST /api/v1/network/scans/:id/cancel": {
    action: "network.scan_cancel",
    call: async (fx) => {
      const res = await fx.asAdmin("POST", "/api/v1/network/scans", {
        node: "n1",
        cidr: "10.231.43.0/28",
      });
      const { id } = await res.json() as { id: string };
      return await fx.asAdmin("POST", `/api/v1/network/scans/${id}/cancel`);
    },
  },
  "POST /api/v1/nodes/:id/actions/cleanup": {
    action: "node.cleanup",
    call: (fx) => fx.asAdmin("POST", "/api/v1/nodes/n1/actions/cleanup", { dry_run: true }),
  },
  "POST /api/v1/nodes/:id/actions/recover": {
    action: "node.recover",
    call: (fx) => fx.asAdmin("POST", "/api/v1/nodes/n1/actions/recover"),
  },
  "POST /api/v1/nodes/:id/actions/restart": {
    action: "node.restart",
    call: (fx) => fx.asAdmin("POST", "/api/v1/nodes/n1/actions/restart"),
  },
  "POST /api/v1/alerts/:id/ack": {
    action: "alert.ack",
    call: async (fx) => fx.asAdmin("POST", `/api/v1/alerts/${await firingAlert(fx)}/ack`),
  },
  "POST /api/v1/alerts/:id/silence": {
    action: "alert.silence",
    call: async (fx) =>
      fx.asAdmin("POST", `/api/v1/alerts/${await firingAlert(fx)}/silence`, { for_s: 3600 }),
  },
  "POST /api/v1/alerts/webhooks/:name/test": {
    action: "alert.webhook_test",
    call: (fx) => fx.asAdmin("POST", "/api/v1/alerts/webhooks/ops/test"),
  },
  ...swarmAudited(),
  "DELETE /api/v1/session": {
    action: "session.close",
    call: async (fx) => {
      const session = await fx.login();
      return await fx.send("DELETE", "/api/v1/session", {
        cookie: `fleet_session=${session}`,
        origin: ORIGIN,
      });
    },
  },
};

/** Swarm writes: refused here (no engine, 503) and audited as such. */
function swarmAudited(): Record<string, Audited> {
  const def = { definition: { name: "app", image: "127.0.0.1:5000/app:1" } };
  const rows: [string, string, string, string, unknown?][] = [
    ["POST /api/v1/swarm/catalog", "swarm.catalog.create", "POST", "/api/v1/swarm/catalog", def],
    ["PUT /api/v1/swarm/catalog/:name", "swarm.catalog.update", "PUT", "/catalog/app", def],
    ["DELETE /api/v1/swarm/catalog/:name", "swarm.catalog.delete", "DELETE", "/catalog/app"],
    [
      "POST /api/v1/swarm/catalog/:name/deploy",
      "swarm.service.deploy",
      "POST",
      "/catalog/app/deploy",
      {},
    ],
    ["POST /api/v1/swarm/catalog/:name/build", "swarm.build", "POST", "/catalog/app/build", {}],
    [
      "POST /api/v1/swarm/builds/:id/cancel",
      "swarm.build.cancel",
      "POST",
      "/builds/00000000-0000-4000-8000-000000000000/cancel",
    ],
    ["POST /api/v1/swarm/deploy", "swarm.service.deploy", "POST", "/deploy", def],
    [
      "POST /api/v1/swarm/services/:name/scale",
      "swarm.service.scale",
      "POST",
      "/services/app/scale",
      { replicas: 2 },
    ],
    [
      "POST /api/v1/swarm/services/:name/update",
      "swarm.service.update",
      "POST",
      "/services/app/update",
      { force: true },
    ],
    [
      "POST /api/v1/swarm/services/:name/restart",
      "swarm.service.restart",
      "POST",
      "/services/app/restart",
    ],
    ["DELETE /api/v1/swarm/services/:name", "swarm.service.stop", "DELETE", "/services/app"],
    ["POST /api/v1/swarm/stacks", "swarm.stack.deploy", "POST", "/stacks", {
      name: "demo",
      compose: "services:\n  web:\n    image: x\n",
    }],
    ["DELETE /api/v1/swarm/stacks/:name", "swarm.stack.remove", "DELETE", "/stacks/demo"],
    ["POST /api/v1/swarm/nodes/:id/:action", "swarm.node.action", "POST", "/nodes/n1/drain"],
    ["PATCH /api/v1/swarm/nodes/:id/labels", "swarm.node.labels", "PATCH", "/nodes/n1/labels", {
      add: { a: "b" },
    }],
    ["DELETE /api/v1/swarm/nodes/:id", "swarm.node.remove", "DELETE", "/nodes/n1"],
    [
      "DELETE /api/v1/swarm/registry/tags",
      "swarm.registry.delete",
      "DELETE",
      "/registry/tags?repository=fleet/app&tag=1",
    ],
  ];
  return Object.fromEntries(rows.map(([route, action, method, path, body]) => [route, {
    action,
    refused: 503,
    call: (fx: Fixture) =>
      fx.asAdmin(method, path.startsWith("/api/") ? path : `/api/v1/swarm${path}`, body),
  }]));
}

/** The admin token, a request helper and makers of fresh targets. */
class Fixture {
  adminToken = "";
  adminName = "";

  constructor(readonly app: Hono, readonly services: HubServices) {}

  send(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ): Promise<Response> {
    return send(this.app, method, path, headers, body);
  }

  /** An admin (bearer) call, whatever it answers. */
  asAdmin(method: string, path: string, body?: unknown): Promise<Response> {
    return this.send(method, path, { authorization: `Bearer ${this.adminToken}` }, body);
  }

  /** An admin call that must succeed; returns its JSON. */
  async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.asAdmin(method, path, body);
    const text = await res.text();
    assert.ok(res.ok, `setup: ${method} ${path} answered ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async token(spec: Record<string, unknown>): Promise<{ id: string; token: string }> {
    return await this.admin("POST", "/api/v1/tokens", spec);
  }

  /** A pending job no node can claim (n2 has no agent here); returns its id. */
  async job(): Promise<string> {
    const job = await this.admin<{ id: string }>("POST", "/api/v1/jobs", {
      executor: "process",
      command: "sleep 1",
      node: "n2",
    });
    return job.id;
  }

  /** Logs the admin token in; returns the `fleet_session` cookie's value. */
  async login(): Promise<string> {
    const res = await this.send("POST", "/api/v1/session", { origin: ORIGIN }, {
      token: this.adminToken,
    });
    await res.body?.cancel();
    assert.equal(res.status, 200, "setup: login");
    const m = /fleet_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "");
    assert.ok(m, "setup: login set no fleet_session cookie");
    return m[1];
  }

  /** The newest entry's id (0 when there is none). */
  lastId(): number {
    return Number(listAudit(this.services.db, { limit: 1 })[0]?.id ?? 0);
  }

  /** Entries newer than `id`, oldest first. */
  since(id: number): AuditEntry[] {
    return listAudit(this.services.db, { limit: 100 }).filter((e) => Number(e.id) > id)
      .reverse();
  }
}

/**
 * Connects node n1 as an agent that answers every Docker request with success and exec cancels
 * with an exit, and never ends a run by itself, so exec cancel and container actions go through.
 */
function fakeAgent(services: HubServices): AgentSession {
  // Set once attached; the socket answers through it.
  const held: { session?: AgentSession } = {};
  const socket: ControlSocket = {
    bufferedAmount: 0,
    close: () => {},
    send: (text) => {
      const msg = JSON.parse(text) as { type: string; ch?: number };
      const ch = msg.ch;
      if (ch === undefined) return;
      // Answered after `send` returns, as a real agent's frame would arrive.
      if (msg.type === "net") {
        // Network requests fail at once: the route under test is the hub's, not the agent's.
        queueMicrotask(() =>
          held.session?.deliver({ type: "reply", ch, ok: false, code: "failed", error: "fake" })
        );
      } else if (msg.type === "docker") {
        queueMicrotask(() => held.session?.deliver({ type: "reply", ch, ok: true, data: {} }));
      } else if (msg.type === "node.action") {
        const op = (msg as { op?: string }).op;
        const data = op === "cleanup"
          ? {
            node_id: "n1",
            dry_run: true,
            plan_id: "0123456789abcdef",
            actions: [],
            omitted: 0,
            skipped: [],
            bytes: 0,
            failed: [],
          }
          : op === "recover"
          ? { node_id: "n1", ok: true, steps: [] }
          : { node_id: "n1", how: "in_place" };
        queueMicrotask(() => held.session?.deliver({ type: "reply", ch, ok: true, data }));
      } else if (msg.type === "exec.cancel") {
        queueMicrotask(() =>
          held.session?.deliver({
            type: "exec.exit",
            ch,
            exit_code: null,
            timed_out: false,
            cancelled: true,
            truncated: false,
            output_bytes: 0,
          })
        );
      }
    },
  };
  const tokenId = "fake-agent";
  const session = services.agents.attach("n1", tokenId, socket, {
    type: "hello",
    version: "test",
    capabilities: ["exec", "docker", "net", "actions"],
  });
  assert.ok(session, "setup: the fake agent was not attached");
  held.session = session;
  return session;
}

/** Builds the hub in process with an admin, nodes n1 (a fake agent) and n2. */
async function openHub(): Promise<{ fx: Fixture; hub: InProcessHub }> {
  const hub = await openInProcessHub("fleet-audit-coverage-", FLEET_YML);
  const fx = new Fixture(hub.app, hub.services);
  fx.adminToken = hub.adminToken;
  fx.adminName = (await fx.admin<{ name: string }>("GET", "/api/v1/session")).name;
  // Node tokens make their nodes: n1 for the fake agent, n2 for jobs nobody claims.
  await fx.token({ kind: "node", node_id: "n1" });
  await fx.token({ kind: "node", node_id: "n2" });
  fakeAgent(hub.services);
  return { fx, hub };
}

Deno.test("audit coverage: every write route is audited with its caller, or excluded on purpose", async (t) => {
  const { fx, hub } = await openHub();
  const { fleetYml } = hub;
  try {
    await t.step("every non-GET route is audited or excluded, and every listed one exists", () => {
      // `app.use` middleware is registered as method ALL; a handler chain repeats its route.
      const writes = new Set(
        fx.app.routes.filter((r) => r.method !== "ALL" && r.method !== "GET").map((r) =>
          `${r.method} ${r.path}`
        ),
      );
      const listed = [...Object.keys(AUDITED), ...Object.keys(EXCLUDED)];
      const missing = [...writes].filter((r) => !listed.includes(r));
      const stale = listed.filter((r) => !writes.has(r));
      const both = Object.keys(AUDITED).filter((r) => r in EXCLUDED);
      assert.deepEqual(
        { missing, stale, both },
        { missing: [], stale: [], both: [] },
        `write routes neither audited nor excluded: ${missing.join(", ") || "none"}; ` +
          `listed without a route: ${stale.join(", ") || "none"}`,
      );
    });

    await t.step("each audited write leaves an ok entry with its action and caller", async () => {
      const failures: string[] = [];
      for (const [route, row] of Object.entries(AUDITED)) {
        const before = fx.lastId();
        const res = await row.call(fx);
        const text = await res.text();
        const want = row.refused === undefined ? "ok" : "error";
        if (row.refused !== undefined ? res.status !== row.refused : !res.ok) {
          failures.push(`${route}: answered ${res.status}: ${text}`);
          continue;
        }
        const actor = row.actor?.(fx) ?? fx.adminName;
        const entries = fx.since(before);
        const hit = entries.find((e) => e.action === row.action);
        if (!hit) {
          const got = entries.map((e) => e.action).join(", ") || "nothing";
          failures.push(`${route}: no ${row.action} entry (got ${got})`);
        } else if (hit.actor.name !== actor || hit.result !== want) {
          failures.push(
            `${route}: ${row.action} by ${hit.actor.name} (${hit.result}), expected ${actor} ` +
              `(${want})`,
          );
        }
      }
      assert.deepEqual(failures, []);
    });

    await t.step("a refused write leaves no entry", async () => {
      const before = fx.lastId();
      const gone = await fx.asAdmin("DELETE", "/api/v1/nodes/never-was");
      await gone.body?.cancel();
      assert.equal(gone.status, 404);
      const token = await fx.asAdmin("DELETE", "/api/v1/tokens/tok_never_was");
      await token.body?.cancel();
      assert.equal(token.status, 404);
      // Logging out a session that is already over ends nothing.
      const session = await fx.login();
      const afterLogin = fx.lastId();
      for (let i = 0; i < 2; i++) {
        const res = await fx.send("DELETE", "/api/v1/session", {
          cookie: `fleet_session=${session}`,
          origin: ORIGIN,
        });
        await res.body?.cancel();
        assert.equal(res.status, 204);
      }
      assert.deepEqual(
        fx.since(before).map((e) => e.action),
        ["session.open", "session.close"],
        "only the login and the one real logout are entries",
      );
      assert.equal(fx.since(afterLogin).length, 1, "the second logout is no entry");
    });

    await t.step("a reload of a bad fleet.yml is an error entry with the refusal", async () => {
      await Deno.writeTextFile(fleetYml, "clusters: [\n");
      const before = fx.lastId();
      const res = await fx.asAdmin("POST", "/api/v1/config/reload");
      await res.body?.cancel();
      assert.equal(res.status, 400);
      const entries = fx.since(before);
      assert.equal(entries.length, 1, JSON.stringify(entries));
      const [e] = entries;
      assert.equal(e.action, "config.reload");
      assert.equal(e.result, "error");
      assert.equal(e.actor.name, fx.adminName);
      assert.equal(e.target, fleetYml);
      assert.match(String(e.detail?.error), /fleet\.yml|line|:\d+/);
      // The good file again: the reload is ok, with the summary.
      await Deno.writeTextFile(fleetYml, FLEET_YML);
      const { reloaded, ...summary } = await fx.admin<Record<string, unknown>>(
        "POST",
        "/api/v1/config/reload",
      );
      assert.equal(reloaded, true);
      const last = fx.since(before).at(-1)!;
      assert.equal(last.result, "ok");
      assert.deepEqual(last.detail, summary, "the entry holds the answer's summary");
    });
  } finally {
    await closeInProcessHub(hub);
  }
});
