/**
 * The agent control WebSocket with real hub and agent processes: hello/welcome, RTT in the fleet
 * snapshot and `node.control` events, reconnect after a hub restart, refusal of wrong tokens, a
 * revoked token dropping the connection, and malformed frames in both directions answered with
 * errors while both sides keep running.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { SseClient } from "../helpers/sse.ts";
import { waitFor } from "../helpers/process.ts";
import { waitControl, WsClient } from "../helpers/control.ts";
import { ApiError } from "../../shared/api_client.ts";

function agentWsUrl(hub: string): string {
  return `${hub.replace(/^http/, "ws")}/api/v1/agent/ws`;
}

Deno.test("control channel: connect, RTT in the fleet, node.control events, reconnect after a hub restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "fleet-control-" });
  let hub = await startHub({ dataDir, args: ["--control-ping", "200ms"] });
  const port = hub.port;
  const token = (await hub.admin.createToken({ kind: "node", node_id: "c1" })).token;
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  const agent = startAgent({
    hub: hub.url,
    token,
    stateDir: await Deno.makeTempDir({ prefix: "fleet-c1-" }),
  });
  try {
    await waitControl(hub.admin, "c1");
    const connected = await sse.next((e) =>
      e.event === "node.control" && JSON.parse(e.data).connected === true
    );
    assert.equal(JSON.parse(connected.data).node_id, "c1");
    // What the agent offers travels with the event and the node summary (the UI disables the
    // node actions of an agent without `actions`).
    assert.ok(JSON.parse(connected.data).capabilities.includes("actions"), connected.data);
    // RTT is measured from the pings.
    const node = await waitFor(async () => {
      const n = await hub.admin.node("c1");
      return typeof n.rtt_ms === "number" ? n : undefined;
    }, "an RTT for c1");
    assert.ok(node.rtt_ms! >= 0 && node.rtt_ms! < 10_000, `rtt ${node.rtt_ms}`);
    assert.equal(node.control, true);
    assert.ok(node.capabilities?.includes("actions"), JSON.stringify(node.capabilities));
    assert.ok(node.capabilities?.includes("exec"), JSON.stringify(node.capabilities));
    const fleet = await hub.admin.fleet();
    assert.equal(fleet.nodes.find((n) => n.id === "c1")?.control, true);
    await agent.waitForLine((l) => l.includes('"msg":"control channel connected"'));

    // The hub goes away and comes back on the same port: the agent dials again by itself.
    await sse.close();
    const stopped = await hub.stop();
    assert.equal(stopped.code, 0, "SIGTERM with agents connected: a clean, prompt exit");
    hub = await startHub({ dataDir, port, args: ["--control-ping", "200ms"] });
    await waitControl(hub.admin, "c1", true, 60_000);
    assert.ok(agent.logs().some((l) => l.msg === "control channel lost"));

    // The agent stops: the hub shows it disconnected and says so on the stream.
    const sse2 = await SseClient.connect(hub.url, hub.adminToken);
    try {
      await agent.stop();
      await waitControl(hub.admin, "c1", false);
      await sse2.next((e) =>
        e.event === "node.control" && JSON.parse(e.data).node_id === "c1" &&
        JSON.parse(e.data).connected === false
      );
      assert.equal((await hub.admin.node("c1")).rtt_ms, null);
      assert.deepEqual((await hub.admin.node("c1")).capabilities, []);
    } finally {
      await sse2.close();
    }
  } finally {
    await sse.close();
    await agent.stop();
    await hub.stop();
  }
});

Deno.test("control channel: only node tokens connect; a revoked token is dropped", async () => {
  const hub = await startHub({ args: ["--control-ping", "200ms"] });
  const node = await hub.admin.createToken({ kind: "node", node_id: "c2" });
  const viewer = await hub.admin.createToken({ kind: "viewer" });
  const url = `${hub.url}/api/v1/agent/ws`;
  const agent = startAgent({
    hub: hub.url,
    token: node.token,
    stateDir: await Deno.makeTempDir({ prefix: "fleet-c2-" }),
  });
  try {
    const upgrade = { upgrade: "websocket", connection: "Upgrade" };
    for (
      const [headers, status] of [
        [{}, 401],
        [{ authorization: `Bearer ${viewer.token}` }, 403],
        [{ authorization: `Bearer ${hub.adminToken}` }, 403],
      ] as const
    ) {
      const res = await fetch(url, { headers: { ...upgrade, ...headers } });
      assert.equal(res.status, status);
      assert.match(res.headers.get("content-type") ?? "", /problem\+json/);
      await res.body?.cancel();
    }
    // A plain GET with a node token: the route says it is a WebSocket.
    const plain = await fetch(url, { headers: { authorization: `Bearer ${node.token}` } });
    assert.equal(plain.status, 426);
    assert.match((await plain.json()).detail, /WebSocket/);

    await waitControl(hub.admin, "c2");
    await hub.admin.revokeToken(node.id);
    await waitControl(hub.admin, "c2", false);
    // …and it cannot come back.
    await agent.waitForLine(
      (l) => l.includes("control channel: the hub refused this agent's token (401)"),
      30_000,
    );
    assert.equal((await hub.admin.node("c2")).control, false);
  } finally {
    await agent.stop();
    await hub.stop();
  }
});

Deno.test("control channel: malformed frames from an agent get error frames, the connection stays", async () => {
  const hub = await startHub({ args: ["--control-ping", "200ms"] });
  const token = (await hub.admin.createToken({ kind: "node", node_id: "raw1" })).token;
  const ws = new WsClient(agentWsUrl(hub.url), { authorization: `Bearer ${token}` });
  try {
    await ws.opened;
    const errorAfter = async (frame: unknown, re: RegExp) => {
      const from = ws.frames.length;
      ws.send(frame);
      const e = await ws.next<{ type: string; message: string }>(
        (f) => f.type === "error",
        10_000,
        from,
      );
      assert.match(e.message, re);
    };
    await errorAfter({ type: "pong", t: 1 }, /first frame must be 'hello'/);
    await errorAfter("this is not json", /not JSON/);
    await errorAfter({ type: "bogus" }, /unknown message type 'bogus'/);
    await errorAfter({ type: "exec.output", ch: "x", stream: "stdout", data: "" }, /exec.output/);
    await errorAfter(new Uint8Array([1, 2, 3]), /binary frames/);
    await errorAfter({ type: "hello", version: 7, capabilities: [] }, /version/);

    // Still connected: a proper hello is welcomed and pings are answered.
    ws.send({ type: "hello", version: "test", capabilities: ["exec"] });
    const welcome = await ws.next<{ type: string; node_id: string; ping_ms: number }>((f) =>
      f.type === "welcome"
    );
    assert.equal(welcome.node_id, "raw1");
    assert.equal(welcome.ping_ms, 200);
    const ping = await ws.next<{ type: string; t: number }>((f) => f.type === "ping");
    ws.send({ type: "pong", t: ping.t });
    await waitControl(hub.admin, "raw1");
    await errorAfter({ type: "hello", version: "x", capabilities: [] }, /already received/);
    // Frames for channels the hub does not know are ignored (no crash, no answer needed).
    ws.send({ type: "pty.exit", ch: 99, code: 0, reason: "x" });
    await errorAfter("{", /not JSON/);
    assert.equal(ws.isClosed, false);
    assert.ok((await fetch(`${hub.url}/healthz`)).ok);

    // A node that stops answering pings is dropped after three.
    ws.ws.onmessage = () => {}; // stop answering
    await waitControl(hub.admin, "raw1", false, 15_000);
    const { code } = await ws.closed;
    assert.equal(code, 4002);
    assert.ok((await fetch(`${hub.url}/healthz`)).ok);
  } finally {
    await ws.close();
    await hub.stop();
  }
});

Deno.test("control channel: malformed frames from the hub get error frames, the agent keeps running", async () => {
  // A fake hub: accepts the agent's socket, sends garbage, then a proper welcome and a ping.
  const received: Record<string, unknown>[] = [];
  const wake: (() => void)[] = [];
  let sock: WebSocket | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (new URL(req.url).pathname !== "/api/v1/agent/ws") {
      return new Response(JSON.stringify({ title: "no" }), { status: 503 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    sock = socket;
    socket.onmessage = (e) => {
      received.push(JSON.parse(e.data));
      for (const w of wake.splice(0)) w();
    };
    return response;
  });
  const next = async (test: (m: Record<string, unknown>) => boolean, from: number) => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const found = received.slice(from).find(test);
      if (found) return found;
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        wake.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    throw new Error(`no such frame; got ${JSON.stringify(received)}`);
  };
  const agent = startAgent({
    hub: `http://127.0.0.1:${server.addr.port}`,
    token: "fcn_fake",
    stateDir: await Deno.makeTempDir({ prefix: "fleet-fakehub-" }),
    args: ["--jobs", "off", "--node-id", "fake1"],
  });
  try {
    const hello = await next((m) => m.type === "hello", 0);
    assert.deepEqual(hello.capabilities, ["exec", "pty", "net", "backup", "actions"]);
    for (
      const [frame, re] of [
        ["garbage", /not JSON/],
        [JSON.stringify({ type: "launch.missiles" }), /launch.missiles/],
        [JSON.stringify({ type: "exec.start", ch: 1 }), /exec.start/],
        [JSON.stringify({ type: "pty.open", ch: 2, cols: 0, rows: 10, rate_bps: 5000 }), /cols/],
      ] as const
    ) {
      const from = received.length;
      sock!.send(frame);
      const e = await next((m) => m.type === "error", from);
      assert.match(String(e.message), re);
    }
    // The exec with bad fields never ran: a proper one still does.
    const from = received.length;
    sock!.send(JSON.stringify({ type: "welcome", node_id: "fake1", ping_ms: 1000 }));
    sock!.send(JSON.stringify({ type: "ping", t: 42 }));
    const pong = await next((m) => m.type === "pong", from);
    assert.equal(pong.t, 42);
    sock!.send(JSON.stringify({
      type: "exec.start",
      ch: 5,
      command: "echo still-alive",
      timeout_s: 10,
      output_cap_b: 4096,
    }));
    const out = await next((m) => m.type === "exec.output" && m.ch === 5, from);
    assert.equal(out.data, "still-alive\n");
    const exit = await next((m) => m.type === "exec.exit" && m.ch === 5, from);
    assert.equal(exit.exit_code, 0);
    // A container request to an agent without Docker is answered, not dropped.
    sock!.send(JSON.stringify({ type: "docker", ch: 6, op: "list" }));
    const reply = await next((m) => m.type === "reply" && m.ch === 6, from);
    assert.equal(reply.ok, false);
    assert.equal(reply.code, "unavailable");
    assert.equal(agent.proc.pid > 0 && !agent.logs().some((l) => l.level === "error"), true);
  } finally {
    await agent.stop();
    await server.shutdown();
  }
});

Deno.test("control channel: fleet nodes without an agent show control false and no RTT", async () => {
  const hub = await startHub();
  try {
    await hub.admin.createToken({ kind: "node", node_id: "idle1" });
    const n = await hub.admin.node("idle1");
    assert.equal(n.control, false);
    assert.equal(n.rtt_ms, null);
    await assert.rejects(
      () => hub.admin.request("GET", "/api/v1/agent/ws"),
      (e) => e instanceof ApiError && e.status === 403,
    );
  } finally {
    await hub.stop();
  }
});
