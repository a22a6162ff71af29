/**
 * A typed client for the hub's HTTP API, used by the agent, the CLI, the MCP server, the web UI
 * and tests. Errors from the hub arrive as {@link ApiError} carrying its problem details.
 *
 * Only types come from the protocol (`import type`), so the browser bundle pulls in no zod.
 *
 * @module
 */
import type { z } from "zod";
import type {
  AgentSelf,
  AlertConfigInfo,
  AlertInfo,
  AlertPage,
  AuditEntry,
  BackupCreate,
  BackupInfo,
  BackupStatus,
  ClaimAnswer,
  ClusterInfo,
  ConfigFile,
  ContainerInfo,
  DeliveryInfo,
  EnrollRequest,
  EnrollResponse,
  ExecInfo,
  ExecRequest,
  FleetSnapshot,
  HubDbBackupInfo,
  HubStats,
  IngestAck,
  IngestBatch,
  JobInfo,
  JobReportAnswer,
  JobsRunningResult,
  JobSubmit,
  Layout,
  MetricsResponse,
  NodeRecovery,
  NodeSummary,
  Problem,
  RestoreInfo,
  RestoreRequest,
  RoamerAssign,
  RoamerInfo,
  SessionInfo as SessionInfoSchema,
  TemplateInfo,
  TokenCreate,
  TokenCreated,
  TokenInfo,
  TreeListing,
  VerifyResult,
} from "./protocol/mod.ts";
import type {
  LanScanRequest,
  NetworkScan,
  NodeConnections,
  PortScanRequest,
  WanCheckRequest,
} from "./protocol/network.ts";
import type { LinkHistory, LinkList } from "./protocol/links.ts";
import type {
  NodeCleanupReport,
  NodeCleanupRequest,
  NodeRecoverReport,
  NodeRestartReport,
} from "./protocol/mod.ts";
import type {
  RegistryCatalog,
  RegistryTags,
  SwarmBuildRequest,
  SwarmBuildRun,
  SwarmCatalogEntry,
  SwarmCatalogVersion,
  SwarmDefinitionInput,
  SwarmDiff,
  SwarmHealth,
  SwarmLogs,
  SwarmNode,
  SwarmNodeAction,
  SwarmNodeLabels,
  SwarmProject,
  SwarmService,
  SwarmServiceActionResult,
  SwarmServiceDetail,
  SwarmStack,
  SwarmStackDeploy,
  SwarmStackDetail,
  SwarmStackResult,
  SwarmUpdate,
} from "./protocol/mod.ts";

/** A definition for the swarm catalog: JSON (validated by the hub) or YAML text. */
export type SwarmDefinitionBody =
  | { definition: SwarmDefinitionInput; note?: string }
  | { yaml: string; note?: string };

/** One server-sent event: its name and its parsed JSON data. */
export interface SseMessage {
  event: string;
  data: unknown;
}

/** Parses a `text/event-stream` body into events (comments and heartbeats dropped). */
function sseEvents(body: ReadableStream<Uint8Array<ArrayBuffer>>): ReadableStream<SseMessage> {
  let buf = "";
  return body.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, SseMessage>({
      transform(chunk, controller) {
        buf += chunk;
        let at: number;
        while ((at = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          if (!data.length) continue;
          const raw = data.join("\n");
          let parsed: unknown = raw;
          try {
            parsed = JSON.parse(raw);
          } catch { /* plain text data */ }
          controller.enqueue({ event, data: parsed });
        }
      },
    }),
  );
}

const enc = encodeURIComponent;

/** `GET /api/v1/session` answer: who the browser's session cookie stands for. */
export type SessionInfo = z.infer<typeof SessionInfoSchema>;

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
  /**
   * Base URL of the hub, e.g. `http://control:8765`. Left out in the browser: requests go to the
   * page's own origin and the session cookie authenticates them (no token then).
   */
  hub?: string;
  token?: string;
  /** Per-request timeout (default 10 s; 0 for none). */
  timeoutMs?: number;
  /** Aborts every request of this client (e.g. on shutdown). */
  signal?: AbortSignal;
  /** Called with the path of every request the hub refused with 401 (the web UI logs out). */
  onUnauthorized?: (path: string) => void;
  /**
   * Sends the requests instead of the global `fetch` (the hub's own MCP endpoint calls its app
   * in-process this way, with the caller's token).
   */
  fetch?: (request: Request) => Promise<Response>;
  /** Headers sent with every request, e.g. `x-fleet-client: mcp` so the audit log says who. */
  headers?: Record<string, string>;
}

/** Options of one call. */
export interface CallOptions {
  /** Aborts this request (e.g. when the view that asked is gone). */
  signal?: AbortSignal;
}

/**
 * Calls the hub's `/api/v1` routes.
 *
 * @example
 * ```ts
 * const api = new ApiClient({ hub: "http://127.0.0.1:8765", token });
 * const fleet = await api.fleet();
 * // In the browser: same origin, the session cookie rides along.
 * const web = new ApiClient({ timeoutMs: 0, onUnauthorized: () => showLogin() });
 * ```
 */
export class ApiClient {
  /** Base URL of the hub; empty in same-origin mode. */
  readonly hub: string;
  #token: string | undefined;
  #timeoutMs: number;
  #signal: AbortSignal | undefined;
  #sameOrigin: boolean;
  #onUnauthorized: ((path: string) => void) | undefined;
  #fetch: ((request: Request) => Promise<Response>) | undefined;
  #headers: Record<string, string>;

  constructor(options: ApiClientOptions = {}) {
    this.#sameOrigin = options.hub === undefined;
    if (this.#sameOrigin && options.token !== undefined) {
      throw new TypeError(
        "a same-origin client logs in with the session cookie: pass hub or no token",
      );
    }
    this.#signal = options.signal;
    this.hub = (options.hub ?? "").replace(/\/+$/, "");
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#onUnauthorized = options.onUnauthorized;
    this.#fetch = options.fetch;
    this.#headers = options.headers ?? {};
  }

  /** The request's signal: the timeout, the client's and the call's, whichever aborts first. */
  #signalFor(call: AbortSignal | undefined, timeout: boolean): AbortSignal | undefined {
    const all = [
      ...(timeout && this.#timeoutMs > 0 ? [AbortSignal.timeout(this.#timeoutMs)] : []),
      ...(this.#signal ? [this.#signal] : []),
      ...(call ? [call] : []),
    ];
    return all.length > 1 ? AbortSignal.any(all) : all[0];
  }

  /** Sends a request; a non-2xx answer throws {@link ApiError} with the hub's problem details. */
  async #send(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = { ...this.#headers };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const init: RequestInit = {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      ...(this.#sameOrigin ? { credentials: "same-origin" as const } : {}),
      signal,
    };
    const res = this.#fetch
      ? await this.#fetch(new Request(this.hub + path, init))
      : await fetch(this.hub + path, init);
    if (res.status === 401) this.#onUnauthorized?.(path);
    if (!res.ok) {
      const text = await res.text();
      let problem: Problem | undefined;
      try {
        problem = JSON.parse(text) as Problem;
      } catch { /* not a problem body */ }
      throw new ApiError(res.status, problem, `${method} ${path}: HTTP ${res.status}`);
    }
    return res;
  }

  /** Sends a request and parses the JSON answer; throws {@link ApiError} on non-2xx. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: CallOptions = {},
  ): Promise<T> {
    const res = await this.#send(method, path, body, this.#signalFor(options.signal, true));
    const text = await res.text();
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

  /** `DELETE /api/v1/nodes/:id`: forgets the node and revokes its tokens. */
  removeNode(id: string): Promise<void> {
    return this.request("DELETE", `/api/v1/nodes/${encodeURIComponent(id)}`);
  }

  /** `GET /api/v1/nodes/:id/metrics`. */
  metrics(
    id: string,
    query: { from?: string | number; to?: string | number; step?: number } = {},
    options?: CallOptions,
  ): Promise<MetricsResponse> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const qs = q.size ? `?${q}` : "";
    return this.request(
      "GET",
      `/api/v1/nodes/${encodeURIComponent(id)}/metrics${qs}`,
      undefined,
      options,
    );
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
    options?: CallOptions,
  ): Promise<{ jobs: JobInfo[]; next_cursor: string | null }> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.request("GET", `/api/v1/jobs${q.size ? `?${q}` : ""}`, undefined, options);
  }

  /** `GET /api/v1/jobs/:id` (with its history). */
  job(id: string, options?: CallOptions): Promise<JobInfo> {
    return this.request("GET", `/api/v1/jobs/${encodeURIComponent(id)}`, undefined, options);
  }

  /** `POST /api/v1/jobs/:id/cancel` or `/retry`. */
  jobAction(id: string, action: "cancel" | "retry"): Promise<JobInfo> {
    return this.request("POST", `/api/v1/jobs/${encodeURIComponent(id)}/${action}`);
  }

  /** `POST /api/v1/jobs/claim` (node token): a job to run, or null after `wait_s`. */
  claimJob(wait_s: number): Promise<ClaimAnswer> {
    return this.request("POST", "/api/v1/jobs/claim", { wait_s });
  }

  /** `POST /api/v1/jobs/:id/heartbeat` (node token). */
  heartbeatJob(
    id: string,
    body: { attempt: number; running?: boolean; log_tail?: string },
  ): Promise<{ state: string; lease_expires_at: number }> {
    return this.request("POST", `/api/v1/jobs/${encodeURIComponent(id)}/heartbeat`, body);
  }

  /**
   * `POST /api/v1/jobs/:id/complete` or `/fail` (node token). With `claim_next` the answer's
   * `next` holds the node's next job, claimed in the same request.
   */
  reportJob(
    id: string,
    outcome: "complete" | "fail",
    body: {
      attempt: number;
      result?: unknown;
      error?: string;
      exit_code?: number;
      log_tail?: string;
      claim_next?: boolean;
    },
  ): Promise<JobReportAnswer> {
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

  /** `GET /api/v1/templates`: the job templates of fleet.yml. */
  templates(): Promise<TemplateInfo[]> {
    return this.request("GET", "/api/v1/templates");
  }

  /** `GET /api/v1/layout`: where the operator placed nodes on the canvas. */
  layout(): Promise<Layout> {
    return this.request("GET", "/api/v1/layout");
  }

  /** `PUT /api/v1/layout`. */
  saveLayout(layout: Layout): Promise<{ saved: number }> {
    return this.request("PUT", "/api/v1/layout", layout);
  }

  /** `GET /api/v1/session`: who the session cookie stands for. */
  session(): Promise<SessionInfo> {
    return this.request("GET", "/api/v1/session");
  }

  /** `POST /api/v1/session`: trades an admin or viewer token for a session cookie. */
  openSession(token: string): Promise<SessionInfo> {
    return this.request("POST", "/api/v1/session", { token });
  }

  /** `DELETE /api/v1/session`: ends the session and clears its cookie. */
  endSession(): Promise<void> {
    return this.request("DELETE", "/api/v1/session");
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

  /**
   * `GET /api/v1/nodes/:id/containers/:cid/logs`: the last `tail` lines as text, then (with
   * `follow`) new ones as the container writes them. No timeout: a follow streams until the
   * caller aborts it.
   */
  async containerLogs(
    node: string,
    container: string,
    query: { tail: number; follow: boolean },
    options: CallOptions = {},
  ): Promise<ReadableStream<string>> {
    const path = `/api/v1/nodes/${encodeURIComponent(node)}/containers/` +
      `${encodeURIComponent(container)}/logs?tail=${query.tail}&follow=${query.follow ? 1 : 0}`;
    const res = await this.#send("GET", path, undefined, this.#signalFor(options.signal, false));
    return res.body!.pipeThrough(new TextDecoderStream());
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

  /**
   * `POST /api/v1/nodes/:id/actions/cleanup`: the plan (a dry run, the default), or with
   * `dry_run: false` the run (give the dry run's `plan_id` to refuse a changed plan).
   */
  nodeCleanup(
    node: string,
    req: NodeCleanupRequest = {},
    options?: CallOptions,
  ): Promise<NodeCleanupReport> {
    const path = `/api/v1/nodes/${encodeURIComponent(node)}/actions/cleanup`;
    return this.request("POST", path, req, options);
  }

  /** `POST /api/v1/nodes/:id/actions/recover`: the boot recovery, now. */
  nodeRecover(node: string, options?: CallOptions): Promise<NodeRecoverReport> {
    const path = `/api/v1/nodes/${encodeURIComponent(node)}/actions/recover`;
    return this.request("POST", path, undefined, options);
  }

  /** `POST /api/v1/nodes/:id/actions/restart`: the agent restarts (its control channel drops). */
  nodeRestart(node: string): Promise<NodeRestartReport> {
    return this.request("POST", `/api/v1/nodes/${encodeURIComponent(node)}/actions/restart`);
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

  /** `GET /api/v1/network/links`: every node's current link quality, worst first. */
  links(options?: CallOptions): Promise<LinkList> {
    return this.request("GET", "/api/v1/network/links", undefined, options);
  }

  /** `GET /api/v1/network/links/:id/history`: one point per minute (default: the last hour). */
  linkHistory(
    id: string,
    query: { from?: number; to?: number } = {},
    options?: CallOptions,
  ): Promise<LinkHistory> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const path = `/api/v1/network/links/${encodeURIComponent(id)}/history${q.size ? `?${q}` : ""}`;
    return this.request("GET", path, undefined, options);
  }

  /** A network tool's POST: with `wait`, no client timeout (the scan's own limit bounds it). */
  async #networkPost(path: string, body: { wait?: boolean }, o: CallOptions): Promise<NetworkScan> {
    const res = await this.#send("POST", path, body, this.#signalFor(o.signal, !body.wait));
    return await res.json() as NetworkScan;
  }

  /** `POST /api/v1/network/scans`: a LAN sweep from a node (202 running, or the end with `wait`). */
  lanScan(req: LanScanRequest, options: CallOptions = {}): Promise<NetworkScan> {
    return this.#networkPost("/api/v1/network/scans", req, options);
  }

  /** `POST /api/v1/network/port-scans`: TCP ports of a host, from a node. */
  portScan(req: PortScanRequest, options: CallOptions = {}): Promise<NetworkScan> {
    return this.#networkPost("/api/v1/network/port-scans", req, options);
  }

  /** `POST /api/v1/network/wan-checks`: the configured WAN targets, from a node. */
  wanCheck(req: WanCheckRequest, options: CallOptions = {}): Promise<NetworkScan> {
    return this.#networkPost("/api/v1/network/wan-checks", req, options);
  }

  /** `GET /api/v1/network/scans`: newest first, without results. */
  networkScans(
    query: { node?: string; kind?: NetworkScan["kind"]; limit?: number } = {},
  ): Promise<NetworkScan[]> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.request("GET", `/api/v1/network/scans${q.size ? `?${q}` : ""}`);
  }

  /** `GET /api/v1/network/scans/:id`: one scan with its result. */
  networkScan(id: string): Promise<NetworkScan> {
    return this.request("GET", `/api/v1/network/scans/${encodeURIComponent(id)}`);
  }

  /** `POST /api/v1/network/scans/:id/cancel`: stops a running scan (its partial result kept). */
  cancelNetworkScan(id: string): Promise<NetworkScan> {
    return this.request("POST", `/api/v1/network/scans/${encodeURIComponent(id)}/cancel`);
  }

  /** `GET /api/v1/nodes/:id/network/latest?kind=`: the node's newest finished scan of a kind. */
  latestNetworkScan(node: string, kind: NetworkScan["kind"]): Promise<NetworkScan | null> {
    return this.request(
      "GET",
      `/api/v1/nodes/${encodeURIComponent(node)}/network/latest?kind=${kind}`,
    );
  }

  /**
   * `GET /api/v1/fleet/events` as raw SSE text (no timeout; abort with `options.signal`), for
   * clients without `EventSource` that follow a long operation (the CLI's scan progress).
   */
  async eventStream(options: CallOptions = {}): Promise<ReadableStream<string>> {
    const res = await this.#send(
      "GET",
      "/api/v1/fleet/events",
      undefined,
      this.#signalFor(options.signal, false),
    );
    return res.body!.pipeThrough(new TextDecoderStream());
  }

  /** `GET /api/v1/nodes/:id/connections`: listening services and established connections. */
  nodeConnections(node: string, options: CallOptions = {}): Promise<NodeConnections> {
    return this.request(
      "GET",
      `/api/v1/nodes/${encodeURIComponent(node)}/connections`,
      undefined,
      options,
    );
  }

  /** Opens an SSE route (no timeout: it streams until the caller aborts or the hub ends it). */
  async #events(path: string, options: CallOptions = {}): Promise<ReadableStream<SseMessage>> {
    const res = await this.#send("GET", path, undefined, this.#signalFor(options.signal, false));
    return sseEvents(res.body!);
  }

  // --- Docker Swarm (docs/swarm.md) ---

  /** `GET /api/v1/swarm/health`: managers, nodes and services in one answer. */
  swarmHealth(options?: CallOptions): Promise<SwarmHealth> {
    return this.request("GET", "/api/v1/swarm/health", undefined, options);
  }

  /** `GET /api/v1/swarm/catalog`: every definition (newest version), with `live`. */
  swarmCatalog(options?: CallOptions): Promise<SwarmCatalogEntry[]> {
    return this.request("GET", "/api/v1/swarm/catalog", undefined, options);
  }

  /** `GET /api/v1/swarm/catalog/:name`. */
  swarmCatalogEntry(name: string): Promise<SwarmCatalogEntry> {
    return this.request("GET", `/api/v1/swarm/catalog/${enc(name)}`);
  }

  /** `POST /api/v1/swarm/catalog`: registers a definition (409 if the name exists). */
  swarmCatalogCreate(body: SwarmDefinitionBody): Promise<SwarmCatalogEntry> {
    return this.request("POST", "/api/v1/swarm/catalog", body);
  }

  /** `PUT /api/v1/swarm/catalog/:name`: a new version (or the first); unchanged → same version. */
  swarmCatalogUpdate(name: string, body: SwarmDefinitionBody): Promise<SwarmCatalogEntry> {
    return this.request("PUT", `/api/v1/swarm/catalog/${enc(name)}`, body);
  }

  /** `DELETE /api/v1/swarm/catalog/:name`: forgets the definition (a live service stays). */
  swarmCatalogDelete(name: string): Promise<void> {
    return this.request("DELETE", `/api/v1/swarm/catalog/${enc(name)}`);
  }

  /** `GET /api/v1/swarm/catalog/:name/versions`: newest first. */
  swarmCatalogVersions(name: string): Promise<SwarmCatalogVersion[]> {
    return this.request("GET", `/api/v1/swarm/catalog/${enc(name)}/versions`);
  }

  /** `GET /api/v1/swarm/catalog/:name/versions/:version`. */
  swarmCatalogVersion(name: string, version: number): Promise<SwarmCatalogVersion> {
    return this.request("GET", `/api/v1/swarm/catalog/${enc(name)}/versions/${version}`);
  }

  /** `GET /api/v1/swarm/catalog/:name/diff`: the live service against a version (default newest). */
  swarmCatalogDiff(name: string, version?: number): Promise<SwarmDiff> {
    const qs = version === undefined ? "" : `?version=${version}`;
    return this.request("GET", `/api/v1/swarm/catalog/${enc(name)}/diff${qs}`);
  }

  /** `POST /api/v1/swarm/catalog/:name/deploy`: creates or updates the live service. */
  swarmCatalogDeploy(name: string, version?: number): Promise<SwarmServiceActionResult> {
    return this.request(
      "POST",
      `/api/v1/swarm/catalog/${enc(name)}/deploy`,
      version === undefined ? {} : { version },
    );
  }

  /** `POST /api/v1/swarm/deploy`: registers (or updates) a definition and deploys it. */
  swarmDeploy(body: SwarmDefinitionBody): Promise<SwarmServiceActionResult> {
    return this.request("POST", "/api/v1/swarm/deploy", body);
  }

  /** `POST /api/v1/swarm/catalog/:name/build`: starts a build (+ push); answers 202 at once. */
  swarmBuild(name: string, body: SwarmBuildRequest = {}): Promise<SwarmBuildRun> {
    return this.request("POST", `/api/v1/swarm/catalog/${enc(name)}/build`, body);
  }

  /** `GET /api/v1/swarm/builds`: newest first, without output. */
  swarmBuilds(query: { service?: string; limit?: number } = {}): Promise<SwarmBuildRun[]> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.request("GET", `/api/v1/swarm/builds${q.size ? `?${q}` : ""}`);
  }

  /** `GET /api/v1/swarm/builds/:id`: one run with its stored output. */
  swarmBuildRun(id: string): Promise<SwarmBuildRun> {
    return this.request("GET", `/api/v1/swarm/builds/${enc(id)}`);
  }

  /** `POST /api/v1/swarm/builds/:id/cancel`: stops a running build; answers it as ended. */
  swarmBuildCancel(id: string): Promise<SwarmBuildRun> {
    return this.request("POST", `/api/v1/swarm/builds/${enc(id)}/cancel`);
  }

  /**
   * `GET /api/v1/swarm/builds/:id/events` (SSE): `output` events `{text}` (the output so far
   * first), then one `end` event `{run}`.
   */
  swarmBuildEvents(id: string, options?: CallOptions): Promise<ReadableStream<SseMessage>> {
    return this.#events(`/api/v1/swarm/builds/${enc(id)}/events`, options);
  }

  /** `GET /api/v1/swarm/projects`: folders of the projects directory (build contexts). */
  swarmProjects(): Promise<SwarmProject[]> {
    return this.request("GET", "/api/v1/swarm/projects");
  }

  /** `GET /api/v1/swarm/services`: live services with replicas and task counts. */
  swarmServices(options?: CallOptions): Promise<SwarmService[]> {
    return this.request("GET", "/api/v1/swarm/services", undefined, options);
  }

  /** `GET /api/v1/swarm/services/:name`: one live service and its tasks. */
  swarmService(name: string, options?: CallOptions): Promise<SwarmServiceDetail> {
    return this.request("GET", `/api/v1/swarm/services/${enc(name)}`, undefined, options);
  }

  /** `POST /api/v1/swarm/services/:name/scale`. */
  swarmScale(name: string, replicas: number): Promise<SwarmServiceActionResult> {
    return this.request("POST", `/api/v1/swarm/services/${enc(name)}/scale`, { replicas });
  }

  /** `POST /api/v1/swarm/services/:name/update`: a rolling update. */
  swarmUpdate(name: string, body: SwarmUpdate): Promise<SwarmServiceActionResult> {
    return this.request("POST", `/api/v1/swarm/services/${enc(name)}/update`, body);
  }

  /** `POST /api/v1/swarm/services/:name/restart`: recreates every task (`--force`). */
  swarmRestart(name: string): Promise<SwarmServiceActionResult> {
    return this.request("POST", `/api/v1/swarm/services/${enc(name)}/restart`);
  }

  /** `DELETE /api/v1/swarm/services/:name`: stop = remove from the swarm (definition kept). */
  swarmStop(name: string): Promise<SwarmServiceActionResult> {
    return this.request("DELETE", `/api/v1/swarm/services/${enc(name)}`);
  }

  /** `GET /api/v1/swarm/services/:name/logs?tail=N`: the last lines. */
  swarmServiceLogs(name: string, tail = 200): Promise<SwarmLogs> {
    return this.request("GET", `/api/v1/swarm/services/${enc(name)}/logs?tail=${tail}`);
  }

  /** `GET /api/v1/swarm/services/:name/logs?follow=1` (SSE): `log` events of {@link SwarmLogs}' lines. */
  swarmFollowServiceLogs(
    name: string,
    tail = 100,
    options?: CallOptions,
  ): Promise<ReadableStream<SseMessage>> {
    return this.#events(
      `/api/v1/swarm/services/${enc(name)}/logs?tail=${tail}&follow=1`,
      options,
    );
  }

  /** `GET /api/v1/alerts`: newest first, filtered by state, node, rule. */
  alerts(
    query: {
      state?: "firing" | "resolved";
      node?: string;
      rule?: string;
      limit?: number;
      cursor?: string;
    } = {},
  ): Promise<AlertPage> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.request("GET", `/api/v1/alerts${q.size ? `?${q}` : ""}`);
  }

  /** `GET /api/v1/alerts/:id`. */
  alert(id: string): Promise<AlertInfo> {
    return this.request("GET", `/api/v1/alerts/${encodeURIComponent(id)}`);
  }

  /** `POST /api/v1/alerts/:id/ack`. */
  ackAlert(id: string): Promise<AlertInfo> {
    return this.request("POST", `/api/v1/alerts/${encodeURIComponent(id)}/ack`);
  }

  /** `POST /api/v1/alerts/:id/silence`: hold notifications back `for_s` seconds (0 lifts it). */
  silenceAlert(id: string, forS: number): Promise<AlertInfo> {
    return this.request("POST", `/api/v1/alerts/${encodeURIComponent(id)}/silence`, {
      for_s: forS,
    });
  }

  /** `GET /api/v1/alerts/config`: rules and webhooks with their delivery counts. */
  alertConfig(): Promise<AlertConfigInfo> {
    return this.request("GET", "/api/v1/alerts/config");
  }

  /** `GET /api/v1/alerts/deliveries`: newest first. */
  alertDeliveries(query: { webhook?: string; limit?: number } = {}): Promise<DeliveryInfo[]> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.request("GET", `/api/v1/alerts/deliveries${q.size ? `?${q}` : ""}`);
  }

  /** `POST /api/v1/alerts/webhooks/:name/test`: sends a test alert. */
  testWebhook(name: string): Promise<DeliveryInfo> {
    return this.request("POST", `/api/v1/alerts/webhooks/${encodeURIComponent(name)}/test`);
  }

  /** `GET /api/v1/swarm/stacks`. */
  swarmStacks(options?: CallOptions): Promise<SwarmStack[]> {
    return this.request("GET", "/api/v1/swarm/stacks", undefined, options);
  }

  /** `GET /api/v1/swarm/stacks/:name`: its services and the compose file the hub deployed. */
  swarmStack(name: string): Promise<SwarmStackDetail> {
    return this.request("GET", `/api/v1/swarm/stacks/${enc(name)}`);
  }

  /** `POST /api/v1/swarm/stacks`: `docker stack deploy` of a compose file. */
  swarmStackDeploy(body: SwarmStackDeploy): Promise<SwarmStackResult> {
    return this.request("POST", "/api/v1/swarm/stacks", body);
  }

  /** `DELETE /api/v1/swarm/stacks/:name`: `docker stack rm`. */
  swarmStackRemove(name: string): Promise<SwarmStackResult> {
    return this.request("DELETE", `/api/v1/swarm/stacks/${enc(name)}`);
  }

  /** `GET /api/v1/swarm/nodes`. */
  swarmNodes(options?: CallOptions): Promise<SwarmNode[]> {
    return this.request("GET", "/api/v1/swarm/nodes", undefined, options);
  }

  /** `GET /api/v1/swarm/nodes/:id` (swarm id or hostname). */
  swarmNode(id: string): Promise<SwarmNode> {
    return this.request("GET", `/api/v1/swarm/nodes/${enc(id)}`);
  }

  /** `POST /api/v1/swarm/nodes/:id/{drain,activate,pause,promote,demote}`. */
  swarmNodeAction(id: string, action: SwarmNodeAction): Promise<SwarmNode> {
    return this.request("POST", `/api/v1/swarm/nodes/${enc(id)}/${action}`);
  }

  /** `PATCH /api/v1/swarm/nodes/:id/labels`. */
  swarmNodeLabels(id: string, body: SwarmNodeLabels): Promise<SwarmNode> {
    return this.request("PATCH", `/api/v1/swarm/nodes/${enc(id)}/labels`, body);
  }

  /** `DELETE /api/v1/swarm/nodes/:id`: removes a node from the swarm (`force` for a live one). */
  swarmNodeRemove(id: string, force = false): Promise<void> {
    return this.request("DELETE", `/api/v1/swarm/nodes/${enc(id)}${force ? "?force=1" : ""}`);
  }

  /** `GET /api/v1/swarm/registry`: repositories of the configured registry. */
  registryCatalog(options?: CallOptions): Promise<RegistryCatalog> {
    return this.request("GET", "/api/v1/swarm/registry", undefined, options);
  }

  /** `GET /api/v1/swarm/registry/tags?repository=…`: tags with size and architectures. */
  registryTags(repository: string): Promise<RegistryTags> {
    return this.request("GET", `/api/v1/swarm/registry/tags?repository=${enc(repository)}`);
  }

  /**
   * `DELETE /api/v1/swarm/registry/tags?repository=…&tag=…`: deletes the tag's manifest (409
   * when other tags share it, unless `force`: they would go too).
   */
  registryDeleteTag(repository: string, tag: string, force = false): Promise<void> {
    return this.request(
      "DELETE",
      `/api/v1/swarm/registry/tags?repository=${enc(repository)}&tag=${enc(tag)}` +
        (force ? "&force=1" : ""),
    );
  }

  /** `POST /api/v1/backups`: one backup per node × target (refused ones come back `failed`). */
  createBackup(req: BackupCreate): Promise<{ backups: BackupInfo[] }> {
    return this.request("POST", "/api/v1/backups", req);
  }

  /** `GET /api/v1/backups`: newest first. */
  backups(
    query: { node?: string; state?: string; good?: boolean; limit?: number; cursor?: string } = {},
    options?: CallOptions,
  ): Promise<{ backups: BackupInfo[]; next_cursor: string | null }> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.request("GET", `/api/v1/backups${q.size ? `?${q}` : ""}`, undefined, options);
  }

  /** `GET /api/v1/backups/:id` (with live progress while it runs). */
  backup(id: string, options?: CallOptions): Promise<BackupInfo> {
    return this.request("GET", `/api/v1/backups/${encodeURIComponent(id)}`, undefined, options);
  }

  /** `POST /api/v1/backups/:id/cancel`. */
  cancelBackup(id: string): Promise<BackupInfo> {
    return this.request("POST", `/api/v1/backups/${encodeURIComponent(id)}/cancel`);
  }

  /** `GET /api/v1/backups/status`: S3, schedules, each node's last good backup. */
  backupStatus(options?: CallOptions): Promise<BackupStatus> {
    return this.request("GET", "/api/v1/backups/status", undefined, options);
  }

  /** `GET /api/v1/backups/:id/tree`: entries under `path` of the backup's snapshot. */
  backupTree(
    id: string,
    query: { path?: string; recursive?: boolean; limit?: number } = {},
    options?: CallOptions,
  ): Promise<TreeListing> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.request(
      "GET",
      `/api/v1/backups/${encodeURIComponent(id)}/tree${q.size ? `?${q}` : ""}`,
      undefined,
      options,
    );
  }

  /** `POST /api/v1/backups/:id/restore`: a dry run answers its plan; a restore runs on (202). */
  restoreBackup(id: string, req: RestoreRequest): Promise<RestoreInfo> {
    return this.request("POST", `/api/v1/backups/${encodeURIComponent(id)}/restore`, req);
  }

  /** `GET /api/v1/backups/restores/:id`. */
  restore(id: string, options?: CallOptions): Promise<RestoreInfo> {
    return this.request(
      "GET",
      `/api/v1/backups/restores/${encodeURIComponent(id)}`,
      undefined,
      options,
    );
  }

  /** `POST /api/v1/backups/:id/verify`: chunks present (and `read_data` of them re-hashed). */
  verifyBackup(id: string, readData = 0): Promise<VerifyResult> {
    return this.request("POST", `/api/v1/backups/${encodeURIComponent(id)}/verify`, {
      read_data: readData,
    });
  }

  /** `POST /api/v1/backups/hub-db`: a consistent snapshot of the hub's database, now. */
  backupHubDb(): Promise<HubDbBackupInfo> {
    return this.request("POST", "/api/v1/backups/hub-db");
  }

  /** `POST /api/v1/backups/prune`: retention per schedule, then unreferenced chunks go. */
  pruneBackups(): Promise<{ removed: number; chunks_deleted: number }> {
    return this.request("POST", "/api/v1/backups/prune");
  }

  /** `GET /api/v1/agent/configs` (node token): this node's files in the configs bucket. */
  pullConfigs(): Promise<{ files: ConfigFile[]; where: string }> {
    return this.request("GET", "/api/v1/agent/configs");
  }

  /** `PUT /api/v1/agent/configs` (node token): stores this node's config files. */
  pushConfigs(files: ConfigFile[]): Promise<{ files: number; bytes: number; where: string }> {
    return this.request("PUT", "/api/v1/agent/configs", { files });
  }
}
