/**
 * What the MCP server offers besides tools, all read-only and built from the hub's HTTP API:
 * resources (`fleet://fleet`, `fleet://nodes/{id}`, `fleet://jobs/{id}/log`) an assistant can
 * attach as context, and prompts (`triage_fleet`, `diagnose_node`) that gather real fleet data
 * into one brief for the assistant to reason over.
 *
 * @module
 */
import { type McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { GetPromptResult } from "@modelcontextprotocol/sdk/types.js";
import type { Variables } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import { z } from "zod";
import type { ApiClient } from "../../shared/api_client.ts";
import type { ClusterInfo, NodeSummary } from "../../shared/protocol/mod.ts";

/** How many recent jobs `fleet://jobs/{id}/log` lists and the prompts look at. */
const RECENT_JOBS = 20;

/** The fleet at a glance, as `fleet_status` and `fleet://fleet` give it. */
export interface FleetStatus {
  hub_version: string;
  nodes: number;
  by_status: Record<string, number>;
  clusters: ClusterInfo[];
  queue: { pending: number; running: number };
}

/** Counts items by a key. */
export function count<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

/** `3 online, 1 offline`, or `none`. */
export function countText(counts: Record<string, number>): string {
  return Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ") || "none";
}

/** Nodes by status, clusters and queue depth, from two API calls. */
export async function fleetStatus(api: ApiClient): Promise<FleetStatus> {
  const [fleet, clusters] = await Promise.all([api.fleet(), api.clusters()]);
  return {
    hub_version: fleet.hub.version,
    nodes: fleet.nodes.length,
    by_status: count(fleet.nodes, (n) => n.status),
    clusters,
    queue: {
      pending: clusters.reduce((s, c) => s + c.queue.pending, 0),
      running: clusters.reduce((s, c) => s + c.queue.running, 0),
    },
  };
}

/** The hottest sensor of a node's last sample (thermal zones and GPUs), if it reported any. */
export function hottest(n: NodeSummary): { name: string; c: number } | undefined {
  const s = n.last_sample;
  const all = [
    ...(s?.temps ?? []),
    ...(s?.gpus ?? []).flatMap((g, i) =>
      g.temp_c === undefined ? [] : [{ name: `gpu${g.index ?? i}`, c: g.temp_c }]
    ),
  ];
  return all.reduce<{ name: string; c: number } | undefined>(
    (a, t) => (a === undefined || t.c > a.c ? t : a),
    undefined,
  );
}

/** The fullest filesystem of a node's last sample, if it reported any. */
export function fullest(n: NodeSummary): { mount: string; pct: number } | undefined {
  return (n.last_sample?.disks ?? []).reduce<{ mount: string; pct: number } | undefined>(
    (a, d) => (a === undefined || d.pct > a.pct ? { mount: d.mount, pct: d.pct } : a),
    undefined,
  );
}

const json = (uri: URL, value: unknown) => ({
  contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(value, null, 2) }],
});

const brief = (text: string): GetPromptResult => ({
  messages: [{ role: "user", content: { type: "text", text } }],
});

/** A prompt argument that is a number (prompt arguments are strings on the wire). */
const NumberArg = (what: string) =>
  z.string().regex(/^[0-9]+(\.[0-9]+)?$/, "a number").optional().describe(what);

const round = (v: number) => Math.round(v * 10) / 10;

/** Registers the resources and prompts on `mcp`; every one reads through `api`. */
export function registerContext(mcp: McpServer, api: ApiClient): void {
  mcp.registerResource("fleet", "fleet://fleet", {
    title: "Fleet summary",
    description: "Nodes by status, clusters with workers and queue depth (as fleet_status).",
    mimeType: "application/json",
  }, async (uri: URL) => json(uri, await fleetStatus(api)));

  mcp.registerResource(
    "node",
    new ResourceTemplate("fleet://nodes/{id}", {
      list: async () => ({
        resources: (await api.fleet()).nodes.map((n) => ({
          uri: `fleet://nodes/${encodeURIComponent(n.id)}`,
          name: n.id,
          title: n.name,
          description: `${n.status}${n.cluster ? `, cluster ${n.cluster}` : ""}`,
          mimeType: "application/json",
        })),
      }),
    }),
    {
      title: "Node",
      description: "One node's summary: status, cluster, agent, last sample.",
      mimeType: "application/json",
    },
    async (uri: URL, { id }: Variables) =>
      json(uri, await api.node(decodeURIComponent(String(id)))),
  );

  mcp.registerResource(
    "job-log",
    new ResourceTemplate("fleet://jobs/{id}/log", {
      list: async () => ({
        resources: (await api.jobs({ limit: RECENT_JOBS })).jobs.map((j) => ({
          uri: `fleet://jobs/${j.id}/log`,
          name: `job ${j.id} log`,
          description: `${j.template ?? j.executor} job, ${j.state}`,
          mimeType: "text/plain",
        })),
      }),
    }),
    {
      title: "Job log",
      description: "The tail of a job's output, as its worker last reported it.",
      mimeType: "text/plain",
    },
    async (uri: URL, { id }: Variables) => {
      const job = await api.job(String(id));
      return { contents: [{ uri: uri.href, mimeType: "text/plain", text: job.log_tail ?? "" }] };
    },
  );

  mcp.registerPrompt("triage_fleet", {
    title: "Triage the fleet",
    description: "Offline nodes, hot nodes, full disks and failing jobs, gathered into one brief.",
    argsSchema: {
      temp_c: NumberArg("a node is hot above this temperature in °C (default 80)"),
      disk_pct: NumberArg("a disk is full above this use in percent (default 90)"),
    },
  }, async ({ temp_c, disk_pct }: { temp_c?: string; disk_pct?: string }) => {
    const maxTemp = temp_c === undefined ? 80 : Number(temp_c);
    const maxDisk = disk_pct === undefined ? 90 : Number(disk_pct);
    const [fleet, failed] = await Promise.all([
      api.fleet(),
      api.jobs({ state: "failed", limit: RECENT_JOBS }),
    ]);
    const offline = fleet.nodes.filter((n) => n.status !== "online");
    const hot = fleet.nodes.flatMap((n) => {
      const t = hottest(n);
      return t && t.c > maxTemp ? [`${n.id} ${round(t.c)} °C (${t.name})`] : [];
    });
    const full = fleet.nodes.flatMap((n) => {
      const d = fullest(n);
      return d && d.pct > maxDisk ? [`${n.id} ${round(d.pct)} % on ${d.mount}`] : [];
    });
    const list = (items: string[]) =>
      items.length ? items.map((i) => `- ${i}`).join("\n") : "- none";
    return brief([
      `Triage this fleet of ${fleet.nodes.length} nodes (${
        countText(count(fleet.nodes, (n) => n.status))
      }) and say what to fix first and how, using the fleet_* tools to look closer.`,
      "",
      `Not online (${offline.length}):`,
      list(offline.map((n) =>
        `${n.id} ${n.status}` +
        (n.last_seen ? `, last seen ${new Date(n.last_seen).toISOString()}` : ", never seen")
      )),
      `Hot, above ${maxTemp} °C (${hot.length}):`,
      list(hot),
      `Disk above ${maxDisk} % (${full.length}):`,
      list(full),
      `Failed jobs, newest first (${failed.jobs.length}):`,
      list(
        failed.jobs.map((j) =>
          `job ${j.id} ${j.template ?? j.executor}` + (j.claimed_by ? ` on ${j.claimed_by}` : "") +
          `, attempt ${j.attempts} of ${j.max_attempts}: ${j.error ?? "no error given"}`
        ),
      ),
    ].join("\n"));
  });

  mcp.registerPrompt("diagnose_node", {
    title: "Diagnose a node",
    description: "One node's summary, its last hour of metrics, recent jobs and containers.",
    argsSchema: { node: z.string().min(1).max(64).describe("node id (see fleet_node_list)") },
  }, async ({ node }: { node: string }) => {
    const n = await api.node(node);
    // Each part may be missing (no history yet, no Docker on the node): the brief says so.
    const [metrics, jobs, containers] = await Promise.all([
      api.metrics(node, { from: "-1h", to: "now" }).catch((e: Error) => e),
      api.jobs({ node, limit: 10 }).catch((e: Error) => e),
      api.containers(node).catch((e: Error) => e),
    ]);
    const averages = metrics instanceof Error
      ? [`- unavailable: ${metrics.message}`]
      : Object.entries(metrics.series).flatMap(([name, s]) => {
        const v = s.avg.filter((x): x is number => x !== null);
        return v.length
          ? [
            `- ${name}: avg ${round(v.reduce((a, b) => a + b, 0) / v.length)}, max ${
              round(Math.max(...(s.max.filter((x) => x !== null) as number[])))
            }`,
          ]
          : [];
      });
    const t = hottest(n);
    const d = fullest(n);
    return brief([
      `Diagnose node ${n.id} (${n.name}): is it healthy, and if not, why and what to do? ` +
      "Use the fleet_* tools to look closer.",
      "",
      `Status ${n.status}` + (n.cluster ? `, cluster ${n.cluster}` : "") +
      (n.type ? `, type ${n.type}` : "") + (n.arch ? `, ${n.arch}` : "") +
      `, agent ${n.agent_version ?? "unknown"}` +
      (n.last_seen ? `, last seen ${new Date(n.last_seen).toISOString()}` : ", never seen") +
      (n.control ? ", control connected" : ", control not connected"),
      `Now: cpu ${n.last_sample?.cpu?.pct ?? "?"} %, memory ${n.last_sample?.mem?.pct ?? "?"} %` +
      (t ? `, hottest ${t.name} ${round(t.c)} °C` : "") +
      (d ? `, fullest disk ${d.mount} ${round(d.pct)} %` : ""),
      "",
      "Last hour, averages of the buckets with data:",
      ...(averages.length ? averages : ["- no samples in the last hour"]),
      "",
      "Recent jobs on it:",
      ...(jobs instanceof Error
        ? [`- unavailable: ${jobs.message}`]
        : jobs.jobs.length
        ? jobs.jobs.map((j) =>
          `- job ${j.id} ${j.template ?? j.executor} ${j.state}` +
          (j.exit_code !== null ? ` (exit ${j.exit_code})` : "") + (j.error ? `: ${j.error}` : "")
        )
        : ["- none"]),
      "",
      "Containers:",
      ...(containers instanceof Error
        ? [`- not available: ${containers.message}`]
        : containers.length
        ? containers.map((c) => `- ${c.name} (${c.image}) ${c.state}: ${c.status}`)
        : ["- none"]),
    ].join("\n"));
  });
}
