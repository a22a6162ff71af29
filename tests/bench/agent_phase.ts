/**
 * The bench's `agent` phase (agent RSS and CPU), driven by `main.ts`: the real agent
 * (`--interval 5s`, root `/`) pushing to a hub, next to `bare_loop.ts` (a bare Deno /proc loop)
 * and the agent's floor, `bare_agent.ts` (that loop plus a `fetch` POST, a WebSocket and `statfs`
 * through FFI, against `bare_ws.ts`), all three with the agent's V8 flags, measured from the
 * agent's first push on. VmRSS and utime+stime come
 * from `/proc/<pid>`; at the end, RssAnon and RssFile split each RSS into private memory and the
 * runtime's executable pages in use.
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

/** Runs the phase; fills `out.agent`. */
export async function agentPhase(ctx: PhaseContext, out: Json): Promise<void> {
  const D = ctx.durations;
  ctx.log(`agent: real agent at 5 s and a bare /proc loop for ${D.agentMs / 1000} s`);
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
      const cpuAgent = new CpuMeter(agent.proc.pid);
      const cpuBare = new CpuMeter(bare.proc.pid);
      const rssAgent = new RssSampler(agent.proc.pid, 1000);
      const rssBare = new RssSampler(bare.proc.pid, 1000);
      const cpuFloor = new CpuMeter(floor.proc.pid);
      const rssFloor = new RssSampler(floor.proc.pid, 1000);
      cpuAgent.start();
      cpuBare.start();
      cpuFloor.start();
      await sleep(D.agentMs);
      const a = cpuAgent.read();
      const b = cpuBare.read();
      const ra = rssAgent.stop();
      const rb = rssBare.stop();
      const f = cpuFloor.read();
      const rf = rssFloor.stop();
      const sf = rssSplit(floor.proc.pid);
      const seq1 = (await hub.admin.node("bench-agent")).last_seq;
      const sa = rssSplit(agent.proc.pid);
      const sb = rssSplit(bare.proc.pid);
      out.agent = {
        window_s: a.wall_s,
        agent: {
          cpu_pct: a.pct,
          cpu_s: a.cpu_s,
          rss_mb: ra,
          rss_split_mb: sa,
          samples_pushed: seq1 - seq0,
        },
        bare_loop: { cpu_pct: b.pct, cpu_s: b.cpu_s, rss_mb: rb, rss_split_mb: sb },
        bare_agent: { cpu_pct: f.pct, cpu_s: f.cpu_s, rss_mb: rf, rss_split_mb: sf },
      };
      ctx.log(
        `agent: RSS max ${ra.max_mb} MB (at the end ${sa.anon} anonymous + ${sa.file} file-backed), ` +
          `CPU ${a.pct}% (${seq1 - seq0} samples pushed); bare loop: RSS max ${rb.max_mb} MB ` +
          `(${sb.anon} + ${sb.file}), CPU ${b.pct}%; bare agent (floor): RSS max ${rf.max_mb} MB ` +
          `(${sf.anon} + ${sf.file}), CPU ${f.pct}%`,
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
