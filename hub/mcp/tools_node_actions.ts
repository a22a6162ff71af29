/**
 * MCP tools for node actions: `fleet_node_cleanup` (a dry run unless `run: true` with the dry
 * run's `plan_id`), `fleet_node_recover` and `fleet_node_restart_agent`. They call the hub's
 * audited routes, so each call is an audit entry (`via: mcp`).
 *
 * @module
 */
import { z } from "zod";
import type { ApiClient } from "../../shared/api_client.ts";
import type { AddTool } from "./server.ts";

const NodeRef = z.string().min(1).max(64).describe("node id, e.g. agx-01 (see fleet_node_list)");

/** Registers the node action tools (write tools: an admin token only). */
export function registerNodeActionTools(add: AddTool, api: ApiClient): void {
  add({
    name: "fleet_node_cleanup",
    title: "Clean up a node",
    description: "Frees a node for its next workload. Without run=true it is a dry run: the " +
      "plan (containers, images, volumes, journal, job temp dirs, rotated logs, old /tmp " +
      "files, as the node's agent.yml enables) and nothing changes. Show the plan to the user; " +
      "to carry it out call again with run=true and the dry run's plan_id (refused if the plan " +
      "changed since). Refused while a job runs unless force=true.",
    input: {
      node: NodeRef,
      run: z.boolean().optional().describe("carry the plan out (default: dry run only)"),
      plan_id: z.string().regex(/^[0-9a-f]{16}$/).optional().describe(
        "the dry run's plan_id: the run refuses a plan that changed since",
      ),
      force: z.boolean().optional().describe("also while a job container runs (it is stopped)"),
    },
    output: {
      node_id: z.string(),
      dry_run: z.boolean(),
      plan_id: z.string(),
      steps: z.array(z.object({ kind: z.string(), detail: z.string(), bytes: z.number() })),
      omitted: z.number(),
      skipped: z.array(z.string()),
      bytes: z.number(),
      failed: z.array(z.object({ kind: z.string(), detail: z.string(), error: z.string() })),
    },
    readOnly: false,
    destructive: true,
    run: async ({ node, run, plan_id, force }) => {
      const r = await api.nodeCleanup(node, {
        dry_run: !run,
        force: force ?? false,
        ...(plan_id ? { plan_id } : {}),
      });
      const total = r.actions.length + r.omitted;
      const mb = Math.round(r.bytes / 1_048_576);
      return {
        summary: r.dry_run
          ? `${node}: dry run, ${total} steps, about ${mb} MB to free (plan_id ${r.plan_id}); ` +
            "nothing changed"
          : `${node}: cleanup ran ${total} steps, freed about ${mb} MB` +
            (r.failed.length ? `, ${r.failed.length} failed` : ""),
        data: {
          node_id: r.node_id,
          dry_run: r.dry_run,
          plan_id: r.plan_id,
          steps: r.actions.map((a) => ({ kind: a.kind, detail: a.detail, bytes: a.bytes })),
          omitted: r.omitted,
          skipped: r.skipped,
          bytes: r.bytes,
          failed: r.failed,
        },
      };
    },
  });

  add({
    name: "fleet_node_recover",
    title: "Run a node's boot recovery now",
    description: "Runs the node's recovery steps now (hub reachable, Docker, swarm membership, " +
      "essential containers), each with a few bounded tries, and returns each step's outcome.",
    input: { node: NodeRef },
    output: {
      node_id: z.string(),
      ok: z.boolean(),
      steps: z.array(z.object({ step: z.string(), ok: z.boolean(), detail: z.string() })),
    },
    readOnly: false,
    idempotent: true,
    run: async ({ node }) => {
      const r = await api.nodeRecover(node);
      const failed = r.steps.filter((s) => !s.ok).map((s) => s.step);
      return {
        summary: r.ok
          ? `${node}: recovery ok (${r.steps.length} steps)`
          : `${node}: recovery failed at ${failed.join(", ")}`,
        data: r,
      };
    },
  });

  add({
    name: "fleet_node_restart_agent",
    title: "Restart a node's agent",
    description: "Restarts the fleet agent on a node: under systemd it exits and its unit " +
      "starts it again, otherwise it restarts in place. Its terminals and exec runs end; it " +
      "reconnects within seconds.",
    input: { node: NodeRef },
    output: { node_id: z.string(), how: z.string() },
    readOnly: false,
    destructive: true,
    run: async ({ node }) => {
      const r = await api.nodeRestart(node);
      return {
        summary: `${node}: the agent ${
          r.how === "systemd" ? "exits; systemd starts it again" : "restarts in place"
        }`,
        data: r,
      };
    },
  });
}
