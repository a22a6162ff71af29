/**
 * `fleet-agent recover`: the boot recovery `fleet-recovery.service` runs before the agent. Steps
 * run in order, each bounded, idempotent and logged: wait for the hub; wait for Docker; join the
 * swarm with the hub's join token when the engine is in none (a join still pending from an
 * earlier try is watched, not repeated); start the configured essential containers (e.g. the
 * Portainer agent) that are not running. The results are reported to the hub
 * (`POST /api/v1/nodes/:id/recovery`). Configs are pulled from S3 through the hub
 * (`config_sync.ts`; skipped when the hub has no S3).
 *
 * @module
 */
import { ApiClient, ApiError } from "../shared/api_client.ts";
import {
  type ContainerInspect,
  createDockerApi,
  DEFAULT_DOCKER_SOCKET,
  type DockerApi,
  DockerApiError,
  type EngineInfo,
} from "../shared/docker_api.ts";
import type { AgentConfig } from "./config.ts";
import { sleep } from "../shared/backoff.ts";
import { pullConfigs } from "./config_sync.ts";
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
      if (i < attempts) await sleep(delayMs);
    }
  }
  return { step: what, ok: false, detail: `gave up after ${attempts} tries: ${last}` };
}

/** Replaces swarm join tokens in `text` (e.g. an engine error), so none is logged or reported. */
function redactJoinTokens(text: string): string {
  return text.replace(/SWMTKN-[A-Za-z0-9-]+/g, "[join token]");
}

function messageOf(error: unknown): string {
  if (error instanceof DockerApiError) return error.detail;
  return error instanceof Error ? error.message : String(error);
}

/**
 * One try at swarm membership: a final result, or the reason to try again (a string). A join the
 * engine could not finish within its own 20 s leaves it "pending": the engine keeps trying in the
 * background (and completes once the manager answers), so a later try only looks at it.
 */
async function trySwarm(docker: DockerApi, api: ApiClient): Promise<StepResult | string> {
  const step = "swarm membership";
  const info = await docker.json<EngineInfo>("GET", "/info", { timeoutMs: 10_000 });
  const state = info.Swarm?.LocalNodeState || "inactive";
  if (state === "active") {
    return { step, ok: true, detail: `already a member (node ${info.Swarm?.NodeID})` };
  }
  if (state === "locked") {
    return { step, ok: false, detail: "the swarm is locked: run 'docker swarm unlock' here" };
  }
  if (state === "pending") {
    const managers = (info.Swarm?.RemoteManagers ?? []).map((m) => m.Addr).join(", ");
    return `a join is pending: the engine keeps trying to reach the manager ${managers} in the ` +
      `background (check that this node reaches it on TCP 2377)`;
  }
  let join: { worker_token: string; managers: string[] };
  try {
    join = await api.request("GET", "/api/v1/swarm/join-token");
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      return { step, ok: true, detail: `no swarm to join: ${error.message}` };
    }
    throw error;
  }
  if (!join.managers.length) return { step, ok: false, detail: "the hub lists no swarm manager" };
  const via = join.managers.join(", ");
  try {
    // No AdvertiseAddr: the manager sees which address this node reached it from.
    await docker.send("POST", "/swarm/join", {
      body: {
        ListenAddr: "0.0.0.0:2377",
        RemoteAddrs: join.managers,
        JoinToken: join.worker_token,
      },
      timeoutMs: 60_000,
    });
  } catch (error) {
    return `could not join the swarm via ${via}: ${messageOf(error)}`;
  }
  const after = await docker.json<EngineInfo>("GET", "/info", { timeoutMs: 10_000 });
  return {
    step,
    ok: true,
    detail:
      `joined as a worker via ${via} (node ${after.Swarm?.NodeID}, address ${after.Swarm?.NodeAddr})`,
  };
}

/**
 * Joins the swarm when the engine is in none, with the join token the hub hands out
 * (`GET /api/v1/swarm/join-token`); `attempts` tries, `delayMs` apart. The token is never logged
 * or reported.
 */
async function ensureSwarm(
  docker: DockerApi,
  api: ApiClient,
  attempts: number,
  delayMs: number,
): Promise<StepResult> {
  let last = "";
  for (let i = 1; i <= attempts; i++) {
    try {
      const outcome = await trySwarm(docker, api);
      if (typeof outcome !== "string") {
        return { ...outcome, detail: redactJoinTokens(outcome.detail) };
      }
      last = redactJoinTokens(outcome);
    } catch (error) {
      last = redactJoinTokens(messageOf(error));
    }
    logger.warn("swarm membership: try failed", { attempt: i, of: attempts, error: last });
    if (i < attempts) await sleep(delayMs);
  }
  return {
    step: "swarm membership",
    ok: false,
    detail: `gave up after ${attempts} tries: ${last}`,
  };
}

/** Starts the configured essential containers that are not running. */
async function ensureEssential(docker: DockerApi, names: readonly string[]): Promise<StepResult> {
  const step = "essential containers";
  if (!names.length) return { step, ok: true, detail: "none configured (essential_containers)" };
  const notes: string[] = [];
  let ok = true;
  for (const name of names) {
    const status = await docker.json<ContainerInspect | undefined>(
      "GET",
      `/containers/${encodeURIComponent(name)}/json`,
      { accept: [404], timeoutMs: 10_000 },
    ).catch((error) => {
      notes.push(`${name}: ${error instanceof Error ? error.message : error}`);
      ok = false;
      return undefined;
    });
    if (!status?.State) {
      if (!notes.some((n) => n.startsWith(`${name}:`))) {
        notes.push(`${name}: missing (create it with bootstrap-node.sh)`);
      }
      ok = false;
      continue;
    }
    if (status.State.Running) {
      notes.push(`${name}: running`);
      continue;
    }
    try {
      await docker.send("POST", `/containers/${encodeURIComponent(name)}/start`, {
        accept: [304],
        timeoutMs: 30_000,
      });
      notes.push(`${name}: started`);
    } catch (error) {
      ok = false;
      notes.push(`${name}: could not start: ${error instanceof Error ? error.message : error}`);
    }
  }
  return { step, ok, detail: notes.join("; ") };
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
    results.push({ step: "swarm membership", ok: true, detail: "no Docker: skipped" });
    results.push({ step: "essential containers", ok: true, detail: "no Docker: skipped" });
  } else {
    const docker = createDockerApi(socket);
    try {
      const engine = await retry("docker", attempts, delayMs, async () => {
        await docker.send("GET", "/_ping", { timeoutMs: 5000 });
        return `engine answers on ${socket}`;
      });
      results.push(engine);
      if (engine.ok) {
        results.push(await ensureSwarm(docker, api, attempts, delayMs));
        results.push(await ensureEssential(docker, config.essentialContainers));
      }
    } finally {
      docker.close();
    }
  }
  const pulled = await pullConfigs(api, config.configFile);
  results.push({ step: "configs from S3", ok: pulled.ok, detail: pulled.detail });
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
