/**
 * Link quality for AI assistants: `fleet_link_quality` lists every node's link to the hub worst
 * first (round trip, ping loss, the agent's own probe, rx/tx), or one node's link with its last
 * hour by minute. Read-only.
 *
 * @module
 */
import { z } from "zod";
import type { ApiClient } from "../../shared/api_client.ts";
import type { NodeLink } from "../../shared/protocol/mod.ts";
import type { AddTool } from "./server.ts";

function line(l: NodeLink): string {
  if (!l.connected) return `${l.node_id}: control channel down`;
  const ms = (v: number | null) => v === null ? "—" : `${Math.round(v * 10) / 10} ms`;
  const pct = (v: number | null) => v === null ? "—" : `${Math.round(v)} %`;
  return `${l.node_id}: RTT ${ms(l.rtt_avg_ms ?? l.rtt_ms)}, loss ${pct(l.loss_pct)}, ` +
    `agent→hub ${ms(l.probe_rtt_ms)} / ${pct(l.probe_loss_pct)} lost`;
}

/** Adds fleet_link_quality. */
export function registerLinkTools(add: AddTool, api: ApiClient): void {
  add({
    name: "fleet_link_quality",
    title: "Link quality hub ↔ nodes",
    description: "Every node's link to the hub, worst first: control-channel round trip (last " +
      "and mean), ping loss (pings not answered within the ping timeout), the agent's own probe " +
      "of the hub and rx/tx rates. With `node`: that node only, plus its last hour by minute.",
    input: {
      node: z.string().min(1).max(64).optional().describe("only this node (fleet_node_list)"),
      limit: z.number().int().min(1).max(1000).default(50).describe("most links listed"),
    },
    output: {
      ping_ms: z.number(),
      ping_timeout_ms: z.number(),
      links: z.array(z.looseObject({ node_id: z.string(), connected: z.boolean() })),
      history: z.array(z.looseObject({ ts: z.number() })).optional(),
    },
    readOnly: true,
    run: async ({ node, limit }) => {
      const list = await api.links();
      let links = list.links;
      let history;
      if (node) {
        links = links.filter((l) => l.node_id === node);
        history = (await api.linkHistory(node)).points;
      }
      links = links.slice(0, limit);
      const head = node
        ? `${node}`
        : `${list.links.length} links, worst first (ping every ${list.ping_ms} ms, lost after ` +
          `${list.ping_timeout_ms} ms)`;
      return {
        summary: `${head}: ${links.slice(0, 20).map(line).join("; ") || "no data"}`,
        data: {
          ping_ms: list.ping_ms,
          ping_timeout_ms: list.ping_timeout_ms,
          links,
          ...(history ? { history } : {}),
        },
      };
    },
  });
}
