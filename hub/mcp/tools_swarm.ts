/**
 * MCP tools for Docker Swarm: services (catalog and live), builds, stacks, swarm nodes, the
 * registry and cluster health, each through the hub's `/api/v1/swarm/` routes (so each change is
 * audited, marked via MCP). Annotations are truthful: a tool that can stop or replace running
 * tasks is destructive.
 *
 * @module
 */
import { z } from "zod";
import type { ApiClient } from "../../shared/api_client.ts";
import type {
  SwarmBuildRun,
  SwarmDefinitionInput,
  SwarmService,
} from "../../shared/protocol/mod.ts";
import type { AddTool } from "./server.ts";

const ServiceRef = z.string().min(1).max(128).describe(
  "service name (see fleet_service_list)",
);
const NodeRef = z.string().min(1).max(128).describe(
  "swarm node id or hostname (see fleet_swarm_node_list)",
);
const loose = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);
const ServiceRow = z.object({
  name: z.string(),
  image: z.string(),
  mode: z.string(),
  replicas_running: z.number(),
  replicas_desired: z.number().nullable(),
  tasks_complete: z.number(),
  tasks_failed: z.number(),
  stack: z.string().nullable(),
  in_catalog: z.boolean(),
  drift: z.boolean().nullable(),
});
const ActionResult = loose({ name: z.string(), action: z.string(), ok: z.boolean() });
const BUILD_ENDED = new Set(["succeeded", "failed", "cancelled"]);

function serviceRow(s: SwarmService): z.infer<typeof ServiceRow> {
  return {
    name: s.name,
    image: s.image,
    mode: s.mode,
    replicas_running: s.replicas_running,
    replicas_desired: s.replicas_desired,
    tasks_complete: s.tasks_complete,
    tasks_failed: s.tasks_failed,
    stack: s.stack,
    in_catalog: s.catalog !== null,
    drift: s.drift,
  };
}

function replicasText(s: { replicas_running: number; replicas_desired: number | null }): string {
  return `${s.replicas_running}/${s.replicas_desired ?? "global"}`;
}

/** Registers the swarm tools. */
export function registerSwarmTools(add: AddTool, api: ApiClient): void {
  add({
    name: "fleet_service_list",
    title: "List swarm services",
    description: "Services running in the swarm (replicas running/desired, complete and failed " +
      "tasks, stack, drift from the catalog) and catalog definitions not deployed.",
    input: {},
    output: {
      services: z.array(ServiceRow),
      not_deployed: z.array(z.object({ name: z.string(), version: z.number(), image: z.string() })),
    },
    readOnly: true,
    run: async () => {
      const [services, catalog] = await Promise.all([api.swarmServices(), api.swarmCatalog()]);
      const live = new Set(services.map((s) => s.name));
      const notDeployed = catalog.filter((e) => !live.has(e.name)).map((e) => ({
        name: e.name,
        version: e.version,
        image: e.definition.image,
      }));
      return {
        summary: services.map((s) => `${s.name} ${replicasText(s)}`).join(", ") ||
          "no services run in the swarm" +
            (notDeployed.length
              ? `; not deployed: ${notDeployed.map((e) => e.name).join(", ")}`
              : ""),
        data: { services: services.map(serviceRow), not_deployed: notDeployed },
      };
    },
  });

  add({
    name: "fleet_service_get",
    title: "Get a swarm service",
    description: "One service: its tasks (phase running / complete = stopped / failed with its " +
      "error), its catalog definition and the drift of the live service from it.",
    input: { name: ServiceRef },
    output: {
      live: loose({ name: z.string() }).nullable(),
      definition: loose({ name: z.string() }).nullable(),
      version: z.number().nullable(),
      drift: z.array(z.object({ field: z.string(), catalog: z.unknown(), live: z.unknown() })),
    },
    readOnly: true,
    run: async ({ name }) => {
      const live = await api.swarmService(name).catch((e) => {
        if ((e as { status?: number }).status === 404) return null;
        throw e;
      });
      const entry = await api.swarmCatalogEntry(name).catch((e) => {
        if ((e as { status?: number }).status === 404) return null;
        throw e;
      });
      if (!live && !entry) throw new Error(`no service ${name} in the swarm or the catalog`);
      const diff = entry ? await api.swarmCatalogDiff(name) : null;
      const failed = live?.tasks.filter((t) => t.phase === "failed") ?? [];
      return {
        summary: (live ? `${name} ${replicasText(live)}` : `${name} not deployed`) +
          (failed.length ? `; ${failed.length} failed tasks (${failed[0].error})` : "") +
          (diff?.drift ? `; drift in ${diff.fields.map((f) => f.field).join(", ")}` : ""),
        data: {
          live: live as unknown as { name: string } | null,
          definition: entry ? entry.definition : null,
          version: entry?.version ?? null,
          drift: diff?.fields ?? [],
        },
      };
    },
  });

  add({
    name: "fleet_service_create",
    title: "Create (deploy) a swarm service",
    description: "Registers a service in the catalog and deploys it: either name and image " +
      "(optional replicas, ports like '8080:80'), or a whole definition (env, constraints, " +
      "mounts, resources, restart_policy, …). An existing service of that name is updated to it " +
      "(its tasks are replaced when the spec changed). Audited.",
    input: {
      name: z.string().min(1).max(63).optional().describe("service name (with image)"),
      image: z.string().min(1).max(512).optional().describe(
        "image, e.g. 192.168.1.100:5000/app:1 (use the registry's address)",
      ),
      replicas: z.number().int().min(0).max(1000).optional(),
      ports: z.array(z.string().max(32)).max(64).optional().describe("'published:target'"),
      definition: z.record(z.string(), z.unknown()).optional().describe(
        "a full definition (name, image, replicas, ports, env, constraints, labels, networks, " +
          "mounts, resources, restart_policy, update_config)",
      ),
    },
    output: { result: ActionResult },
    readOnly: false,
    destructive: true,
    idempotent: true,
    run: async ({ name, image, replicas, ports, definition }) => {
      let def: SwarmDefinitionInput;
      if (definition) {
        def = definition as unknown as SwarmDefinitionInput;
      } else {
        if (!name || !image) throw new Error("give name and image, or a definition");
        def = {
          name,
          image,
          ...(replicas !== undefined ? { replicas } : {}),
          ...(ports ? { ports } : {}),
        };
      }
      const r = await api.swarmDeploy({ definition: def });
      return {
        summary: `${r.name} deployed (catalog version ${r.version})` +
          (r.warnings.length ? `; warnings: ${r.warnings.join("; ")}` : ""),
        data: { result: r },
      };
    },
  });

  add({
    name: "fleet_service_scale",
    title: "Scale a swarm service",
    description: "Sets a replicated service's replica count (0 stops every task). Audited.",
    input: { name: ServiceRef, replicas: z.number().int().min(0).max(1000) },
    output: { result: ActionResult },
    readOnly: false,
    destructive: true,
    idempotent: true,
    run: async ({ name, replicas }) => {
      const r = await api.swarmScale(name, replicas);
      return { summary: `${name} scaled to ${replicas}`, data: { result: r } };
    },
  });

  add({
    name: "fleet_service_update",
    title: "Rolling update of a swarm service",
    description: "Rolls a service to a new image and/or update policy (parallelism, delay, " +
      "failure action); force recreates tasks even if nothing changed (a new push of :latest). " +
      "Tasks are replaced. Audited.",
    input: {
      name: ServiceRef,
      image: z.string().min(1).max(512).optional(),
      parallelism: z.number().int().min(0).max(1000).optional(),
      delay_s: z.number().min(0).max(86_400).optional(),
      failure_action: z.enum(["pause", "continue", "rollback"]).optional(),
      force: z.boolean().optional(),
    },
    output: { result: ActionResult },
    readOnly: false,
    destructive: true,
    run: async ({ name, ...u }) => {
      const r = await api.swarmUpdate(name, u);
      return {
        summary: `${name} updating${u.image ? ` to ${u.image}` : ""}`,
        data: { result: r },
      };
    },
  });

  add({
    name: "fleet_service_stop",
    title: "Stop a swarm service",
    description: "Removes the service from the swarm (its tasks stop); its catalog definition " +
      "stays, so fleet_service_create or a deploy brings it back. Audited.",
    input: { name: ServiceRef },
    output: { result: ActionResult },
    readOnly: false,
    destructive: true,
    run: async ({ name }) => {
      const r = await api.swarmStop(name);
      return { summary: `${name} removed from the swarm`, data: { result: r } };
    },
  });

  add({
    name: "fleet_service_logs",
    title: "Swarm service logs",
    description: "The last lines a service's tasks wrote (stdout and stderr, with timestamps).",
    input: {
      name: ServiceRef,
      tail: z.number().int().min(1).max(10_000).optional().describe("lines (default 100)"),
    },
    output: {
      lines: z.array(z.object({ stream: z.string(), ts: z.string().nullable(), line: z.string() })),
    },
    readOnly: true,
    run: async ({ name, tail }) => {
      const r = await api.swarmServiceLogs(name, tail ?? 100);
      return {
        summary: r.lines.map((l) => l.line).join("\n") || `${name} wrote nothing`,
        data: { lines: r.lines },
      };
    },
  });

  add({
    name: "fleet_service_build",
    title: "Build and push a service image",
    description: "Builds the image of a catalog definition from its build_context (a folder of " +
      "the hub's projects directory), tags it for the registry, pushes it and points the " +
      "definition at it. Waits up to wait_s for the end (progress per step). Audited.",
    input: {
      name: ServiceRef,
      tag: z.string().max(128).optional().describe("image tag (default: the definition's)"),
      push: z.boolean().optional().describe("push to the registry (default: when configured)"),
      platform: z.string().max(64).optional().describe("e.g. linux/arm64 for Jetson nodes"),
      network: z.enum(["default", "host", "none"]).optional()
        .describe("network of RUN steps (default: the engine's bridge)"),
      wait_s: z.number().int().min(0).max(3600).optional().describe("default 600"),
    },
    output: {
      build: loose({ id: z.string(), state: z.string(), image: z.string() }),
      output_tail: z.string(),
    },
    readOnly: false,
    destructive: false,
    run: async ({ name, tag, push, platform, network, wait_s }, ctx) => {
      let run: SwarmBuildRun = await api.swarmBuild(name, { tag, push, platform, network });
      const deadline = Date.now() + (wait_s ?? 600) * 1000;
      let step = run.step;
      await ctx.progress(0, undefined, `build ${run.id}: ${step}`);
      let n = 0;
      while (!BUILD_ENDED.has(run.state) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, deadline - Date.now()))));
        run = await api.swarmBuildRun(run.id);
        if (run.step !== step) {
          step = run.step;
          await ctx.progress(++n, undefined, `build ${run.id}: ${step}`);
        }
      }
      const full = await api.swarmBuildRun(run.id);
      const { output, ...rest } = full;
      return {
        summary: `build ${full.id} of ${full.image}: ${full.state}` +
          (full.error ? `: ${full.error}` : "") + (full.digest ? ` (${full.digest})` : ""),
        data: { build: rest, output_tail: (output ?? "").slice(-4000) },
      };
    },
  });

  add({
    name: "fleet_service_build_cancel",
    title: "Cancel a running build",
    description: "Stops a running build (fleet_service_build gives its id; a build that already " +
      "ended is refused). The engine stops the build and removes its containers. Audited.",
    input: { id: z.uuid().describe("the build's id") },
    output: { build: loose({ id: z.string(), state: z.string(), image: z.string() }) },
    readOnly: false,
    destructive: true,
    run: async ({ id }) => {
      const run = await api.swarmBuildCancel(id);
      return {
        summary: `build ${run.id} of ${run.image}: ${run.state}` +
          (run.error ? `: ${run.error}` : ""),
        data: { build: run },
      };
    },
  });

  add({
    name: "fleet_stack_deploy",
    title: "Deploy a stack",
    description: "docker stack deploy of a compose file (images only: a service with build: is " +
      "refused, swarm ignores it). Updates the stack's services when it exists. Audited.",
    input: {
      name: z.string().min(1).max(63).describe("stack name, lowercase"),
      compose: z.string().min(1).max(262_144).describe("the compose file's YAML"),
    },
    output: { name: z.string(), output: z.string() },
    readOnly: false,
    destructive: true,
    idempotent: true,
    run: async ({ name, compose }) => {
      const r = await api.swarmStackDeploy({ name, compose });
      return { summary: `stack ${name} deployed: ${r.output}`, data: { name, output: r.output } };
    },
  });

  add({
    name: "fleet_stack_list",
    title: "List stacks",
    description: "Stacks in the swarm with their service count and replicas running/desired.",
    input: {},
    output: { stacks: z.array(loose({ name: z.string(), services: z.number() })) },
    readOnly: true,
    run: async () => {
      const stacks = await api.swarmStacks();
      return {
        summary: stacks.map((s) =>
          `${s.name}: ${s.services} services, ${s.replicas_running}/${s.replicas_desired}`
        ).join("; ") || "no stacks",
        data: { stacks },
      };
    },
  });

  add({
    name: "fleet_stack_remove",
    title: "Remove a stack",
    description: "docker stack rm: removes every service (and network) of the stack. Audited.",
    input: { name: z.string().min(1).max(63) },
    output: { name: z.string(), output: z.string() },
    readOnly: false,
    destructive: true,
    run: async ({ name }) => {
      const r = await api.swarmStackRemove(name);
      return { summary: `stack ${name} removed`, data: { name, output: r.output } };
    },
  });

  add({
    name: "fleet_swarm_node_list",
    title: "List swarm nodes",
    description: "Swarm nodes with role, availability, state, engine version, labels and the " +
      "fleet node of the same host.",
    input: {},
    output: {
      nodes: z.array(loose({
        id: z.string(),
        hostname: z.string(),
        role: z.string(),
        availability: z.string(),
        state: z.string(),
      })),
    },
    readOnly: true,
    run: async () => {
      const nodes = await api.swarmNodes();
      return {
        summary: nodes.map((n) => `${n.hostname} ${n.role} ${n.availability} ${n.state}`)
          .join("; "),
        data: { nodes },
      };
    },
  });

  add({
    name: "fleet_swarm_node_drain",
    title: "Drain a swarm node",
    description: "Sets the node's availability to drain: its tasks stop and move to other " +
      "nodes. Audited.",
    input: { node: NodeRef },
    output: { node: loose({ id: z.string(), availability: z.string() }) },
    readOnly: false,
    destructive: true,
    idempotent: true,
    run: async ({ node }) => {
      const n = await api.swarmNodeAction(node, "drain");
      return { summary: `${n.hostname} drained`, data: { node: n } };
    },
  });

  add({
    name: "fleet_swarm_node_activate",
    title: "Activate a swarm node",
    description: "Sets the node's availability to active: it takes tasks again. Audited.",
    input: { node: NodeRef },
    output: { node: loose({ id: z.string(), availability: z.string() }) },
    readOnly: false,
    destructive: false,
    idempotent: true,
    run: async ({ node }) => {
      const n = await api.swarmNodeAction(node, "activate");
      return { summary: `${n.hostname} active`, data: { node: n } };
    },
  });

  add({
    name: "fleet_registry_images",
    title: "Registry images",
    description: "Repositories of the swarm's registry with their tags, size and architectures.",
    input: {
      repository: z.string().max(255).optional().describe("only this repository"),
    },
    output: {
      registry: z.string().nullable(),
      repositories: z.array(z.object({
        name: z.string(),
        tags: z.array(z.object({
          tag: z.string(),
          size_b: z.number(),
          architectures: z.array(z.string()),
          digest: z.string(),
        })),
      })),
    },
    readOnly: true,
    run: async ({ repository }) => {
      const cat = await api.registryCatalog();
      const names = cat.repositories.map((r) => r.name)
        .filter((n) => repository === undefined || n === repository).slice(0, 50);
      const repositories = await Promise.all(names.map(async (name) => ({
        name,
        tags: (await api.registryTags(name)).tags.map((t) => ({
          tag: t.tag,
          size_b: t.size_b,
          architectures: t.architectures,
          digest: t.digest,
        })),
      })));
      return {
        summary: repositories.map((r) => `${r.name}: ${r.tags.map((t) => t.tag).join(", ")}`)
          .join("; ") || "the registry is empty",
        data: { registry: cat.registry, repositories },
      };
    },
  });

  add({
    name: "fleet_swarm_health",
    title: "Swarm health",
    description: "The cluster in one answer: managers reachable, nodes ready/down/drained, " +
      "services not converged (with their newest task error).",
    input: {},
    output: {
      ok: z.boolean(),
      problems: z.array(z.string()),
      managers: z.object({ total: z.number(), reachable: z.number() }),
      nodes: loose({ total: z.number(), ready: z.number() }),
      services: loose({ total: z.number(), converged: z.number() }),
    },
    readOnly: true,
    run: async () => {
      const h = await api.swarmHealth();
      return {
        summary: h.ok
          ? `swarm healthy: ${h.nodes.ready}/${h.nodes.total} nodes ready, ` +
            `${h.services.total} services converged`
          : `swarm has problems: ${h.problems.join("; ")}`,
        data: {
          ok: h.ok,
          problems: h.problems,
          managers: h.managers,
          nodes: h.nodes,
          services: h.services,
        },
      };
    },
  });
}
