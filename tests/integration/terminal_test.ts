/**
 * The web terminal end to end without a browser: a Deno WebSocket speaks the browser's protocol
 * to the hub (session cookie or bearer), the hub relays to a real agent, which runs a real PTY
 * through `script`. Typing, resize (`stty size`), closing from either side (the shell's session
 * is killed, checked in /proc), several sessions per node, malformed frames, the idle timeout,
 * refusals, the audit trail, and a hub restart mid-session.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type HubProcess, loginCookie, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import type { Child } from "../helpers/process.ts";
import {
  processAlive,
  TerminalClient,
  type TerminalFrame,
  waitControl,
  waitGone,
} from "../helpers/control.ts";
import { TERMINAL_CLOSE } from "../../shared/protocol/mod.ts";
import { findExecutable } from "../../agent/collect/sampler.ts";

const SCRIPT_MISSING = !findExecutable("script");
if (SCRIPT_MISSING) {
  const msg = "terminal tests need util-linux 'script': apt-get install -y util-linux";
  if (Deno.env.get("CI") === "true") throw new Error(msg);
  console.error(`SKIPPING terminal tests: ${msg}`);
}

async function withAgent(
  hub: HubProcess,
  id: string,
): Promise<Child> {
  const token = (await hub.admin.createToken({ kind: "node", node_id: id })).token;
  const dir = await Deno.makeTempDir({ prefix: `fleet-term-${id}-` });
  const agent = startAgent({
    hub: hub.url,
    token,
    stateDir: join(dir, "state"),
    interval: "1s",
    args: ["--jobs", "off"],
  });
  await waitControl(hub.admin, id);
  return agent;
}

/** Asks the shell for its pid. */
async function shellPid(t: TerminalClient, tag: string): Promise<number> {
  t.type(`echo ${tag}-$$\n`);
  return Number((await t.waitOutput(new RegExp(`${tag}-(\\d+)`)))[1]);
}

Deno.test({
  name: "terminal: type, resize, several sessions, close from the browser kills the shell",
  ignore: SCRIPT_MISSING,
  fn: async () => {
    const hub = await startHub();
    const agent = await withAgent(hub, "p1");
    const a = TerminalClient.open(hub.url, "p1", {
      cookie: await loginCookie(hub.url, hub.adminToken),
    }, {
      cols: 100,
      rows: 30,
    });
    const b = TerminalClient.open(hub.url, "p1", { bearer: hub.adminToken });
    try {
      const ready = await a.ready();
      assert.equal(ready.node_id, "p1");
      assert.match(ready.shell, /sh$/);
      await b.ready();

      a.type("echo fleet-$((6*7))\n");
      await a.waitOutput(/fleet-42/);
      a.type("stty size\n");
      await a.waitOutput(/30 100/);
      a.send({ type: "resize", cols: 120, rows: 40 });
      a.type("echo S=$(stty size)\n");
      await a.waitOutput(/S=40 120/);

      // Two sessions, two shells.
      const pa = await shellPid(a, "pid-a");
      const pb = await shellPid(b, "pid-b");
      assert.notEqual(pa, pb);
      a.type("sleep 1000 & echo bg-$!\n");
      const bg = Number((await a.waitOutput(/bg-(\d+)/))[1]);
      assert.ok(processAlive(pa) && processAlive(bg));

      // Malformed frames are answered and ignored; the session goes on.
      const from = a.frames.length;
      a.send("not json");
      a.send({ type: "launch" });
      a.send({ type: "resize", cols: 0, rows: 5 });
      a.send({ type: "input", data: 42 });
      for (let i = 0; i < 4; i++) {
        await a.next((f: TerminalFrame) => f.type === "error", 10_000, from + i);
      }
      const errors = (a.frames.slice(from) as TerminalFrame[]).filter((f) => f.type === "error");
      assert.equal(errors.length, 4);
      assert.match((errors[0] as { message: string }).message, /not JSON/);
      a.type("echo still-$((1+1))\n");
      await a.waitOutput(/still-2/);

      // The browser closes: the shell and its background job die, b is untouched.
      await a.close();
      await waitGone(pa, "the closed terminal's shell");
      await waitGone(bg, "the closed terminal's background job");
      assert.ok(processAlive(pb));
      b.type("echo b-alive\n");
      await b.waitOutput(/b-alive/);
      await b.close();
      await waitGone(pb, "the second terminal's shell");

      // The audit log has opens and closes, with who and where, and no keystrokes.
      const audit = await hub.admin.audit({ action: "terminal." });
      const actions = audit.entries.map((e) => `${e.action}:${e.result}`).sort();
      assert.deepEqual(actions, [
        "terminal.close:ok",
        "terminal.close:ok",
        "terminal.open:ok",
        "terminal.open:ok",
      ]);
      for (const e of audit.entries) {
        assert.equal(e.target, "p1");
        assert.equal(e.actor.kind, "admin");
        assert.doesNotMatch(JSON.stringify(e), /fleet-\$|stty|sleep 1000/);
      }
    } finally {
      await a.close();
      await b.close();
      await agent.stop();
      await hub.stop();
    }
  },
});

Deno.test({
  name: "terminal: the shell exiting closes the socket with its code and reason",
  ignore: SCRIPT_MISSING,
  fn: async () => {
    const hub = await startHub();
    const agent = await withAgent(hub, "p2");
    const t = TerminalClient.open(hub.url, "p2", {
      cookie: await loginCookie(hub.url, hub.adminToken),
    });
    try {
      await t.ready();
      const pid = await shellPid(t, "pid");
      t.type("exit 3\n");
      const exit = await t.next<TerminalFrame>((f) => f.type === "exit");
      assert.deepEqual(exit, { type: "exit", code: 3, reason: "the shell exited" });
      const closed = await t.closed;
      assert.equal(closed.code, 1000);
      assert.equal(closed.reason, "the shell exited");
      await waitGone(pid, "the exited shell");
    } finally {
      await t.close();
      await agent.stop();
      await hub.stop();
    }
  },
});

Deno.test({
  name: "terminal: refusals (viewer, node token, other origin, unknown node, not connected)",
  ignore: SCRIPT_MISSING,
  fn: async () => {
    const hub = await startHub();
    const viewer = await hub.admin.createToken({ kind: "viewer" });
    const node = await hub.admin.createToken({ kind: "node", node_id: "p3" });
    try {
      const url = `${hub.url}/api/v1/terminal/p3`;
      const upgrade = {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      };
      for (
        const [headers, status, re] of [
          [{}, 401, /token/],
          [{ cookie: `fleet_session=${await loginCookie(hub.url, viewer.token)}` }, 403, /viewer/],
          [{ authorization: `Bearer ${node.token}` }, 403, /node/],
          [
            {
              cookie: `fleet_session=${await loginCookie(hub.url, hub.adminToken)}`,
              origin: "https://evil.example",
            },
            403,
            /evil/,
          ],
        ] as const
      ) {
        const res = await fetch(url, { headers: { ...upgrade, ...headers } });
        assert.equal(res.status, status);
        assert.match((await res.json()).detail, re);
      }
      const unknown = await fetch(`${hub.url}/api/v1/terminal/nope`, {
        headers: { ...upgrade, authorization: `Bearer ${hub.adminToken}` },
      });
      assert.equal(unknown.status, 404);
      await unknown.body?.cancel();
      const bad = await fetch(`${url}?cols=0`, {
        headers: { ...upgrade, authorization: `Bearer ${hub.adminToken}` },
      });
      assert.equal(bad.status, 400);
      await bad.body?.cancel();
      // Same-origin browsers are welcome (the Origin matches the Host).
      // p3 has a token but no agent: the socket opens and closes with a clear reason.
      const t = TerminalClient.open(hub.url, "p3", {
        cookie: await loginCookie(hub.url, hub.adminToken),
        origin: hub.url,
      });
      const err = await t.next<TerminalFrame>((f) => f.type === "error");
      assert.match((err as { message: string }).message, /p3 is not connected/);
      const closed = await t.closed;
      assert.equal(closed.code, TERMINAL_CLOSE.notConnected);
      const audit = await hub.admin.audit({ action: "terminal.open" });
      assert.equal(audit.entries[0].result, "error");
      assert.equal(audit.entries[0].target, "p3");
    } finally {
      await hub.stop();
    }
  },
});

Deno.test({
  name: "terminal: an idle session is closed and its shell killed",
  ignore: SCRIPT_MISSING,
  fn: async () => {
    const hub = await startHub({ args: ["--terminal-idle", "3s"] });
    const agent = await withAgent(hub, "p4");
    const t = TerminalClient.open(hub.url, "p4", {
      cookie: await loginCookie(hub.url, hub.adminToken),
    });
    try {
      await t.ready();
      const pid = await shellPid(t, "pid");
      const closed = await Promise.race([
        t.closed,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error("no idle close within 20 s")), 20_000)
        ),
      ]);
      assert.equal(closed.code, TERMINAL_CLOSE.idle);
      assert.match(closed.reason, /idle/);
      await waitGone(pid, "the idle terminal's shell");
    } finally {
      await t.close();
      await agent.stop();
      await hub.stop();
    }
  },
});

Deno.test({
  name: "terminal: a hub restart mid-session ends the shell; the agent reconnects",
  ignore: SCRIPT_MISSING,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "fleet-term-restart-" });
    let hub = await startHub({ dataDir });
    const port = hub.port;
    const agent = await withAgent(hub, "p5");
    const t = TerminalClient.open(hub.url, "p5", {
      cookie: await loginCookie(hub.url, hub.adminToken),
    });
    let t2: TerminalClient | undefined;
    try {
      await t.ready();
      const pid = await shellPid(t, "pid");
      await hub.stop("SIGKILL");
      const closed = await t.closed;
      assert.notEqual(closed.code, 1000);
      await waitGone(pid, "the shell of the lost hub");
      hub = await startHub({ dataDir, port });
      await waitControl(hub.admin, "p5", true, 60_000);
      t2 = TerminalClient.open(hub.url, "p5", {
        cookie: await loginCookie(hub.url, hub.adminToken),
      });
      await t2.ready();
      t2.type("echo again-$((2*21))\n");
      await t2.waitOutput(/again-42/);
    } finally {
      await t.close();
      await t2?.close();
      await agent.stop();
      await hub.stop();
    }
  },
});

Deno.test({
  name: "terminal: a runaway command is held to the output rate limit and still interruptible",
  ignore: SCRIPT_MISSING,
  fn: async () => {
    const rate = 64 * 1024;
    const hub = await startHub({ args: ["--terminal-rate", "64KB"] });
    const agent = await withAgent(hub, "p6");
    const t = TerminalClient.open(hub.url, "p6", {
      cookie: await loginCookie(hub.url, hub.adminToken),
    });
    try {
      await t.ready();
      await shellPid(t, "pid");
      const bytes = () => new TextEncoder().encode(t.output).length;
      const before = bytes();
      const t0 = performance.now();
      t.type("yes fleet-flood\n");
      await t.waitOutput(/fleet-flood\r\nfleet-flood/);
      // Read the flood for a while: never more than the burst plus the rate allows (an upper
      // bound, so a slow machine cannot make this fail).
      await new Promise((r) => setTimeout(r, 1500));
      const got = bytes() - before;
      const elapsed = (performance.now() - t0) / 1000;
      const burst = Math.max(64 * 1024, rate / 4);
      assert.ok(
        got <= burst + rate * elapsed + 64 * 1024,
        `${got} bytes in ${elapsed.toFixed(2)} s at ${rate} B/s`,
      );
      assert.ok((await fetch(`${hub.url}/healthz`)).ok);
      // Ctrl-C stops it; the shell answers again.
      t.type("\x03");
      t.type("echo calm-$((40+2))\n");
      await t.waitOutput(/calm-42/, 60_000);
    } finally {
      await t.close();
      await agent.stop();
      await hub.stop();
    }
  },
});

Deno.test({
  name: "terminal: a hub stopping (SIGTERM) closes sessions with 1001 and exits cleanly",
  ignore: SCRIPT_MISSING,
  fn: async () => {
    const hub = await startHub();
    const agent = await withAgent(hub, "p7");
    const t = TerminalClient.open(hub.url, "p7", {
      cookie: await loginCookie(hub.url, hub.adminToken),
    });
    try {
      await t.ready();
      const pid = await shellPid(t, "pid");
      const status = await hub.stop("SIGTERM");
      assert.equal(status.code, 0);
      assert.equal(status.signal, null);
      const closed = await t.closed;
      assert.equal(closed.code, 1001);
      await waitGone(pid, "the shell of the stopped hub");
      assert.ok(hub.child.logs().some((l) => l.msg === "stopped"));
    } finally {
      await t.close();
      await agent.stop();
      await hub.stop();
    }
  },
});
