/**
 * The fleet for AI assistants: an MCP server whose every tool calls the hub's HTTP
 * API through {@link ApiClient}, so the same server runs on a laptop against a remote hub
 * (`fleet-hub mcp`, stdio) and inside the hub (`/mcp`, Streamable HTTP). Hub errors come back as
 * tool errors carrying the hub's message; viewer tokens and `readOnly` get only read-only tools.
 * Resources and prompts (read-only, for every token) are in `context.ts`.
 *
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import {
  ASSIGN_MODES,
  JOB_EXECUTORS,
  JOB_STATES,
  NODE_STATUSES,
} from "../../shared/protocol/enums.ts";
import type { ExecInfo, JobInfo, NodeSummary } from "../../shared/protocol/mod.ts";
import { VERSION } from "../../shared/version.ts";
import { count, countText, fleetStatus, registerContext } from "./context.ts";
import { registerNetworkTools } from "./tools_network.ts";
import { registerLinkTools } from "./tools_links.ts";
import { registerNodeActionTools } from "./tools_node_actions.ts";
import { registerAlertTools } from "./tools_alerts.ts";
import { registerSwarmTools } from "./tools_swarm.ts";
import { registerBackupTools } from "./tools_backup.ts";

/** Options of {@link buildMcpServer}. */
export interface McpServerOptions {
  /** Offer only the read-only tools. */
  readOnly?: boolean;
  /**
   * The token's kind when the caller already knows it (the hub's own endpoint); otherwise the
   * server asks `GET /api/v1/session` once.
   */
  tokenKind?: string;
  /** The hub's address as nodes reach it, for the install line (default: the client's hub). */
  publicUrl?: string;
}

export { MCP_CLIENT_HEADER } from "./client_header.ts";

const NodeRef = z.string().min(1).max(64).describe("node id, e.g. agx-01 (see fleet_node_list)");
const JobRef = z.string().regex(/^[1-9][0-9]{0,15}$/, "a job id (digits)").describe(
  "job id as fleet_job_submit or fleet_job_list returned it",
);
const ContainerRef = z.string().min(1).max(128).describe("container name or id on that node");
const Cursor = z.string().max(32).optional().describe("next_cursor of the previous page");
/** Hub objects passed through whole: the named fields are promised, the rest rides along. */
const loose = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);

const NodeRow = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  cluster: z.string().nullable(),
  type: z.string().nullable(),
  role: z.string().nullable(),
  arch: z.string().nullable(),
  agent_version: z.string().nullable(),
  last_seen: z.number().nullable(),
  control: z.boolean(),
  cpu_pct: z.number().nullable(),
  mem_pct: z.number().nullable(),
});
const JobRow = loose({ id: z.string(), state: z.string() });
const JOB_ENDED = new Set(["done", "failed", "cancelled"]);
const RoamerRow = loose({ node_id: z.string(), state: z.string() });

function nodeRow(n: NodeSummary): z.infer<typeof NodeRow> {
  return {
    id: n.id,
    name: n.name,
    status: n.status,
    cluster: n.cluster,
    type: n.type,
    role: n.role,
    arch: n.arch,
    agent_version: n.agent_version,
    last_seen: n.last_seen,
    control: n.control ?? false,
    cpu_pct: n.last_sample?.cpu?.pct ?? null,
    mem_pct: n.last_sample?.mem?.pct ?? null,
  };
}

/** One node's part of an exec, as the tool shows it: its streams split out. */
function execResults(run: ExecInfo) {
  return (run.results ?? []).map((r) => ({
    node_id: r.node_id,
    state: r.state,
    exit_code: r.exit_code,
    stdout: r.output.filter((o) => o.stream === "stdout").map((o) => o.data).join(""),
    stderr: r.output.filter((o) => o.stream === "stderr").map((o) => o.data).join(""),
    truncated: r.truncated,
    error: r.error,
  }));
}

const ExecResult = z.object({
  node_id: z.string(),
  state: z.string().describe("running, exited, timed_out, cancelled, interrupted, offline, error"),
  exit_code: z.number().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean().describe("the output was longer than the hub keeps"),
  error: z.string().nullable(),
});

function jobLine(j: JobInfo): string {
  return `job ${j.id} ${j.state}` + (j.claimed_by ? ` on ${j.claimed_by}` : "") +
    (j.exit_code !== null ? ` (exit ${j.exit_code})` : "") + (j.error ? `: ${j.error}` : "");
}

/** Turns what the hub (or the network) said into the message an assistant can act on. */
function errorText(error: unknown, hub: string): string {
  if (error instanceof ApiError) {
    const fields = error.problem?.errors?.map((e) => `${e.path}: ${e.message}`).join("; ");
    return `hub answered ${error.status}: ${error.message}${fields ? ` (${fields})` : ""}`;
  }
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return `the hub at ${hub} did not answer in time`;
  }
  if (error instanceof TypeError) return `cannot reach the hub at ${hub}: ${error.message}`;
  return (error as Error)?.message ?? String(error);
}

/** What a tool may do besides answering: report progress when the client asked for it. */
export interface ToolContext {
  /** Sends `notifications/progress` (a no-op without a progress token); never throws. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * How long a result waits after a progress notification. The SDK's client handles notifications
 * a microtask later but responses at once, dropping the progress handler: a notification read in
 * the same chunk as the result would be lost.
 */
const PROGRESS_SETTLE_MS = 20;

function toolContext(extra: Extra | undefined): ToolContext & { settle(): Promise<void> } {
  const token = extra?._meta?.progressToken;
  let lastSent = 0;
  return {
    progress: async (progress, total, message) => {
      if (token === undefined || !extra) return;
      // A lost notification must not fail the tool: the result still tells the whole story.
      await extra.sendNotification({
        method: "notifications/progress",
        params: { progressToken: token, progress, total, message },
      }).catch(() => {});
      lastSent = Date.now();
    },
    settle: async () => {
      const left = lastSent + PROGRESS_SETTLE_MS - Date.now();
      if (left > 0) await new Promise((r) => setTimeout(r, left));
    },
  };
}

/** One MCP tool: its schema, annotations and what it does. Feature modules export lists of them. */
export interface ToolDef<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  readOnly: boolean;
  destructive?: boolean;
  idempotent?: boolean;
  /** Reaches hosts outside the fleet (internet or LAN hosts that are no node); default false. */
  openWorld?: boolean;
  run(
    args: z.infer<z.ZodObject<I>>,
    ctx: ToolContext,
  ): Promise<{ summary: string; data: z.infer<z.ZodObject<O>> }>;
}

/**
 * Registers one tool (or withholds it from a read-only caller). Feature modules get it through
 * `register<Feature>Tools(add, api)` called at the end of {@link buildMcpServer}.
 */
export type AddTool = <I extends z.ZodRawShape, O extends z.ZodRawShape>(
  def: ToolDef<I, O>,
) => void;

/** Names of the tools {@link buildMcpServer} can offer, with whether each is read-only. */
export type ToolCatalog = { name: string; readOnly: boolean }[];

/**
 * Builds the MCP server over `api`. Asks the hub which kind of token `api` holds (unless
 * `tokenKind` is given); a viewer token, or `readOnly`, gets only the read-only tools, and a
 * write tool called anyway is refused with a message naming the admin token it needs.
 *
 * @example
 * ```ts
 * const server = await buildMcpServer(new ApiClient({ hub, token, headers: MCP_CLIENT_HEADER }));
 * await server.connect(new StdioServerTransport());
 * ```
 */
export async function buildMcpServer(
  api: ApiClient,
  options: McpServerOptions = {},
): Promise<McpServer> {
  let kind = options.tokenKind;
  if (kind === undefined) {
    // A hub that is down at start must not stop the server: its tools then report the error.
    kind = await api.session().then((s) => s.kind, () => undefined);
  }
  const writable = !options.readOnly && kind !== "viewer";
  const refusal = options.readOnly
    ? "this MCP server runs read-only (--read-only): it offers no tool that changes the fleet"
    : `a ${kind} token cannot change the fleet: this tool needs an admin token`;
  const mcp = new McpServer({ name: "fleet-hub", version: VERSION }, {
    instructions: "Fleet Commander: monitor and operate a fleet of edge nodes through its hub. " +
      "Start with fleet_status, then fleet_node_list.",
  });
  const hidden = new Set<string>();
  // Write tools withheld from this token are not listed; calling one anyway is answered with why.
  const setHandler = mcp.server.setRequestHandler.bind(mcp.server);
  mcp.server.setRequestHandler =
    ((schema: unknown, handler: (...a: unknown[]) => unknown) =>
      setHandler(
        schema as typeof CallToolRequestSchema,
        (schema === CallToolRequestSchema
          ? (request: z.infer<typeof CallToolRequestSchema>, extra: unknown) =>
            hidden.has(request.params.name)
              ? { content: [{ type: "text", text: refusal }], isError: true }
              : handler(request, extra)
          : handler) as Parameters<typeof setHandler>[1],
      )) as typeof mcp.server.setRequestHandler;

  const hubUrl = (options.publicUrl ?? api.hub).replace(/\/+$/, "");
  const add: AddTool = <I extends z.ZodRawShape, O extends z.ZodRawShape>(def: ToolDef<I, O>) => {
    if (!def.readOnly && !writable) {
      hidden.add(def.name);
      return;
    }
    mcp.registerTool(
      def.name,
      {
        title: def.title,
        description: def.description,
        inputSchema: def.input,
        outputSchema: def.output,
        annotations: {
          title: def.title,
          readOnlyHint: def.readOnly,
          destructiveHint: def.readOnly ? false : def.destructive ?? false,
          idempotentHint: def.readOnly ? true : def.idempotent ?? false,
          openWorldHint: def.openWorld ?? false,
        },
      },
      // The SDK's generic callback type does not follow our generic shape: checked by run's type.
      (async (args: z.infer<z.ZodObject<I>>, extra: Extra): Promise<CallToolResult> => {
        const ctx = toolContext(extra);
        try {
          const { summary, data } = await def.run(args, ctx);
          await ctx.settle();
          return {
            content: [{ type: "text", text: summary }],
            structuredContent: data as Record<string, unknown>,
          };
        } catch (error) {
          return { content: [{ type: "text", text: errorText(error, api.hub) }], isError: true };
        }
      }) as never,
    );
  };

  /** Polls a job until it ends or `wait_s` passes; each state change is a progress step. */
  const waitJob = async (id: string, wait_s: number, ctx: ToolContext): Promise<JobInfo> => {
    const deadline = Date.now() + wait_s * 1000;
    let job = await api.job(id);
    let step = 0;
    await ctx.progress(step, undefined, `job ${id} ${job.state}`);
    while (!JOB_ENDED.has(job.state) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(500, deadline - Date.now())));
      const next = await api.job(id);
      if (next.state !== job.state) {
        await ctx.progress(++step, undefined, `job ${id} ${next.state}`);
      }
      job = next;
    }
    return job;
  };

  add({
    name: "fleet_status",
    title: "Fleet status",
    description: "The whole fleet at a glance: nodes by status, clusters, the job queue.",
    input: {},
    output: {
      hub_version: z.string(),
      nodes: z.number(),
      by_status: z.record(z.string(), z.number()),
      clusters: z.array(loose({ id: z.string() })),
      queue: z.object({ pending: z.number(), running: z.number() }),
    },
    readOnly: true,
    run: async () => {
      const st = await fleetStatus(api);
      return {
        summary: `${st.nodes} nodes (${countText(st.by_status)}); ${st.clusters.length} ` +
          `clusters; queue ${st.queue.pending} pending, ${st.queue.running} running`,
        data: st,
      };
    },
  });

  add({
    name: "fleet_node_list",
    title: "List nodes",
    description: "Nodes with status, cluster, type, whether their agent holds its control " +
      "socket, and latest CPU and memory use. Filters combine.",
    input: {
      cluster: z.string().max(64).optional().describe("only nodes of this cluster"),
      status: z.enum(NODE_STATUSES).optional().describe("only nodes with this status"),
      type: z.string().max(64).optional().describe("only nodes of this hardware type"),
    },
    output: { nodes: z.array(NodeRow) },
    readOnly: true,
    run: async ({ cluster, status, type }) => {
      const nodes = (await api.fleet()).nodes.filter((n) =>
        (cluster === undefined || n.cluster === cluster) &&
        (status === undefined || n.status === status) &&
        (type === undefined || n.type === type)
      ).map(nodeRow);
      return {
        summary: `${nodes.length} nodes (${countText(count(nodes, (n) => n.status))})`,
        data: { nodes },
      };
    },
  });

  add({
    name: "fleet_node_get",
    title: "Get one node",
    description: "Everything the hub knows of one node, its last sample included.",
    input: { node: NodeRef },
    output: { node: loose({ id: z.string(), status: z.string() }) },
    readOnly: true,
    run: async ({ node }) => {
      const n = await api.node(node);
      return {
        summary: `${n.id}: ${n.status}` + (n.cluster ? `, cluster ${n.cluster}` : "") +
          (n.control ? ", control connected" : ""),
        data: { node: n },
      };
    },
  });

  add({
    name: "fleet_node_metrics",
    title: "Node metrics history",
    description: "Bucketed history of a node's metrics (avg, min, max per bucket). A bucket " +
      "without data is null: the node was silent then.",
    input: {
      node: NodeRef,
      series: z.array(z.string().max(64)).max(32).optional().describe(
        "series to return, e.g. cpu_pct, mem_pct, gpu_pct, temp_c, power_mw, load1, " +
          "net_rx_bps, disk_pct (default all)",
      ),
      range: z.string().regex(/^[1-9][0-9]*[smhd]$/, "a duration like 15m, 6h or 7d").default(
        "1h",
      ).describe("how far back from now, e.g. 15m, 6h, 7d"),
      step: z.number().int().min(1).max(86_400).optional().describe(
        "bucket size in seconds (default range / 720, at least 5)",
      ),
    },
    output: {
      node_id: z.string(),
      from: z.number(),
      to: z.number(),
      step_s: z.number(),
      source: z.string(),
      ts: z.array(z.number()),
      series: z.record(
        z.string(),
        z.object({
          avg: z.array(z.number().nullable()),
          min: z.array(z.number().nullable()),
          max: z.array(z.number().nullable()),
        }),
      ),
    },
    readOnly: true,
    run: async ({ node, series, range, step }) => {
      const m = await api.metrics(node, { from: `-${range}`, to: "now", step });
      const picked = series
        ? Object.fromEntries(Object.entries(m.series).filter(([k]) => series.includes(k)))
        : m.series;
      const missing = (series ?? []).filter((s) => !(s in m.series));
      return {
        summary: `${node}: ${m.ts.length} buckets of ${m.step_s} s from ${m.source}, ` +
          `${Object.keys(picked).length} series` +
          (missing.length ? `; no series ${missing.join(", ")}` : ""),
        data: { ...m, series: picked },
      };
    },
  });

  add({
    name: "fleet_node_exec",
    title: "Run a shell command on nodes",
    description: "Runs a shell command on the given nodes or on every node of a cluster and " +
      "waits for it (up to wait_s). Per node: state, exit code, stdout, stderr; nodes whose " +
      "agent is not connected are reported as offline. Audited.",
    input: {
      command: z.string().min(1).max(16_384).describe("shell command (sh -c)"),
      nodes: z.array(z.string().min(1).max(64)).min(1).max(1000).optional().describe(
        "node ids (give nodes or cluster)",
      ),
      cluster: z.string().max(64).optional().describe("every node of this cluster"),
      timeout_s: z.number().int().min(1).max(86_400).default(60).describe(
        "the agents kill the command after this many seconds",
      ),
      wait_s: z.number().min(0).max(600).optional().describe(
        "how long to wait for the result (default timeout_s + 5, at most 120); the run " +
          "goes on after that and fleet_node_exec returns what is there",
      ),
    },
    output: {
      exec_id: z.string(),
      state: z.string().describe("running (still going when the wait ended), done, cancelled"),
      command: z.string(),
      results: z.array(ExecResult),
    },
    readOnly: false,
    destructive: true,
    run: async ({ command, nodes, cluster, timeout_s, wait_s }, ctx) => {
      const started = await api.exec({ command, nodes, cluster, timeout_s });
      const deadline = Date.now() + (wait_s ?? Math.min(timeout_s + 5, 120)) * 1000;
      let run = await api.execRun(started.id);
      // The start is announced, so a client sees the total even when every node ends at once.
      await ctx.progress(0, run.results?.length ?? 0, `started on ${run.results?.length} nodes`);
      let reported = 0;
      // Progress = nodes finished (offline ones count: they are done too), total = nodes.
      const report = async () => {
        const total = run.results?.length ?? 0;
        const finished = (run.results ?? []).filter((r) => r.state !== "running").length;
        if (finished === reported) return;
        reported = finished;
        await ctx.progress(finished, total, `${finished} of ${total} nodes finished`);
      };
      await report();
      // Most commands end in milliseconds: poll soon, then back off to 250 ms.
      let pause = 10;
      while (run.state === "running" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, Math.min(pause, deadline - Date.now())));
        pause = Math.min(pause * 2, 250);
        run = await api.execRun(started.id);
        await report();
      }
      const results = execResults(run);
      return {
        summary: `exec ${run.id} ${run.state} on ${results.length} nodes: ` +
          countText(count(results, (r) => r.exit_code === null ? r.state : `exit ${r.exit_code}`)),
        data: { exec_id: run.id, state: run.state, command: run.command, results },
      };
    },
  });

  add({
    name: "fleet_docker_ps",
    title: "List containers on a node",
    description: "Docker containers on one node, through its agent.",
    input: {
      node: NodeRef,
      all: z.boolean().default(true).describe("include stopped containers"),
    },
    output: {
      node_id: z.string(),
      containers: z.array(loose({ id: z.string(), name: z.string(), state: z.string() })),
    },
    readOnly: true,
    run: async ({ node, all }) => {
      const containers = (await api.containers(node)).filter((c) => all || c.state === "running");
      return {
        summary: `${node}: ${containers.length} containers (` +
          `${countText(count(containers, (c) => c.state))})`,
        data: { node_id: node, containers },
      };
    },
  });

  add({
    name: "fleet_docker_logs",
    title: "Container logs",
    description: "The last lines a container wrote (stdout and stderr).",
    input: {
      node: NodeRef,
      container: ContainerRef,
      tail: z.number().int().min(1).max(5000).default(100).describe("how many lines"),
    },
    output: {
      node_id: z.string(),
      container: z.string(),
      logs: z.string(),
      truncated: z.boolean(),
    },
    readOnly: true,
    run: async ({ node, container, tail }) => {
      const stream = await api.containerLogs(node, container, { tail, follow: false });
      const cap = 256 * 1024;
      let logs = "";
      let truncated = false;
      for await (const piece of stream) {
        logs += piece;
        if (logs.length > cap) {
          // Keep the newest part: the end of a log is what explains the present.
          logs = logs.slice(-cap);
          truncated = true;
        }
      }
      const lines = logs.split("\n").filter((l) => l !== "").length;
      return {
        summary: `${node}/${container}: ${lines} lines${
          truncated ? " (cut to the last 256 KiB)" : ""
        }`,
        data: { node_id: node, container, logs, truncated },
      };
    },
  });

  for (
    const [action, destructive, idempotent] of [["restart", true, false], [
      "stop",
      true,
      true,
    ]] as const
  ) {
    add({
      name: `fleet_container_${action}`,
      title: `${action === "restart" ? "Restart" : "Stop"} a container`,
      description: `${action === "restart" ? "Restarts" : "Stops"} a Docker container on a ` +
        "node, through its agent. Audited.",
      input: { node: NodeRef, container: ContainerRef },
      output: { node_id: z.string(), container: z.string(), action: z.string(), ok: z.boolean() },
      readOnly: false,
      destructive,
      idempotent,
      run: async ({ node, container }) => {
        const r = await api.containerAction(node, container, action);
        return { summary: `${node}/${container}: ${action} done`, data: r };
      },
    });
  }

  add({
    name: "fleet_job_submit",
    title: "Submit a job",
    description: "Queues a job: a fleet.yml template, or a custom process command or Docker " +
      "image. Pin it to a cluster or a node, or let any worker take it.",
    input: {
      template: z.string().max(128).optional().describe("a template of fleet.yml (or executor)"),
      executor: z.enum(JOB_EXECUTORS).optional().describe("custom job: process or docker"),
      image: z.string().max(512).optional().describe("docker image (executor docker)"),
      command: z.union([z.string().max(16_384), z.array(z.string().max(16_384)).max(1000)])
        .optional().describe("process: shell command or argv; docker: the container command"),
      cluster: z.string().max(64).optional().describe("run on a node of this cluster"),
      node: z.string().max(64).optional().describe("run on this node"),
      env: z.record(z.string(), z.string()).optional().describe("environment variables"),
      payload: z.unknown().optional().describe("JSON handed to the job"),
      priority: z.number().int().min(0).max(1000).optional().describe("higher runs first"),
      max_attempts: z.number().int().min(1).max(100).optional(),
      timeout_s: z.number().int().min(1).max(7 * 86_400).optional(),
      memory: z.union([z.string().max(32), z.number().int()]).optional().describe(
        "memory limit, e.g. 512M or 2G (a job passing it is killed for memory)",
      ),
      cpus: z.number().min(0.01).max(1024).optional().describe("CPU limit in CPUs, e.g. 1.5"),
      gpu: z.boolean().optional().describe("give the job the node's GPU"),
      wait_s: z.number().min(0).max(600).optional().describe(
        "wait up to this many seconds for the job to end and return its final state " +
          "(default 0: return once queued)",
      ),
    },
    output: {
      id: z.string(),
      state: z.string(),
      job: JobRow.optional().describe("the job as the wait left it (with wait_s)"),
    },
    readOnly: false,
    run: async ({ wait_s, ...spec }, ctx) => {
      const r = await api.submitJob(spec as Parameters<ApiClient["submitJob"]>[0]);
      if (!wait_s) return { summary: `job ${r.id} ${r.state}`, data: r };
      const job = await waitJob(r.id, wait_s, ctx);
      return { summary: jobLine(job), data: { id: job.id, state: job.state, job } };
    },
  });

  add({
    name: "fleet_job_status",
    title: "Job status",
    description: "One job: state, attempts, result or error, exit code, log tail and history.",
    input: { id: JobRef },
    output: { job: JobRow },
    readOnly: true,
    run: async ({ id }) => {
      const job = await api.job(id);
      return { summary: jobLine(job), data: { job } };
    },
  });

  add({
    name: "fleet_job_list",
    title: "List jobs",
    description: "Jobs newest first, filtered by state, cluster or node; page with cursor.",
    input: {
      state: z.enum(JOB_STATES).optional(),
      cluster: z.string().max(64).optional(),
      node: z.string().max(64).optional(),
      limit: z.number().int().min(1).max(1000).default(50),
      cursor: Cursor,
    },
    output: { jobs: z.array(JobRow), next_cursor: z.string().nullable() },
    readOnly: true,
    run: async (query) => {
      const r = await api.jobs(query);
      return {
        summary: `${r.jobs.length} jobs (${countText(count(r.jobs, (j) => j.state))})` +
          (r.next_cursor ? `; more after cursor ${r.next_cursor}` : ""),
        data: r,
      };
    },
  });

  for (const action of ["cancel", "retry"] as const) {
    add({
      name: `fleet_job_${action}`,
      title: `${action === "cancel" ? "Cancel" : "Retry"} a job`,
      description: action === "cancel"
        ? "Cancels a pending or running job (a running one is killed on its node)."
        : "Queues a failed or cancelled job again.",
      input: { id: JobRef },
      output: { job: JobRow },
      readOnly: false,
      destructive: action === "cancel",
      idempotent: action === "cancel",
      run: async ({ id }) => {
        const job = await api.jobAction(id, action);
        return { summary: jobLine(job), data: { job } };
      },
    });
  }

  add({
    name: "fleet_cluster_list",
    title: "List clusters",
    description: "Clusters with their nodes, lent roamers, workers online and queue depth.",
    input: {},
    output: { clusters: z.array(loose({ id: z.string() })) },
    readOnly: true,
    run: async () => {
      const clusters = await api.clusters();
      return {
        summary: clusters.map((c) =>
          `${c.id}: ${c.workers.online}/${c.workers.total} workers, ${c.queue.pending} pending`
        ).join("; ") || "no clusters",
        data: { clusters },
      };
    },
  });

  add({
    name: "fleet_roamer_list",
    title: "List roamers",
    description: "Roamers (nodes lent to clusters on demand) with state and assignment.",
    input: {},
    output: { roamers: z.array(RoamerRow) },
    readOnly: true,
    run: async () => {
      const roamers = await api.roamers();
      return {
        summary: roamers.map((r) =>
          `${r.node_id} ${r.state}` + (r.assignment?.cluster ? ` → ${r.assignment.cluster}` : "")
        ).join("; ") || "no roamers",
        data: { roamers },
      };
    },
  });

  add({
    name: "fleet_roamer_assign",
    title: "Assign a roamer",
    description: "Lends an IDLE roamer to a cluster, a template or a custom image until idle, " +
      "for some minutes, or until released. With image the roamer pulls it and serves no " +
      "queue: submit jobs with node = the roamer to run there.",
    input: {
      roamer: NodeRef.describe("roamer node id (see fleet_roamer_list)"),
      cluster: z.string().max(64).optional().describe("the cluster to serve (or template/image)"),
      template: z.string().max(128).optional().describe("the template to serve (or cluster/image)"),
      image: z.string().max(512).optional().describe(
        "a custom image to provision, e.g. registry:5000/name:tag (or cluster/template)",
      ),
      command: z.union([z.string().max(16_384), z.array(z.string().max(16_384)).max(256)])
        .optional().describe("with image: the command"),
      env: z.record(z.string(), z.string()).optional().describe("with image: environment"),
      gpu: z.boolean().optional().describe("with image: needs the GPU"),
      mode: z.enum(ASSIGN_MODES).optional().describe("until_idle (default), minutes or manual"),
      minutes: z.number().positive().max(7 * 24 * 60).optional().describe("for mode minutes"),
    },
    output: { roamer: RoamerRow },
    readOnly: false,
    run: async ({ roamer, ...body }) => {
      const r = await api.assignRoamer(roamer, body);
      return { summary: `${r.node_id} ${r.state}`, data: { roamer: r } };
    },
  });

  add({
    name: "fleet_roamer_release",
    title: "Release a roamer",
    description: "Ends a roamer's assignment: it cleans up and goes back to IDLE.",
    input: { roamer: NodeRef.describe("roamer node id") },
    output: { roamer: RoamerRow },
    readOnly: false,
    destructive: true,
    idempotent: true,
    run: async ({ roamer }) => {
      const r = await api.releaseRoamer(roamer);
      return { summary: `${r.node_id} ${r.state}`, data: { roamer: r } };
    },
  });

  add({
    name: "fleet_audit_list",
    title: "Audit log",
    description: "Who did what, newest first: exec runs, terminals, container actions, jobs, " +
      "roamers, tokens, enrollments, node actions (restart, cleanup, recover), network scans, " +
      "swarm changes, backups and restores, alert acks, silences and webhooks, config reloads, " +
      "logins and logouts. Actions taken through MCP carry detail.via = mcp.",
    input: {
      action: z.string().max(64).optional().describe("an action (exec.run) or family (exec.)"),
      target: z.string().max(256).optional(),
      actor: z.string().max(128).optional().describe("token name"),
      limit: z.number().int().min(1).max(500).default(50),
      cursor: Cursor,
    },
    output: {
      entries: z.array(loose({ id: z.string(), action: z.string() })),
      next_cursor: z.string().nullable(),
    },
    readOnly: true,
    run: async (query) => {
      const r = await api.audit(query);
      return {
        summary: `${r.entries.length} entries` +
          (r.entries[0] ? `, newest ${r.entries[0].action} by ${r.entries[0].actor.name}` : ""),
        data: r,
      };
    },
  });

  add({
    name: "fleet_enrollment_token_create",
    title: "Create an enrollment token",
    description: "A one-time, expiring token for adding a node, with the install line to run " +
      "on it as root. Audited.",
    input: {
      name: z.string().min(1).max(128).optional().describe("label (a valid id names the node)"),
      node: z.string().max(64).optional().describe("the node id it enrolls"),
      reenroll: z.boolean().optional().describe("replace that node's current token"),
      ttl_s: z.number().int().min(60).max(365 * 86_400).optional().describe(
        "lifetime in seconds (default 24 h)",
      ),
    },
    output: {
      token_id: z.string(),
      token: z.string(),
      node_id: z.string().nullable(),
      expires_at: z.number().nullable(),
      install: z.string(),
    },
    readOnly: false,
    run: async ({ name, node, reenroll, ttl_s }) => {
      const t = await api.createToken({ kind: "enrollment", name, node_id: node, reenroll, ttl_s });
      const install = `curl -fsSL ${hubUrl}/install.sh | sudo sh -s -- --token ${t.token}`;
      return {
        summary: `enrollment token ${t.id}; on the node run: ${install}`,
        data: {
          token_id: t.id,
          token: t.token,
          node_id: t.node_id,
          expires_at: t.expires_at,
          install,
        },
      };
    },
  });

  // Feature modules add their tools here, one line each: registerXTools(add, api).
  registerNetworkTools(add, api);
  registerLinkTools(add, api);
  registerNodeActionTools(add, api);
  registerAlertTools(add, api);
  registerSwarmTools(add, api);
  registerBackupTools(add, api);

  // Resources and prompts only read: every token gets them.
  registerContext(mcp, api);
  return mcp;
}
