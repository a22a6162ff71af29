/**
 * A small client of the Docker Engine API over its unix socket, shared by the container collector,
 * the docker job executor and cleanup. It pins API v1.41 (Docker 20.10, what JetPack ships), turns
 * non-2xx answers into {@link DockerApiError} with the engine's message, and a socket that is
 * missing or refuses connections into {@link DockerUnavailableError} naming the socket, so an
 * operator sees at once that Docker, not the job, is the problem. The types of the engine's answers
 * (container list, inspect, stats, images, info) are declared here once.
 *
 * @module
 */

/** The socket dockerd listens on unless configured otherwise. */
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/** The engine answered with an unexpected HTTP status. */
export class DockerApiError extends Error {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The engine's own message, e.g. `No such image: …`. */
  readonly detail: string;

  constructor(status: number, message: string, detail: string) {
    super(message);
    this.name = "DockerApiError";
    this.status = status;
    this.detail = detail;
  }
}

/** Nothing answers on the socket: Docker is not installed, not running, or the path is wrong. */
export class DockerUnavailableError extends Error {
  /** The socket that was tried. */
  readonly socketPath: string;

  constructor(socketPath: string, message: string) {
    super(message);
    this.name = "DockerUnavailableError";
    this.socketPath = socketPath;
  }
}

/** One call's options. */
export interface DockerRequestOptions {
  /** Query parameters; objects (e.g. `filters`) are sent as JSON. */
  query?: Record<string, string | number | boolean | object | undefined>;
  /** Request body, sent as JSON (unless {@link DockerRequestOptions.raw}). */
  body?: unknown;
  /** A body sent as is (e.g. the tar stream of `/build`), with `contentType`. */
  raw?: { body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>; contentType: string };
  /** Extra request headers (e.g. `X-Registry-Auth`). */
  headers?: Record<string, string>;
  /** Aborts the call (and the reading of a streamed body). */
  signal?: AbortSignal;
  /** Deadline for the whole call including its body; only for calls that read the body. */
  timeoutMs?: number;
  /** Non-2xx statuses that are answers rather than errors (e.g. 304 "already stopped"). */
  accept?: number[];
}

/** A client bound to one socket; `close()` releases its connections. */
export interface DockerApi {
  readonly socketPath: string;
  /**
   * Sends a request and returns the response with its body unread (for streams: pull progress,
   * logs, wait). The caller must read or cancel the body.
   */
  request(method: string, path: string, options?: DockerRequestOptions): Promise<Response>;
  /** Sends a request and parses the JSON answer (`undefined` for an empty body). */
  json<T>(method: string, path: string, options?: DockerRequestOptions): Promise<T>;
  /** Sends a request, discards the body and returns the status (for 204/304 answers). */
  send(method: string, path: string, options?: DockerRequestOptions): Promise<number>;
  close(): void;
}

// The engine's answers, only the fields we read. Optional where the engine may leave them out,
// and checked at runtime where a wrong type would hurt: the engine is not our code.

/** One entry of `GET /containers/json`. */
export interface ContainerSummary {
  Id: string;
  /** With a leading `/`, e.g. `/portainer_agent`. */
  Names?: string[];
  Image?: string;
  ImageID?: string;
  /** `running`, `exited`, `paused`, `restarting`, `created`, `removing`, `dead`. */
  State?: string;
  /** Human text, e.g. `Up 3 hours`. */
  Status?: string;
  /** Unix seconds. */
  Created?: number;
  Labels?: Record<string, string> | null;
  /** Bytes the container's writable layer holds; only with `size=1`. */
  SizeRw?: number;
  /** What it mounts; `Name` is set for named volumes. */
  Mounts?: { Type?: string; Name?: string }[] | null;
}

/** One entry of `GET /volumes` (`{ Volumes: [...] }`). */
export interface VolumeSummary {
  Name: string;
  Driver?: string;
  Labels?: Record<string, string> | null;
  /** RFC 3339. */
  CreatedAt?: string;
}

/** The part of `GET /containers/{id}/json` (inspect) that we read. */
export interface ContainerInspect {
  Config?: { Tty?: boolean };
  State?: { Running?: boolean; OOMKilled?: boolean; ExitCode?: number };
}

/** The part of `GET /containers/{id}/stats?stream=false` that we read. */
export interface ContainerStats {
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  memory_stats?: {
    usage?: number;
    limit?: number;
    stats?: Record<string, number>;
  };
}

/** One entry of `GET /images/json`. */
export interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  /** Unix seconds. */
  Created: number;
  Size: number;
}

/** The swarm part of `GET /info`. */
export interface SwarmInfo {
  /** `inactive`, `pending`, `active`, `error` or `locked`. */
  LocalNodeState?: string;
  NodeID?: string;
  NodeAddr?: string;
  /** True on a manager. */
  ControlAvailable?: boolean;
  RemoteManagers?: { Addr: string }[] | null;
}

/** The part of `GET /info` that we read. */
export interface EngineInfo {
  Runtimes?: Record<string, unknown>;
  Swarm?: SwarmInfo & { Cluster?: { ID?: string } | null };
  ServerVersion?: string;
  Architecture?: string;
}

/** Swarm object version (optimistic concurrency of updates). */
export interface SwarmVersion {
  Index: number;
}

/** A service spec as the Engine API takes and returns it (the fields the hub sets or reads). */
export interface ServiceSpec {
  Name: string;
  Labels?: Record<string, string> | null;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Command?: string[] | null;
      Args?: string[] | null;
      Env?: string[] | null;
      Labels?: Record<string, string> | null;
      Mounts?: {
        Type: string;
        Source?: string;
        Target: string;
        ReadOnly?: boolean;
        TmpfsOptions?: { SizeBytes?: number };
      }[] | null;
      [key: string]: unknown;
    };
    Resources?: {
      Limits?: { NanoCPUs?: number; MemoryBytes?: number } | null;
      Reservations?: {
        NanoCPUs?: number;
        MemoryBytes?: number;
        GenericResources?: { DiscreteResourceSpec?: { Kind: string; Value: number } }[] | null;
      } | null;
    } | null;
    RestartPolicy?: { Condition?: string; MaxAttempts?: number; Delay?: number } | null;
    Placement?: { Constraints?: string[] | null; [key: string]: unknown } | null;
    Networks?: { Target: string; Aliases?: string[] }[] | null;
    ForceUpdate?: number;
    [key: string]: unknown;
  };
  Mode?: {
    Replicated?: { Replicas?: number };
    Global?: Record<string, never>;
    ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
    GlobalJob?: Record<string, never>;
  };
  UpdateConfig?: {
    Parallelism?: number;
    Delay?: number;
    FailureAction?: string;
    Order?: string;
    [key: string]: unknown;
  } | null;
  EndpointSpec?: {
    Ports?: {
      Protocol?: string;
      TargetPort: number;
      PublishedPort?: number;
      PublishMode?: string;
    }[];
    [key: string]: unknown;
  } | null;
  [key: string]: unknown;
}

/** One entry of `GET /services` (with `status=true`). */
export interface ServiceInfo {
  ID: string;
  Version: SwarmVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: ServiceSpec;
  Endpoint?: {
    Ports?: {
      Protocol?: string;
      TargetPort: number;
      PublishedPort?: number;
      PublishMode?: string;
    }[];
  };
  UpdateStatus?: { State?: string; Message?: string } | null;
  ServiceStatus?: { RunningTasks?: number; DesiredTasks?: number } | null;
}

/** One entry of `GET /tasks`. */
export interface TaskInfo {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  CreatedAt: string;
  UpdatedAt: string;
  DesiredState: string;
  Spec?: { ContainerSpec?: { Image?: string } };
  Status: {
    State: string;
    Message?: string;
    Err?: string;
    Timestamp?: string;
    ContainerStatus?: { ExitCode?: number; ContainerID?: string };
  };
}

/** One entry of `GET /nodes`. */
export interface NodeInfo {
  ID: string;
  Version: SwarmVersion;
  Spec: {
    Name?: string;
    Labels?: Record<string, string> | null;
    Role: string;
    Availability: string;
  };
  Description?: {
    Hostname?: string;
    Platform?: { Architecture?: string; OS?: string };
    Resources?: {
      NanoCPUs?: number;
      MemoryBytes?: number;
      GenericResources?: {
        DiscreteResourceSpec?: { Kind: string; Value: number };
        NamedResourceSpec?: { Kind: string; Value: string };
      }[] | null;
    };
    Engine?: { EngineVersion?: string };
  };
  Status: { State: string; Message?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string } | null;
}

function buildUrl(path: string, query: DockerRequestOptions["query"]): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined) continue;
    params.set(k, typeof v === "object" ? JSON.stringify(v) : String(v));
  }
  const qs = params.toString();
  return `http://docker/v1.41${path}${qs ? `?${qs}` : ""}`;
}

/** The engine's `{"message": …}`, or the raw text when the body is not that. */
function engineMessage(text: string): string {
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed?.message === "string") return parsed.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim().slice(0, 500);
}

/**
 * Creates a client of the Engine API on `socketPath`. The socket is not touched until the first
 * call.
 *
 * @example
 * ```ts
 * const docker = createDockerApi("/var/run/docker.sock");
 * try {
 *   const info = await docker.json<EngineInfo>("GET", "/info");
 * } finally {
 *   docker.close();
 * }
 * ```
 */
export function createDockerApi(socketPath: string = DEFAULT_DOCKER_SOCKET): DockerApi {
  let client: Deno.HttpClient | undefined;

  async function unavailable(err: unknown): Promise<DockerUnavailableError> {
    let exists = true;
    try {
      await Deno.stat(socketPath);
    } catch {
      exists = false;
    }
    const why = err instanceof Error ? err.message : String(err);
    return new DockerUnavailableError(
      socketPath,
      exists
        ? `cannot reach the Docker Engine API at ${socketPath} (is dockerd running?): ${why}`
        : `no Docker Engine API socket at ${socketPath}: is Docker installed and dockerd running?`,
    );
  }

  async function request(
    method: string,
    path: string,
    options: DockerRequestOptions = {},
  ): Promise<Response> {
    client ??= Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });
    const init: RequestInit & { client: Deno.HttpClient } = {
      method,
      client,
      signal: options.signal,
    };
    const headers: Record<string, string> = { ...options.headers };
    if (options.raw) {
      init.body = options.raw.body;
      headers["content-type"] = options.raw.contentType;
    } else if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      headers["content-type"] = "application/json";
    }
    init.headers = headers;
    let res: Response;
    try {
      res = await fetch(buildUrl(path, options.query), init);
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      throw await unavailable(err);
    }
    if (res.ok || options.accept?.includes(res.status)) return res;
    const detail = engineMessage(await res.text().catch(() => ""));
    throw new DockerApiError(
      res.status,
      `docker ${method} ${path}: HTTP ${res.status} ${detail}`,
      detail,
    );
  }

  /** Runs `fn` under the caller's signal and an optional deadline that also covers the body. */
  async function withDeadline<T>(
    method: string,
    path: string,
    options: DockerRequestOptions,
    fn: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    if (!options.timeoutMs) return await fn(options.signal);
    const deadline = new AbortController();
    const timer = setTimeout(
      () =>
        deadline.abort(
          new Error(`docker ${method} ${path} did not answer within ${options.timeoutMs} ms`),
        ),
      options.timeoutMs,
    );
    const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline
      .signal;
    try {
      return await fn(signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    socketPath,
    request,
    json<T>(method: string, path: string, options: DockerRequestOptions = {}): Promise<T> {
      return withDeadline(method, path, options, async (signal) => {
        const res = await request(method, path, { ...options, signal });
        const text = await res.text();
        return (text ? JSON.parse(text) : undefined) as T;
      });
    },
    send(method: string, path: string, options: DockerRequestOptions = {}): Promise<number> {
      return withDeadline(method, path, options, async (signal) => {
        const res = await request(method, path, { ...options, signal });
        await res.body?.cancel();
        return res.status;
      });
    },
    close(): void {
      client?.close();
      client = undefined;
    },
  };
}

/**
 * Reads a stream of JSON messages (build and push progress: one object per line, possibly split
 * across chunks) and hands each parsed object to `onMessage`; lines that are not JSON are skipped.
 */
export async function readJsonMessages(
  body: ReadableStream<Uint8Array>,
  onMessage: (m: Record<string, unknown>) => void,
): Promise<void> {
  let buf = "";
  const flush = (line: string) => {
    if (!line.trim()) return;
    try {
      const m = JSON.parse(line);
      if (m && typeof m === "object") onMessage(m);
    } catch { /* not JSON: skip */ }
  };
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let at: number;
    while ((at = buf.indexOf("\n")) >= 0) {
      flush(buf.slice(0, at));
      buf = buf.slice(at + 1);
    }
  }
  flush(buf);
}

/**
 * Splits Docker's multiplexed log stream (8-byte header: stream type, 3 zero bytes, big-endian
 * payload length) into frames; frames may be split across chunks in any way. Stream 1 is stdout,
 * 2 is stderr. (Containers with a TTY send raw bytes instead: check `Config.Tty` first.)
 */
export function createLogDemuxer(
  onFrame: (stream: number, payload: Uint8Array) => void,
): (chunk: Uint8Array) => void {
  let pending = new Uint8Array(0);
  return (chunk: Uint8Array): void => {
    let buf = chunk;
    if (pending.length) {
      buf = new Uint8Array(pending.length + chunk.length);
      buf.set(pending);
      buf.set(chunk, pending.length);
    }
    let off = 0;
    while (buf.length - off >= 8) {
      const size = new DataView(buf.buffer, buf.byteOffset + off + 4, 4).getUint32(0);
      if (buf.length - off - 8 < size) break;
      onFrame(buf[off], buf.subarray(off + 8, off + 8 + size));
      off += 8 + size;
    }
    pending = buf.slice(off);
  };
}
