/**
 * `serve --demo N`: a simulated fleet for trying the product and for demos. N agents run in the
 * hub process through `agent/mod.ts` (the real agent loop, spool, push and job-worker code),
 * talking over real HTTP to the real routes with their own node tokens; only their collectors and
 * job executors are simulated. Each also holds the real control channel, so batch exec and
 * terminals on a demo node really run on the hub's machine. A generator keeps the clusters'
 * queues busy so roamers come and go. Without an inventory in fleet.yml the demo brings one: a
 * DGX Spark control box and Jetson AGX Xaviers in two clusters (vision, speech) and a roamer pool.
 *
 * @module
 */
import { join } from "node:path";
import type { HubConfig } from "./core/config.ts";
import type { HubServices } from "./core/services.ts";
import { mintToken, storeMintedToken } from "./core/auth.ts";
import { listTokenRows, revokeToken } from "./core/store.ts";
import { startAgent } from "../agent/mod.ts";
import { DEFAULT_DOCKER_SOCKET } from "../shared/docker_api.ts";
import { sleep } from "../shared/backoff.ts";
import { createSimulatedExecutor } from "../agent/worker/simulated.ts";
import { createSimulatedCollector } from "../agent/collect/simulated.ts";
import { VERSION } from "../shared/version.ts";
import { AlertsSection } from "./alerts/rules.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("demo");

/** The demo inventory for `n` nodes: one control box, two clusters, the rest roamers. */
export function demoInventory(n: number): HubConfig["inventory"] {
  const agx = Array.from(
    { length: Math.max(0, n - 1) },
    (_, i) => `agx-${String(i + 1).padStart(2, "0")}`,
  );
  const third = Math.ceil(agx.length / 3);
  return {
    nodes: [
      { id: "spark-01", name: "spark-01", type: "spark" as const, role: "control" },
      ...agx.map((id) => ({ id, name: id, type: "xavier" as const })),
    ].slice(0, n),
    clusters: [
      {
        id: "vision",
        purpose: "SDXL image generation",
        nodes: agx.slice(0, third),
        template: "sdxl",
      },
      {
        id: "speech",
        purpose: "TTS and transcription",
        nodes: agx.slice(third, 2 * third),
        template: "tts",
      },
    ],
    roamers: agx.slice(2 * third),
    // The autoscaler takes every other roamer within seconds; this one stays free for "Assign…".
    manualRoamers: agx.slice(2 * third).slice(-1),
    templates: {
      sdxl: {
        executor: "docker",
        image: "127.0.0.1:5000/fleet/sdxl:1",
        command: "python3 /app/generate.py",
        env: { STEPS: "30" },
        mounts: [{ source: "/mnt/models", target: "/models", readonly: true }],
        gpu: true,
        startup_s: 20,
        timeout: 600_000,
      },
      tts: {
        executor: "docker",
        image: "127.0.0.1:5000/fleet/piper-tts:1",
        env: {},
        mounts: [{ source: "/mnt/models", target: "/models", readonly: true }],
        gpu: true,
        startup_s: 8,
        timeout: 300_000,
      },
      shell: {
        executor: "process",
        command: "echo hello from $(hostname)",
        env: {},
        mounts: [],
        gpu: false,
        timeout: 60_000,
      },
    },
  };
}

/**
 * The demo's alert rules (used when fleet.yml has none): a GPU heat rule low enough that busy
 * simulated nodes trip and clear it, so the Alerts view and the cards show alerts live.
 */
export function demoAlerts(): AlertsSection {
  return AlertsSection.parse({
    rules: [
      { name: "node-down", kind: "offline", for: "30s", severity: "critical" },
      { name: "gpu-hot", kind: "temperature", sensors: ["GPU"], above: 56, margin: 2, for: "20s" },
      { name: "disk-full", kind: "disk", above: 90 },
    ],
  });
}

/**
 * Keeps the demo queue moving: every few seconds a burst of jobs for a cluster, now and then a
 * big one, so the autoscaler lends roamers and takes them back.
 */
async function generateJobs(s: HubServices, signal: AbortSignal): Promise<void> {
  const clusters = s.config.inventory.clusters.filter((c) => c.template && c.nodes.length);
  let round = 0;
  while (!signal.aborted && clusters.length) {
    await sleep(4000);
    if (signal.aborted) break;
    round++;
    const c = clusters[round % clusters.length];
    // Mostly small bursts; every eighth round one that outgrows the cluster.
    const count = round % 8 === 0 ? c.nodes.length * 4 : 1 + (round % 3);
    for (let i = 0; i < count; i++) {
      await s.queue.submit({
        template: c.template!,
        cluster: c.id,
        priority: round % 5 === 0 ? 10 : 0,
        max_attempts: 3,
        payload: { prompt: `demo request ${round}.${i}` },
      }).catch((error) => logger.warn("demo job not submitted", { error }));
    }
  }
}

/**
 * Starts the simulated agents against the hub at `hubUrl`; returns a function that stops them
 * (their spools stay on disk, like real agents).
 */
export async function startDemo(
  s: HubServices,
  hubUrl: string,
  intervalMs = 5000,
): Promise<() => Promise<void>> {
  const nodes = s.config.inventory.nodes.slice(0, s.config.demo);
  const now = Date.now();
  // Secrets are stored hashed, so each start issues fresh demo tokens and revokes the old ones.
  const tokens = new Map<string, string>();
  const minted = nodes.map((n) => mintToken({ kind: "node", node_id: n.id, name: `demo:${n.id}` }));
  await s.db.write((tx) => {
    for (const t of listTokenRows(tx)) {
      if (t.name.startsWith("demo:") && t.revoked_at === null) revokeToken(tx, t.id, now);
    }
    for (const m of minted) tokens.set(m.row.node_id!, storeMintedToken(tx, m).token);
  });
  s.verifier.invalidate();
  for (const n of nodes) s.fleet.added(n.id);

  const stop = new AbortController();
  // The control channel is the real agent code too: exec and terminals on a simulated node run
  // on this machine, container operations use this machine's Docker engine when it has one.
  const dockerSocket = await Deno.stat(DEFAULT_DOCKER_SOCKET).then(
    () => DEFAULT_DOCKER_SOCKET,
    () => false as const,
  );
  const runs = nodes.map(async (n, i) => {
    // Spread the agents over the interval, as real ones are.
    await sleep((i * intervalMs) / nodes.length);
    if (stop.signal.aborted) return;
    const collector = createSimulatedCollector({
      kind: n.type === "spark" ? "spark" : n.type === "x86" ? "x86" : "xavier",
      seed: i + 1,
    });
    await startAgent({
      hub: hubUrl,
      token: tokens.get(n.id)!,
      nodeId: n.id,
      intervalMs,
      stateDir: join(s.config.dataDir, "demo", n.id),
      source: {
        collect: (t) => collector.collect({ root: "/", now: t }),
        close: () => collector.close?.(),
      },
      agent: {
        version: VERSION,
        hostname: n.id,
        arch: n.type === "x86" ? "x86_64" : "aarch64",
        os: n.type === "spark" ? "DGX OS 7 (Ubuntu 24.04)" : "Ubuntu 18.04.6 LTS (JetPack 4.6)",
      },
      jobs: {
        executors: {
          process: createSimulatedExecutor("process"),
          docker: createSimulatedExecutor("docker"),
        },
      },
      control: { dockerSocket },
      signal: stop.signal,
    }).done.catch((error) => logger.error("demo agent failed", { node_id: n.id, error }));
  });
  const generator = generateJobs(s, stop.signal);
  logger.info("demo fleet started", { nodes: nodes.length, interval_ms: intervalMs });
  return async () => {
    stop.abort();
    await Promise.all([...runs, generator]);
  };
}
