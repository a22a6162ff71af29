/**
 * A typed client for the hub's HTTP API, used by the agent, the CLI, the MCP server and tests.
 * Errors from the hub arrive as {@link ApiError} carrying its problem details.
 *
 * @module
 */
import type {
  AgentSelf,
  AuditEntry,
  ClusterInfo,
  ContainerInfo,
  EnrollRequest,
  EnrollResponse,
  ExecInfo,
  ExecRequest,
  FleetSnapshot,
  HubStats,
  IngestAck,
  IngestBatch,
  JobInfo,
  JobSpec,
  JobsRunningResult,
  JobSubmit,
  MetricsResponse,
  NodeRecovery,
  NodeSummary,
  Problem,
  RoamerAssign,
  RoamerInfo,
  TokenCreate,
  TokenCreated,
  TokenInfo,
} from "./protocol/mod.ts";

/** A non-2xx answer from the hub. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;

  constructor(status: number, problem: Problem | undefined, fallback: string) {
    super(problem?.detail ?? problem?.title ?? fallback);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Base URL of the hub, e.g. `http://control:8765`. */
  hub: string;
  token?: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** Aborts every request of this client (e.g. on shutdown). */
  signal?: AbortSignal;
}

/**
 * Calls the hub's `/api/v1` routes.
 *
 * @example
 * ```ts
 * const api = new ApiClient({ hub: "http://127.0.0.1:8765", token });
 * const fleet = await api.fleet();
 * ```
 */
export class ApiClient {
  readonly hub: string;
  #token: string | undefined;
  #timeoutMs: number;
  #signal: AbortSignal | undefined;

  constructor(options: ApiClientOptions) {
    this.#signal = options.signal;
    this.hub = options.hub.replace(/\/+$/, "");
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Sends a request and parses the JSON answer; throws {@link ApiError} on non-2xx. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(this.hub + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: this.#signal
        ? AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#signal])
        : AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) {
      let problem: Problem | undefined;
      try {
        problem = JSON.parse(text) as Problem;
      } catch { /* not a problem body */ }
      throw new ApiError(res.status, problem, `${method} ${path}: HTTP ${res.status}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** `POST /api/v1/ingest`. */
  ingest(batch: IngestBatch): Promise<IngestAck> {
    return this.request("POST", "/api/v1/ingest", batch);
  }

  /** `POST /api/v1/enroll` (public): trade an enrollment token for this node's token. */
  enroll(req: EnrollRequest): Promise<EnrollResponse> {
    return this.request("POST", "/api/v1/enroll", req);
  }

  /** `GET /api/v1/agent/self`. */
  self(): Promise<AgentSelf> {
    return this.request("GET", "/api/v1/agent/self");
  }

  /** `GET /api/v1/fleet`. */
  fleet(): Promise<FleetSnapshot> {
    return this.request("GET", "/api/v1/fleet");
  }

  /** `GET /api/v1/nodes/:id`. */
  node(id: string): Promise<NodeSummary> {
    return this.request("GET", `/api/v1/nodes/${encodeURIComponent(id)}`);
  }

  /** `GET /api/v1/nodes/:id/metrics`. */
  metrics(
    id: string,
    query: { from?: string | number; to?: string | number; step?: number } = {},
  ): Promise<MetricsResponse> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const qs = q.size ? `?${q}` : "";
    return this.request("GET", `/api/v1/nodes/${encodeURIComponent(id)}/metrics${qs}`);
  }

  /** `POST /api/v1/nodes/:id/recovery` (the node's own token). */
  reportRecovery(
    id: string,
    steps: { step: string; ok: boolean; detail: string }[],
  ): Promise<NodeRecovery> {
    return this.request("POST", `/api/v1/nodes/${encodeURIComponent(id)}/recovery`, { steps });
  }

  /** `GET /api/v1/tokens`. */
  tokens(): Promise<TokenInfo[]> {
    return this.request("GET", "/api/v1/tokens");
  }

  /** `POST /api/v1/tokens`. */
  createToken(spec: TokenCreate): Promise<TokenCreated> {
    return this.request("POST", "/api/v1/tokens", spec);
  }

  /** `DELETE /api/v1/tokens/:id`. */
  revokeToken(id: string): Promise<void> {
    return this.request("DELETE", `/api/v1/tokens/${encodeURIComponent(id)}`);
  }

  /** `POST /api/v1/jobs`. */
  submitJob(spec: JobSubmit): Promise<{ id: string; state: string }> {
    return this.request("POST", "/api/v1/jobs", spec);
  }

  /** `GET /api/v1/jobs`. */
  jobs(
    query: { state?: string; cluster?: string; node?: string; limit?: number; cursor?: string } =
      {},
  ): Promise<{ jobs: JobInfo[]; next_cursor: string | null }> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.request("GET", `/api/v1/jobs${q.size ? `?${q}` : ""}`);
  }

  /** `GET /api/v1/jobs/:id` (with its history). */
  job(id: string): Promise<JobInfo> {
    return this.request("GET", `/api/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** `POST /api/v1/jobs/:id/cancel` or `/retry`. */
  jobAction(id: string, action: "cancel" | "retry"): Promise<JobInfo> {
    return this.request("POST", `/api/v1/jobs/${encodeURIComponent(id)}/${action}`);
  }

  /** `POST /api/v1/jobs/claim` (node token): a job to run, or null after `wait_s`. */
  claimJob(wait_s: number): Promise<{ job: JobSpec | null; roamer: RoamerInfo | null }> {
    return this.request("POST", "/api/v1/jobs/claim", { wait_s });
  }

  /** `POST /api/v1/jobs/:id/heartbeat` (node token). */
  heartbeatJob(
    id: string,
    body: { attempt: number; running?: boolean; log_tail?: string },
  ): Promise<{ state: string; lease_expires_at: number }> {
    return this.request("POST", `/api/v1/jobs/${encodeURIComponent(id)}/heartbeat`, body);
  }

  /** `POST /api/v1/jobs/:id/complete` or `/fail` (node token). */
  reportJob(
    id: string,
    outcome: "complete" | "fail",
    body: {
      attempt: number;
      result?: unknown;
      error?: string;
      exit_code?: number;
      log_tail?: string;
    },
  ): Promise<{ state: string }> {
    return this.request("POST", `/api/v1/jobs/${encodeURIComponent(id)}/${outcome}`, body);
  }

  /**
   * `POST /api/v1/jobs/running` (node token): the jobs this agent really runs; the hub returns
   * every other job it holds for this node to the queue.
   */
  reportRunningJobs(jobIds: string[], nodeId?: string): Promise<JobsRunningResult> {
    return this.request("POST", "/api/v1/jobs/running", {
      job_ids: jobIds,
      ...(nodeId === undefined ? {} : { node_id: nodeId }),
    });
  }

  /** `GET /api/v1/roamers`. */
  roamers(): Promise<RoamerInfo[]> {
    return this.request("GET", "/api/v1/roamers");
  }

  /** `POST /api/v1/roamers/:id/assign`. */
  assignRoamer(id: string, body: RoamerAssign): Promise<RoamerInfo> {
    return this.request("POST", `/api/v1/roamers/${encodeURIComponent(id)}/assign`, body);
  }

  /** `POST /api/v1/roamers/:id/release`. */
  releaseRoamer(id: string): Promise<RoamerInfo> {
    return this.request("POST", `/api/v1/roamers/${encodeURIComponent(id)}/release`);
  }

  /** `POST /api/v1/roamers/self/state` (the roamer's node token). */
  reportRoamer(state: string, detail?: string): Promise<RoamerInfo> {
    return this.request("POST", "/api/v1/roamers/self/state", { state, detail });
  }

  /** `GET /api/v1/clusters`. */
  clusters(): Promise<ClusterInfo[]> {
    return this.request("GET", "/api/v1/clusters");
  }

  /** `GET /api/v1/hub/stats`. */
  stats(): Promise<HubStats> {
    return this.request("GET", "/api/v1/hub/stats");
  }

  /** `POST /api/v1/exec`: run a command on nodes or a cluster; answers at once (201). */
  exec(req: ExecRequest): Promise<ExecInfo> {
    return this.request("POST", "/api/v1/exec", req);
  }

  /** `GET /api/v1/exec/:id`: one run with every node's output. */
  execRun(id: string): Promise<ExecInfo> {
    return this.request("GET", `/api/v1/exec/${encodeURIComponent(id)}`);
  }

  /** `GET /api/v1/exec`: runs newest first, without output. */
  execRuns(
    query: { node?: string; limit?: number; cursor?: string } = {},
  ): Promise<{ runs: ExecInfo[]; next_cursor: string | null }> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.request("GET", `/api/v1/exec${q.size ? `?${q}` : ""}`);
  }

  /** `POST /api/v1/exec/:id/cancel`. */
  cancelExec(id: string): Promise<ExecInfo> {
    return this.request("POST", `/api/v1/exec/${encodeURIComponent(id)}/cancel`);
  }

  /** `GET /api/v1/nodes/:id/containers`. */
  containers(node: string): Promise<ContainerInfo[]> {
    return this.request("GET", `/api/v1/nodes/${encodeURIComponent(node)}/containers`);
  }

  /** `POST /api/v1/nodes/:id/containers/:cid/{restart,stop,remove}`. */
  containerAction(
    node: string,
    container: string,
    action: "restart" | "stop" | "remove",
    force = false,
  ): Promise<{ node_id: string; container: string; action: string; ok: true }> {
    const path = `/api/v1/nodes/${encodeURIComponent(node)}/containers/` +
      `${encodeURIComponent(container)}/${action}${force ? "?force=1" : ""}`;
    return this.request("POST", path);
  }

  /** `GET /api/v1/audit`: newest first. */
  audit(
    query: { action?: string; target?: string; actor?: string; limit?: number; cursor?: string } =
      {},
  ): Promise<{ entries: AuditEntry[]; next_cursor: string | null }> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.request("GET", `/api/v1/audit${q.size ? `?${q}` : ""}`);
  }
}
