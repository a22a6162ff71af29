/**
 * The hub's view of the local Docker engine's swarm (the control box is the manager). Every call
 * turns "this engine is not a swarm manager" and "no engine" into clear errors. Join tokens are
 * secrets: returned to the caller, never logged.
 *
 * @module
 */
import {
  createDockerApi,
  DockerApiError,
  DockerUnavailableError,
  type EngineInfo,
} from "../../shared/docker_api.ts";
import { Conflict, HttpProblem } from "../core/errors.ts";

/** What a node needs to join: the worker token and manager addresses. */
export interface JoinInfo {
  worker_token: string;
  managers: string[];
}

/** Reads the worker join token from the engine at `socket`. */
export async function swarmJoinInfo(socket: string): Promise<JoinInfo> {
  const api = createDockerApi(socket);
  try {
    const info = await api.json<EngineInfo>("GET", "/info", { timeoutMs: 10_000 });
    if (info.Swarm?.LocalNodeState !== "active" || !info.Swarm.ControlAvailable) {
      throw new Conflict(
        `the hub's Docker engine (${socket}) is not a swarm manager ` +
          `(state: ${
            info.Swarm?.LocalNodeState ?? "unknown"
          }): run 'docker swarm init' on the control box`,
      );
    }
    const swarm = await api.json<{ JoinTokens: { Worker: string } }>("GET", "/swarm", {
      timeoutMs: 10_000,
    });
    const managers = (info.Swarm.RemoteManagers ?? []).map((m) => m.Addr);
    return { worker_token: swarm.JoinTokens.Worker, managers };
  } catch (error) {
    if (error instanceof DockerUnavailableError) {
      throw new HttpProblem(503, "docker-unavailable", "Docker unavailable", error.message);
    }
    if (error instanceof DockerApiError && error.status === 503) {
      throw new Conflict(`the hub's Docker engine is not a swarm manager: ${error.detail}`);
    }
    throw error;
  } finally {
    api.close();
  }
}
