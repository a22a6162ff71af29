/**
 * The hub's view of the local Docker engine's swarm (the control box is the manager). Every call
 * turns "this engine is not a swarm manager" into a 409 and "no engine" (missing socket, refused
 * connection, no answer in time) into a 503, so no swarm route answers 500 for the engine's
 * state. Join tokens are secrets: returned to the caller, never logged.
 *
 * @module
 */
import {
  createDockerApi,
  type DockerApi,
  DockerApiError,
  type DockerRequestOptions,
  DockerUnavailableError,
  type EngineInfo,
} from "../../shared/docker_api.ts";
import { BadInput, Conflict, HttpProblem, NotFound, Upstream } from "../core/errors.ts";

/** Default deadline of one engine call that reads a JSON answer (ms). */
const CALL_TIMEOUT_MS = 15_000;

/** 409: the engine is up but cannot manage the swarm. */
export class NotSwarmManager extends HttpProblem {
  constructor(detail: string) {
    super(409, "not-a-swarm-manager", "Not a swarm manager", detail);
  }
}

/** 503: nothing answers on the engine socket (or not in time). */
export class EngineUnreachable extends HttpProblem {
  constructor(detail: string) {
    super(503, "engine-unreachable", "Engine unreachable", detail);
  }
}

/** What a node needs to join: the worker token and manager addresses. */
export interface JoinInfo {
  worker_token: string;
  managers: string[];
}

/** The hub's Docker engine: one client, the manager check and the error mapping. */
export class SwarmEngine {
  readonly socket: string;
  #api: DockerApi;

  constructor(socket: string) {
    this.socket = socket;
    this.#api = createDockerApi(socket);
  }

  /** The raw client (for streamed bodies: build, push, logs); errors through {@link problem}. */
  get api(): DockerApi {
    return this.#api;
  }

  /**
   * The engine's info when it is a manager of an active swarm.
   *
   * @throws {NotSwarmManager} on an engine outside a swarm, a worker, or a locked swarm.
   * @throws {EngineUnreachable} when nothing answers.
   */
  async manager(): Promise<EngineInfo> {
    const info = await this.json<EngineInfo>("GET", "/info", { timeoutMs: 5_000 });
    const state = info.Swarm?.LocalNodeState ?? "unknown";
    if (state !== "active") {
      throw new NotSwarmManager(
        `this engine is not a swarm manager: the hub's Docker engine (${this.socket}) is ` +
          `${state === "inactive" ? "not in a swarm" : `in swarm state '${state}'`}; run ` +
          "'docker swarm init' on the control box (or point --docker-socket at a manager)",
      );
    }
    if (!info.Swarm?.ControlAvailable) {
      throw new NotSwarmManager(
        `this engine is not a swarm manager: the hub's Docker engine (${this.socket}) is a ` +
          "swarm worker; run the hub on a manager, or promote this node " +
          "('docker node promote' on a manager)",
      );
    }
    return info;
  }

  /** A JSON call with a deadline; engine errors become HTTP problems. */
  async json<T>(method: string, path: string, options: DockerRequestOptions = {}): Promise<T> {
    try {
      return await this.#api.json<T>(method, path, { timeoutMs: CALL_TIMEOUT_MS, ...options });
    } catch (error) {
      throw this.problem(error);
    }
  }

  /** A call whose body is discarded; returns the status. */
  async send(method: string, path: string, options: DockerRequestOptions = {}): Promise<number> {
    try {
      return await this.#api.send(method, path, { timeoutMs: CALL_TIMEOUT_MS, ...options });
    } catch (error) {
      throw this.problem(error);
    }
  }

  /** A call whose streamed body the caller reads. */
  async stream(method: string, path: string, options: DockerRequestOptions = {}) {
    try {
      return await this.#api.request(method, path, options);
    } catch (error) {
      throw this.problem(error);
    }
  }

  /** Maps an engine failure to the HTTP problem an operator can act on. */
  problem(error: unknown): Error {
    if (error instanceof HttpProblem) return error;
    if (error instanceof DockerUnavailableError) {
      return new EngineUnreachable(`engine unreachable: ${this.#fix(error.message)}`);
    }
    if (error instanceof DockerApiError) {
      if (error.status === 503 && /not a swarm manager|swarm/i.test(error.detail)) {
        return new NotSwarmManager(`this engine is not a swarm manager: ${error.detail}`);
      }
      if (error.status === 404) return new NotFound(error.detail);
      if (error.status === 409) return new Conflict(error.detail);
      if (error.status === 400) return new BadInput(`the engine refused it: ${error.detail}`);
      if (error.status === 503) return new EngineUnreachable(`engine unavailable: ${error.detail}`);
      return new Upstream(`the Docker engine failed: ${error.detail}`);
    }
    if (error instanceof Error && /did not answer within/.test(error.message)) {
      return new EngineUnreachable(`engine unreachable: ${this.#fix(error.message)}`);
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  /** How an operator points the hub at its engine (said with every "unreachable"). */
  #fix(message: string): string {
    return `${message.replace(/[.?!]$/, "")}; start dockerd on the control box, or point the ` +
      "hub at its socket with --docker-socket / FLEET_DOCKER_SOCKET";
  }

  /** The worker join token and manager addresses. */
  async joinInfo(): Promise<JoinInfo> {
    const info = await this.manager();
    const swarm = await this.json<{ JoinTokens: { Worker: string } }>("GET", "/swarm");
    const managers = (info.Swarm?.RemoteManagers ?? []).map((m) => m.Addr);
    return { worker_token: swarm.JoinTokens.Worker, managers };
  }

  close(): void {
    this.#api.close();
  }
}
