/**
 * `fleet-agent recover`: the boot recovery `fleet-recovery.service` runs before the agent. Steps
 * run in order, each bounded and logged: wait for the hub, wait for Docker (when the node has
 * it); the results are reported to the hub (`POST /api/v1/nodes/:id/recovery`). Rejoining the swarm, restarting essential containers and pulling configs from S3 come
 * with the onboarding issue's remaining work; until then they are reported as not available, not
 * pretended.
 *
 * @module
 */
import { ApiClient } from "../shared/api_client.ts";
import { createDockerApi, DEFAULT_DOCKER_SOCKET } from "./docker_api.ts";
import type { AgentConfig } from "./config.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("recover");

/** Result of one step. */
export interface StepResult {
  step: string;
  ok: boolean;
  detail: string;
}

async function retry(
  what: string,
  attempts: number,
  delayMs: number,
  fn: () => Promise<string>,
): Promise<StepResult> {
  let last = "";
  for (let i = 1; i <= attempts; i++) {
    try {
      return { step: what, ok: true, detail: await fn() };
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
      if (i < attempts) await new Promise((r) => setTimeout(r, delayMs));
    }
  }
  return { step: what, ok: false, detail: `gave up after ${attempts} tries: ${last}` };
}

/** Runs the recovery steps; resolves with each step's result (exit code 1 if one failed). */
export async function recover(
  config: AgentConfig,
  options: { attempts?: number; delayMs?: number } = {},
): Promise<StepResult[]> {
  const attempts = options.attempts ?? 60;
  const delayMs = options.delayMs ?? 5000;
  const results: StepResult[] = [];
  const api = new ApiClient({ hub: config.hub, token: config.token, timeoutMs: 5000 });
  results.push(
    await retry("wait for the hub", attempts, delayMs, async () => {
      const self = await api.self();
      return `${config.hub} answers; this node is ${self.node_id}`;
    }),
  );
  const socket = config.dockerSocket === false
    ? undefined
    : config.dockerSocket ?? DEFAULT_DOCKER_SOCKET;
  let haveSocket = false;
  if (socket) haveSocket = await Deno.stat(socket).then(() => true, () => false);
  if (!socket || !haveSocket) {
    results.push({ step: "docker", ok: true, detail: "no Docker on this node: skipped" });
  } else {
    results.push(
      await retry("docker", attempts, delayMs, async () => {
        const docker = createDockerApi(socket);
        try {
          await docker.send("GET", "/_ping", { timeoutMs: 5000 });
          return `engine answers on ${socket}`;
        } finally {
          docker.close();
        }
      }),
    );
  }
  for (const step of ["swarm membership", "essential containers", "configs from S3"]) {
    results.push({ step, ok: true, detail: "not available in this version: skipped" });
  }
  for (const r of results) {
    (r.ok ? logger.info : logger.error)(`recovery step ${r.ok ? "ok" : "failed"}`, { ...r });
  }
  // Report to the hub so the steps show on its stream and in the node's details.
  try {
    const nodeId = config.nodeId ?? (await api.self()).node_id;
    await api.reportRecovery(nodeId, results);
    logger.info("recovery reported to the hub", { node_id: nodeId });
  } catch (error) {
    logger.warn("could not report recovery to the hub", { error });
  }
  return results;
}
