/**
 * The bench's `control` phase, driven by `main.ts`, against the real hub subprocess
 * and the real agent control code (`control_agents.ts`, N agents in one process):
 *
 * 1. WS memory per connected agent: hub RSS before and after N agents hold their control
 *    socket, divided by N; baseline: a bare `Deno.upgradeWebSocket` echo server (`bare_ws.ts`)
 *    with N idle sockets.
 * 2. Batch exec fan-out to 50 agents: `POST /api/v1/exec` of `true` on 50 nodes until the 50th
 *    `exec.exit` event arrives on the SSE stream; baseline: 50 `/bin/sh -c true` spawned in
 *    parallel in their own process groups from one local process.
 * 3. Terminal keystroke → echo through the hub: one character typed into a real shell on a PTY
 *    (browser protocol → hub → agent → `script` → shell, and back), until it is echoed; baseline:
 *    the same JSON frame echoed by the bare WebSocket server.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Child } from "../helpers/process.ts";
import { SseClient } from "../helpers/sse.ts";
import { TerminalClient, WsClient } from "../helpers/control.ts";
import {
  createNodeTokens,
  type Json,
  type LatencySummary,
  mb,
  numberedIds,
  readRss,
  round,
  type Row,
  type RowFormat,
  sleep,
  summarize,
} from "./common.ts";
import type { PhaseContext } from "./context.ts";

/** What the phase measured. */
export interface ControlPhaseResult {
  fanout_nodes: number;
  fanout_ms: LatencySummary;
  fanout_baseline_ms: LatencySummary;
  keystroke_ms: LatencySummary;
  keystroke_baseline_ms: LatencySummary;
  memory: {
    agents: number;
    hub_rss_before_mb: number;
    hub_rss_after_mb: number;
    per_agent_kb: number;
    bare_sockets: number;
    bare_per_socket_kb: number;
  };
}

/** Mean RSS of `pid` over a few samples (bytes). */
async function steadyRss(pid: number, samples = 5, everyMs = 300): Promise<number> {
  let sum = 0;
  for (let i = 0; i < samples; i++) {
    sum += readRss(pid) ?? 0;
    await sleep(everyMs);
  }
  return sum / samples;
}

/** 50 local `/bin/sh -c true` in parallel, each in its own group, as the agent runs them. */
async function localFanout(n: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, () =>
    new Promise<void>((resolve) => {
      const c = spawn("/bin/sh", ["-c", "true"], { detached: true, stdio: "ignore" });
      c.on("close", () => resolve());
      c.on("error", () => resolve());
    })));
  return performance.now() - t0;
}

/** Types one character at a time and times its echo. */
async function keystrokes(client: WsClient, count: number, send: (c: string) => void) {
  const times: number[] = [];
  const letters = "abcdefghijklmnopqrstuvwxyz";
  for (let i = 0; i < count; i++) {
    const c = letters[i % letters.length];
    const from = client.frames.length;
    const t0 = performance.now();
    send(c);
    await client.next<{ type: string; data?: string }>(
      (f) => f.type === "output" && typeof f.data === "string" && f.data.includes(c),
      10_000,
      from,
    );
    times.push(performance.now() - t0);
  }
  return times;
}

/** Runs the phase; fills `out.control`. */
export async function controlPhase(ctx: PhaseContext, out: Json): Promise<void> {
  const agents = ctx.quick ? 200 : 500;
  const fanoutNodes = 50;
  const rounds = ctx.quick ? 5 : 20;
  const keys = ctx.quick ? 100 : 300;
  ctx.log(`control: hub + ${agents} agents' control sockets (one process), exec fan-out to 50`);
  const hub = await ctx.startHub();
  let agentsProc: Child | undefined;
  let bare: Child | undefined;
  const sockets: WsClient[] = [];
  try {
    const pid = hub.child.proc.pid;
    const ids = numberedIds("ctl-", agents, 4);
    const tokens = await createNodeTokens(hub, ids);
    await sleep(1500);
    const before = await steadyRss(pid);
    const file = join(await ctx.tempDir("fleet-bench-control-"), "agents.json");
    await Deno.writeTextFile(file, JSON.stringify({ hub: hub.url, tokens }));
    agentsProc = ctx.script("control_agents.ts", [file]);
    await agentsProc.waitForLine((l) => l.includes('"kind":"agents-ready"'), 120_000);
    await sleep(2000);
    const after = await steadyRss(pid);
    const perAgentKb = round((after - before) / agents / 1024, 1);
    ctx.log(`control: hub RSS ${mb(before)} → ${mb(after)} MB with ${agents} agents`);

    // Fan-out: one warm-up round, then the measured ones.
    const sse = await SseClient.connect(hub.url, hub.adminToken);
    const fanout: number[] = [];
    try {
      const nodes = ids.slice(0, fanoutNodes);
      for (let r = 0; r <= rounds; r++) {
        const from = sse.events.length;
        const t0 = performance.now();
        const run = await hub.admin.exec({ nodes, command: "true", timeout_s: 60 });
        const mine = (e: { event: string; data: string }) =>
          e.event === "exec.exit" && JSON.parse(e.data).exec_id === run.id;
        await sse.next(
          () => sse.events.slice(from).filter(mine).length >= fanoutNodes,
          60_000,
          from,
        );
        if (r > 0) fanout.push(performance.now() - t0);
        const bad = sse.events.slice(from).filter(mine).map((e) => JSON.parse(e.data))
          .filter((e) => e.exit_code !== 0);
        if (bad.length) throw new Error(`fan-out round ${r}: ${bad.length} nodes failed`);
      }
    } finally {
      await sse.close();
    }
    const fanoutBase: number[] = [];
    await localFanout(fanoutNodes);
    for (let r = 0; r < rounds; r++) fanoutBase.push(await localFanout(fanoutNodes));
    ctx.log(
      `control: fan-out p50 ${summarize(fanout).p50} ms (local ${summarize(fanoutBase).p50})`,
    );

    // Keystroke → echo through the hub and a real PTY.
    const term = TerminalClient.open(hub.url, ids[0], { bearer: hub.adminToken });
    let keyTimes: number[];
    try {
      await term.ready();
      term.type("echo ready-$((1+1))\n");
      await term.waitOutput(/ready-2/);
      await sleep(300);
      keyTimes = await keystrokes(term, keys, (c) => term.type(c));
      term.type("\x15\n");
    } finally {
      await term.close();
    }

    // Baselines on the bare WebSocket server: echo RTT, then memory per idle socket.
    bare = ctx.script("bare_ws.ts", []);
    const port = JSON.parse(await bare.waitForLine((l) => l.includes('"listening"'), 30_000)).port;
    const echo = new WsClient(`ws://127.0.0.1:${port}/`, {});
    await echo.opened;
    await keystrokes(echo, 20, (c) => echo.send({ type: "output", data: c }));
    const echoTimes = await keystrokes(echo, keys, (c) => echo.send({ type: "output", data: c }));
    await echo.close();
    await sleep(500);
    const bareBefore = await steadyRss(bare.proc.pid);
    for (let i = 0; i < agents; i++) sockets.push(new WsClient(`ws://127.0.0.1:${port}/`, {}));
    await Promise.all(sockets.map((s) => s.opened));
    await sleep(2000);
    const bareAfter = await steadyRss(bare.proc.pid);

    const result: ControlPhaseResult = {
      fanout_nodes: fanoutNodes,
      fanout_ms: summarize(fanout),
      fanout_baseline_ms: summarize(fanoutBase),
      keystroke_ms: summarize(keyTimes),
      keystroke_baseline_ms: summarize(echoTimes),
      memory: {
        agents,
        hub_rss_before_mb: mb(before),
        hub_rss_after_mb: mb(after),
        per_agent_kb: perAgentKb,
        bare_sockets: agents,
        bare_per_socket_kb: round((bareAfter - bareBefore) / agents / 1024, 1),
      },
    };
    out.control = result;
    ctx.log(`control: ${JSON.stringify(result)}`);
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    await bare?.stop("SIGTERM", 3000).catch(() => {});
    await agentsProc?.stop("SIGTERM", 5000).catch(() => {});
    await ctx.stopHub(hub);
  }
}

/** The phase's table rows. */
export function controlRows(c: ControlPhaseResult | undefined, f: RowFormat): Row[] {
  if (!c) return [];
  const pair = (l: LatencySummary, a: "max" | "p99") => `${f.fmt(l.p50, 1)} / ${f.fmt(l[a], 1)}`;
  return [
    {
      metric: `batch exec fan-out to ${c.fanout_nodes} agents, all exits in, p50 / max ms`,
      measured: pair(c.fanout_ms, "max"),
      baseline: `${pair(c.fanout_baseline_ms, "max")} (50 local sh)`,
      ratio: f.ratio(c.fanout_ms.p50, c.fanout_baseline_ms.p50),
      target: "-",
      met: "-",
    },
    {
      metric: "terminal keystroke → echo via hub + PTY, p50 / p99 ms",
      measured: pair(c.keystroke_ms, "p99"),
      baseline: `${pair(c.keystroke_baseline_ms, "p99")} (bare WS echo)`,
      ratio: f.ratio(c.keystroke_ms.p50, c.keystroke_baseline_ms.p50),
      target: "-",
      met: "-",
    },
    {
      metric: `hub memory per connected agent (${c.memory.agents} agents), KB`,
      measured: f.fmt(c.memory.per_agent_kb, 1),
      baseline: `${f.fmt(c.memory.bare_per_socket_kb, 1)} (bare WS socket)`,
      ratio: f.ratio(c.memory.per_agent_kb, c.memory.bare_per_socket_kb),
      target: "-",
      met: "-",
    },
  ];
}
