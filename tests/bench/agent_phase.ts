/**
 * The bench's `agent` phase (agent RSS and CPU), driven by `main.ts`: the real agent
 * (`--interval 5s`, root `/`) pushing to a hub, next to `bare_loop.ts` (a bare Deno /proc loop)
 * and the agent's floor, `bare_agent.ts` (that loop plus a `fetch` POST, a WebSocket and `statfs`
 * through FFI, against `bare_ws.ts`), all three with the agent's V8 flags, measured from the
 * agent's first push on. VmRSS and utime+stime come from `/proc/<pid>`; at the end, RssAnon and
 * RssFile split each RSS into private memory and the runtime's executable pages in use.
 *
 * @module
 */
import { waitFor } from "../helpers/process.ts";
import { startAgent } from "../helpers/agent.ts";
import { AGENT_V8_FLAGS } from "../../shared/runtime_flags.ts";
import { CpuMeter, type Json, RssSampler, sleep } from "./common.ts";
import type { PhaseContext } from "./context.ts";

/**
 * RssAnon and RssFile of `pid` in MB: private memory, and the pages of the Deno executable (and
 * other files) in use, which are shared and can be dropped under memory pressure.
 */
function rssSplit(pid: number): { anon: number; file: number } {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
  return {
    anon: Math.round(kb("RssAnon") / 102.4) / 10,
    file: Math.round(kb("RssFile") / 102.4) / 10,
  };
}

/** Starts measuring `pid`'s CPU and RSS; `stop` returns them with the RSS split at that moment. */
function watch(pid: number) {
  const cpu = new CpuMeter(pid);
  const rss = new RssSampler(pid, 1000);
  cpu.start();
  return {
    stop() {
      const c = cpu.read();
      return {
        wallS: c.wall_s,
        m: { cpu_pct: c.pct, cpu_s: c.cpu_s, rss_mb: rss.stop(), rss_split_mb: rssSplit(pid) },
      };
    },
  };
}

/** Runs the phase; fills `out.agent`. */
export async function agentPhase(ctx: PhaseContext, out: Json): Promise<void> {
  const D = ctx.durations;
  ctx.log(`agent: real agent at 5 s, a bare /proc loop and its floor for ${D.agentMs / 1000} s`);
  const hub = await ctx.startHub();
  try {
    const created = await hub.admin.createToken({ kind: "node", node_id: "bench-agent" });
    const stateDir = await ctx.tempDir("fleet-bench-agent-");
    const agent = ctx.track(startAgent({
      hub: hub.url,
      token: created.token,
      stateDir,
      root: "/",
      interval: "5s",
    }));
    // Same V8 flags as the agent, so the comparison is about code, not heap settings.
    const v8 = [`--v8-flags=${AGENT_V8_FLAGS}`];
    const bare = ctx.script("bare_loop.ts", ["--interval-ms", "5000"], v8);
    const floorServer = ctx.script("bare_ws.ts", []);
    const port = JSON.parse(await floorServer.waitForLine((l) => l.includes('"listening"'))).port;
    const floor = ctx.script("bare_agent.ts", [
      "--url",
      `http://127.0.0.1:${port}`,
      "--interval-ms",
      "5000",
    ], v8);
    try {
      // Steady state: the agent has pushed its first sample, the bare loop has started.
      await waitFor(
        async () => (await hub.admin.node("bench-agent")).last_seq >= 1,
        "the agent's first sample",
        30_000,
        200,
      );
      await bare.waitForLine((l) => l.includes("bare loop started"), 30_000);
      await floor.waitForLine((l) => l.includes("bare agent started"), 30_000);
      await sleep(1000);
      const seq0 = (await hub.admin.node("bench-agent")).last_seq;
      const watched = [agent, bare, floor].map((p) => watch(p.proc.pid));
      await sleep(D.agentMs);
      const [{ wallS, m: a }, { m: b }, { m: f }] = watched.map((w) => w.stop());
      const seq1 = (await hub.admin.node("bench-agent")).last_seq;
      out.agent = {
        window_s: wallS,
        agent: { ...a, samples_pushed: seq1 - seq0 },
        bare_loop: b,
        bare_agent: f,
      };
      const line = (m: typeof a) =>
        `RSS max ${m.rss_mb.max_mb} MB (at the end ${m.rss_split_mb.anon} anonymous + ` +
        `${m.rss_split_mb.file} file-backed), CPU ${m.cpu_pct}%`;
      ctx.log(
        `agent: ${line(a)} (${seq1 - seq0} samples pushed); bare loop: ${line(b)}; ` +
          `bare agent (floor): ${line(f)}`,
      );
    } finally {
      await agent.stop();
      await bare.stop();
      await floor.stop();
      await floorServer.stop();
    }
  } finally {
    await ctx.stopHub(hub);
  }
}
