/**
 * Bench phase `roamer`: time from assigning an idle roamer to it reporting RUNNING (target:
 * < 10 s with a cached image), on a real dockerd with the loopback registry, with the real hub
 * and agent as subprocesses. Each round: assign (manual) → RUNNING → release → IDLE; the image
 * is cached after the first pull, which is reported separately.
 *
 * @module
 */
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { SseClient } from "../helpers/sse.ts";
import { DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";
import type { RoamerInfo } from "../../shared/protocol/mod.ts";
import { medianBy } from "./common.ts";

/** What the phase measured. */
export interface RoamerPhaseResult {
  skipped?: string;
  first_pull_ms?: number;
  idle_to_running_ms?: { n: number; p50: number; max: number };
  running_to_idle_ms?: { n: number; p50: number; max: number };
}

function stats(values: number[]): { n: number; p50: number; max: number } {
  const v = [...values].sort((a, b) => a - b);
  return { n: v.length, p50: medianBy(v, (x) => x), max: v.at(-1)! };
}

/** Runs `rounds` assign/release cycles; resolves with the timings. */
export async function roamerPhase(rounds = 5): Promise<RoamerPhaseResult> {
  if (DOCKER_MISSING.length) return { skipped: `missing ${DOCKER_MISSING.join(", ")}` };
  const engine = await startDockerd();
  const dir = await Deno.makeTempDir({ prefix: "fleet-bench-roamer-" });
  await engine.docker("rmi", engine.image);
  await Deno.writeTextFile(
    join(dir, "fleet.yml"),
    `clusters:\n  - id: gen\n    nodes: []\n    template: bb\nroamers:\n  nodes: [r1]\n` +
      `templates:\n  bb:\n    image: ${engine.image}\n    command: echo ok\n`,
  );
  const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
  const token = (await hub.admin.createToken({ kind: "node", node_id: "r1" })).token;
  const agent = startAgent({
    hub: hub.url,
    token,
    stateDir: join(dir, "agent"),
    interval: "5s",
    args: ["--docker-socket", engine.socket, "--docker-network", "none"],
  });
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  try {
    const until = async (state: string, from: number): Promise<number> => {
      const e = await sse.next(
        (ev) =>
          ev.event === "roamer.state" && (JSON.parse(ev.data).roamer as RoamerInfo).state === state,
        120_000,
        from,
      );
      return (JSON.parse(e.data).roamer as RoamerInfo).state_at;
    };
    await agent.waitForLine((l) => l.includes('"msg":"worker started"'), 30_000);
    const toRunning: number[] = [];
    const toIdle: number[] = [];
    let firstPull: number | undefined;
    for (let i = 0; i <= rounds; i++) {
      let from = sse.events.length;
      const t0 = Date.now();
      await hub.admin.assignRoamer("r1", { cluster: "gen", mode: "manual" });
      await until("RUNNING", from);
      const ms = Date.now() - t0;
      // Round 0 pulls the image from the registry; the others find it cached.
      if (i === 0) firstPull = ms;
      else toRunning.push(ms);
      from = sse.events.length;
      const t1 = Date.now();
      await hub.admin.releaseRoamer("r1");
      await until("IDLE", from);
      toIdle.push(Date.now() - t1);
    }
    return {
      first_pull_ms: firstPull,
      idle_to_running_ms: stats(toRunning),
      running_to_idle_ms: stats(toIdle),
    };
  } finally {
    await sse.close();
    await agent.stop();
    await hub.stop();
    await engine.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  console.log(JSON.stringify(await roamerPhase(Number(Deno.args[0] ?? 5)), null, 2));
}
