/**
 * How loss is counted, on both ends. Hub: the control-channel registry with a fake socket that
 * answers pings fast, late (after the ping timeout) or not at all — late and missing pongs are
 * lost, a late pong still updates the last round trip. Agent: the probe of the hub against a
 * real HTTP server on loopback that answers fast, slower than the probe timeout, or is gone.
 */
import assert from "node:assert/strict";
import { EventBus } from "../../hub/core/bus.ts";
import { AgentSessions, type ControlSocket } from "../../hub/control/agent_sessions.ts";
import { HubProbe } from "../../agent/link_probe.ts";

const PING_MS = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("control pings: answered within the timeout count, late and unanswered ones are lost", async () => {
  const sessions = new AgentSessions(new EventBus(100), {
    pingMs: PING_MS,
    tokenValid: () => true,
  });
  let answerAfter: number | null = 5;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const socket: ControlSocket = {
    bufferedAmount: 0,
    close() {},
    send(text) {
      const msg = JSON.parse(text);
      if (msg.type !== "ping" || answerAfter === null) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        sessions.pong(session, msg.t);
      }, answerAfter);
      timers.add(timer);
    },
  };
  const session = sessions.attach("n1", "tok", socket, {
    type: "hello",
    version: "test",
    capabilities: [],
  })!;
  sessions.start();
  try {
    assert.equal(sessions.pingTimeoutMs, PING_MS);
    // Fast answers: no loss, a small round trip.
    await waitUntil(() => sessions.link("n1").pings >= 4);
    let l = sessions.link("n1");
    assert.equal(l.connected, true);
    assert.equal(l.loss_pct, 0);
    assert.ok(l.rtt_avg_ms! < PING_MS);

    // Pongs after 1.5 × the timeout: every ping from now on is lost, yet RTT shows the delay.
    answerAfter = PING_MS * 1.5;
    const before = sessions.link("n1").pings;
    await waitUntil(() => sessions.link("n1").pings >= Math.min(20, before + 4));
    l = sessions.link("n1");
    assert.ok(l.loss_pct! > 0, `late pongs are lost: ${JSON.stringify(l)}`);
    assert.ok(l.rtt_ms! >= PING_MS, `the last RTT shows the late pong: ${l.rtt_ms}`);

    // No answers at all: the window fills with losses (20 pings).
    answerAfter = null;
    await waitUntil(() => sessions.link("n1").loss_pct === 100, 3000);
    assert.equal(sessions.link("n1").pings, 20);
    assert.equal(sessions.link("n2").connected, false);
  } finally {
    sessions.stop();
    for (const t of timers) clearTimeout(t);
  }
});

Deno.test("hub probe: fast answers count, slow and refused ones are lost", async () => {
  let delay = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    if (delay) await sleep(delay);
    return new Response("{}");
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    const probe = new HubProbe(url, 100);
    assert.equal(probe.timeoutMs, 1000, "the timeout is the interval, at least 1 s");
    assert.equal(probe.current(), undefined);
    const fast = await probe.probe();
    assert.ok(fast >= 0 && fast < 1000, `fast probe: ${fast}`);
    delay = 1300;
    assert.equal(await probe.probe(), -1, "slower than the timeout is lost");
    delay = 0;
    // The loop keeps the window and the last answered round trip.
    const stop = new AbortController();
    const running = probe.run(stop.signal);
    await waitUntil(() => (probe.current()?.probes ?? 0) >= 3);
    stop.abort();
    await running;
    assert.equal(probe.current()?.loss_pct, 0);
    assert.ok(probe.current()!.rtt_ms! < 1000);
  } finally {
    await server.shutdown();
  }
  const gone = new HubProbe(url, 100);
  assert.equal(await gone.probe(), -1, "a refused connection is lost");
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(10);
  }
}
