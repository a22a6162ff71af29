/**
 * Live swarm services: the list with replicas and task counts, one service with its tasks,
 * deploy from the catalog, scale, rolling update, restart, stop (remove from the swarm; the
 * definition stays) and drift against the catalog. Logs are in `logs.ts`.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import { Conflict, NotFound } from "../core/errors.ts";
import type { ServiceInfo, TaskInfo } from "../../shared/docker_api.ts";
import type {
  SwarmDefinition,
  SwarmDiff,
  SwarmService,
  SwarmServiceActionResult,
  SwarmServiceDetail,
  SwarmTask,
  SwarmTaskPhase,
  SwarmUpdate,
} from "../../shared/protocol/mod.ts";
import { listNodeRows } from "../fleet/store.ts";
import type { SwarmEngine } from "./engine.ts";
import type { SwarmCatalog } from "./catalog.ts";
import { definitionView, diffViews, liveView, toServiceSpec, updateConfig } from "./definition.ts";

/** The UI's phase of a task's Docker state. */
export function taskPhase(state: string): SwarmTaskPhase {
  switch (state) {
    case "running":
      return "running";
    case "complete":
      return "complete";
    case "failed":
    case "rejected":
      return "failed";
    case "shutdown":
    case "remove":
    case "orphaned":
      return "shutdown";
    default:
      return "pending";
  }
}

const ms = (iso: string | undefined) => (iso ? Date.parse(iso) || 0 : 0);

/** Live service operations. */
export class SwarmServices {
  #engine: SwarmEngine;
  #db: Database;
  #catalog: SwarmCatalog;

  constructor(o: {
    engine: SwarmEngine;
    db: Database;
    catalog: SwarmCatalog;
  }) {
    this.#engine = o.engine;
    this.#db = o.db;
    this.#catalog = o.catalog;
  }

  /** Raw services (with running/desired counts). */
  async raw(): Promise<ServiceInfo[]> {
    return await this.#engine.json<ServiceInfo[]>("GET", "/services", { query: { status: true } });
  }

  /** Raw tasks, optionally of one service. */
  async rawTasks(serviceId?: string): Promise<TaskInfo[]> {
    return await this.#engine.json<TaskInfo[]>("GET", "/tasks", {
      query: serviceId ? { filters: { service: [serviceId] } } : {},
    });
  }

  /** A service by name or id. @throws {NotFound} */
  async inspect(name: string): Promise<ServiceInfo> {
    const gone = () =>
      new NotFound(
        `no service ${name} runs in the swarm: see GET /api/v1/swarm/services` +
          (this.#catalogHas(name) ? ` (it is in the catalog: deploy it)` : ""),
      );
    let s: ServiceInfo;
    try {
      s = await this.#engine.json<ServiceInfo>("GET", `/services/${encodeURIComponent(name)}`);
    } catch (error) {
      throw error instanceof NotFound ? gone() : error;
    }
    // The engine also matches an id prefix: "web" must not stop a service whose id starts so.
    if (s.Spec.Name !== name && s.ID !== name) throw gone();
    return s;
  }

  /** The service of exactly this name, or undefined. */
  async #byName(name: string): Promise<ServiceInfo | undefined> {
    try {
      return await this.inspect(name);
    } catch (error) {
      if (error instanceof NotFound) return undefined;
      throw error;
    }
  }

  /** Maps network ids to names (for drift of `networks`). */
  async #networkNames(): Promise<(id: string) => string> {
    const nets = await this.#engine.json<{ Id: string; Name: string }[]>("GET", "/networks");
    const names = new Map(nets.map((n) => [n.Id, n.Name]));
    return (id) => names.get(id) ?? id;
  }

  #catalogHas(name: string): boolean {
    try {
      this.#catalog.get(name);
      return true;
    } catch {
      return false;
    }
  }

  /** Swarm node id → hostname and the fleet node of that hostname. */
  async nodeNames(): Promise<Map<string, { hostname: string; fleet: string | null }>> {
    const nodes = await this.#engine.json<
      { ID: string; Description?: { Hostname?: string } }[]
    >("GET", "/nodes");
    const fleet = fleetMatcher(this.#db);
    return new Map(nodes.map((n) => {
      const hostname = n.Description?.Hostname ?? n.ID;
      return [n.ID, { hostname, fleet: fleet(hostname) }];
    }));
  }

  #summary(
    s: ServiceInfo,
    tasks: TaskInfo[],
    catalog: Map<string, SwarmDefinition>,
    netName: ((id: string) => string) | undefined,
  ): SwarmService {
    const spec = s.Spec;
    const mode = spec.Mode?.Global
      ? "global"
      : spec.Mode?.ReplicatedJob
      ? "replicated-job"
      : spec.Mode?.GlobalJob
      ? "global-job"
      : "replicated";
    const mine = tasks.filter((t) => t.ServiceID === s.ID);
    const running = s.ServiceStatus?.RunningTasks ??
      mine.filter((t) => t.Status.State === "running").length;
    const def = catalog.get(spec.Name);
    const drift = def && netName
      ? diffViews(definitionView(def), liveView(spec, netName)).length > 0
      : null;
    return {
      id: s.ID,
      name: spec.Name,
      image: spec.TaskTemplate.ContainerSpec.Image,
      mode,
      replicas_desired: mode === "replicated"
        ? spec.Mode?.Replicated?.Replicas ?? 1
        : s.ServiceStatus?.DesiredTasks ?? null,
      replicas_running: running,
      tasks_complete: mine.filter((t) => t.Status.State === "complete").length,
      tasks_failed: mine.filter((t) => taskPhase(t.Status.State) === "failed").length,
      stack: spec.Labels?.["com.docker.stack.namespace"] ?? null,
      catalog: def ? spec.Name : null,
      drift,
      ports: (s.Endpoint?.Ports ?? spec.EndpointSpec?.Ports ?? []).map((p) => ({
        published: p.PublishedPort ?? null,
        target: p.TargetPort,
        protocol: p.Protocol ?? "tcp",
        mode: p.PublishMode ?? "ingress",
      })),
      labels: { ...(spec.Labels ?? {}) },
      update_state: s.UpdateStatus?.State ?? null,
      update_message: s.UpdateStatus?.Message ?? null,
      created_at: ms(s.CreatedAt),
      updated_at: ms(s.UpdatedAt),
      spec_version: s.Version.Index,
    };
  }

  #catalogDefs(): Map<string, SwarmDefinition> {
    return new Map(this.#catalog.list().map((e) => [e.name, e.definition]));
  }

  /** Every live service, by name. */
  async list(): Promise<SwarmService[]> {
    const [services, tasks] = await Promise.all([this.raw(), this.rawTasks()]);
    const catalog = this.#catalogDefs();
    const needNets = services.some((s) => catalog.has(s.Spec.Name));
    const netName = needNets ? await this.#networkNames() : undefined;
    return services.map((s) => this.#summary(s, tasks, catalog, netName))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The task as the API shows it. */
  task(t: TaskInfo, name: string, nodes: Map<string, { hostname: string; fleet: string | null }>) {
    const node = t.NodeID ? nodes.get(t.NodeID) : undefined;
    const exit = t.Status.ContainerStatus?.ExitCode;
    const phase = taskPhase(t.Status.State);
    const out: SwarmTask = {
      id: t.ID,
      service_id: t.ServiceID,
      service_name: name,
      slot: t.Slot ?? null,
      node_id: t.NodeID ?? null,
      node_hostname: node?.hostname ?? null,
      fleet_node_id: node?.fleet ?? null,
      state: t.Status.State,
      desired_state: t.DesiredState,
      phase,
      // The engine reports 0 for tasks that never ran: only a finished task has an exit code.
      exit_code: exit !== undefined && ["complete", "failed", "shutdown"].includes(t.Status.State)
        ? exit
        : null,
      error: t.Status.Err || null,
      message: t.Status.Message ?? "",
      image: t.Spec?.ContainerSpec?.Image ?? "",
      created_at: ms(t.CreatedAt),
      updated_at: ms(t.Status.Timestamp ?? t.UpdatedAt),
    };
    return out;
  }

  /** One service with its tasks, newest first. */
  async detail(name: string): Promise<SwarmServiceDetail> {
    const s = await this.inspect(name);
    const [tasks, nodes] = await Promise.all([this.rawTasks(s.ID), this.nodeNames()]);
    // `status=true` only exists on the list: read the counts from it.
    const listed = (await this.raw()).find((x) => x.ID === s.ID) ?? s;
    const catalog = this.#catalogDefs();
    const netName = catalog.has(s.Spec.Name) ? await this.#networkNames() : undefined;
    return {
      ...this.#summary(listed, tasks, catalog, netName),
      tasks: tasks.map((t) => this.task(t, s.Spec.Name, nodes))
        .sort((a, b) => b.created_at - a.created_at || (a.slot ?? 0) - (b.slot ?? 0)),
    };
  }

  /** The live service against a catalog version (default newest). */
  async diff(name: string, version?: number): Promise<SwarmDiff> {
    const v = this.#catalog.version(name, version);
    const live = await this.#byName(name);
    if (!live) return { name, version: v.version, deployed: false, drift: false, fields: [] };
    const fields = diffViews(
      definitionView(v.definition),
      liveView(live.Spec, await this.#networkNames()),
    );
    return { name, version: v.version, deployed: true, drift: fields.length > 0, fields };
  }

  /** Creates or updates the live service from a catalog version (default newest). */
  async deploy(name: string, version?: number): Promise<SwarmServiceActionResult> {
    const v = this.#catalog.version(name, version);
    const spec = toServiceSpec(v.definition, v.version);
    const existing = await this.#byName(name);
    let id: string;
    let warnings: string[] | null | undefined;
    if (!existing) {
      const r = await this.#engine.json<{ ID: string; Warnings?: string[] | null }>(
        "POST",
        "/services/create",
        { body: spec, headers: { "x-registry-auth": REGISTRY_AUTH_NONE } },
      );
      id = r.ID;
      warnings = r.Warnings;
    } else {
      if (existing.Spec.Labels?.["com.docker.stack.namespace"]) {
        throw new Conflict(
          `${name} belongs to stack ${existing.Spec.Labels["com.docker.stack.namespace"]}: ` +
            "deploy the stack instead",
        );
      }
      // Keep the force counter: lowering it is not a restart, and a restart must stay possible.
      spec.TaskTemplate.ForceUpdate = existing.Spec.TaskTemplate.ForceUpdate ?? 0;
      const r = await this.#engine.json<{ Warnings?: string[] | null }>(
        "POST",
        `/services/${existing.ID}/update`,
        {
          query: { version: existing.Version.Index },
          body: spec,
          headers: { "x-registry-auth": REGISTRY_AUTH_NONE },
        },
      );
      id = existing.ID;
      warnings = r?.Warnings;
    }
    await this.#catalog.markDeployed(name, v.version);
    return {
      name,
      action: "deploy",
      ok: true,
      id,
      version: v.version,
      warnings: warnings ?? [],
    };
  }

  /** Reads, changes and writes back a live spec (with its version: a concurrent change fails). */
  async #update(
    name: string,
    action: string,
    change: (s: ServiceInfo) => void,
  ): Promise<SwarmServiceActionResult> {
    const s = await this.inspect(name);
    change(s);
    const r = await this.#engine.json<{ Warnings?: string[] | null }>(
      "POST",
      `/services/${s.ID}/update`,
      {
        query: { version: s.Version.Index },
        body: s.Spec,
        headers: { "x-registry-auth": REGISTRY_AUTH_NONE },
      },
    );
    return { name: s.Spec.Name, action, ok: true, id: s.ID, warnings: r?.Warnings ?? [] };
  }

  /** Sets the replica count. @throws {Conflict} for a global service. */
  scale(name: string, replicas: number): Promise<SwarmServiceActionResult> {
    return this.#update(name, "scale", (s) => {
      if (!s.Spec.Mode?.Replicated) {
        throw new Conflict(`${name} is not a replicated service: it cannot be scaled`);
      }
      s.Spec.Mode.Replicated.Replicas = replicas;
    });
  }

  /** A rolling update: new image and/or update policy; `force` recreates tasks. */
  update(name: string, u: SwarmUpdate): Promise<SwarmServiceActionResult> {
    return this.#update(name, "update", (s) => {
      if (u.image) s.Spec.TaskTemplate.ContainerSpec.Image = u.image;
      const policy = updateConfig(u);
      if (Object.keys(policy).length) {
        s.Spec.UpdateConfig = { ...(s.Spec.UpdateConfig ?? {}), ...policy };
      }
      if (u.force) s.Spec.TaskTemplate.ForceUpdate = (s.Spec.TaskTemplate.ForceUpdate ?? 0) + 1;
    });
  }

  /** Recreates every task (what `docker service update --force` does). */
  restart(name: string): Promise<SwarmServiceActionResult> {
    return this.#update(name, "restart", (s) => {
      s.Spec.TaskTemplate.ForceUpdate = (s.Spec.TaskTemplate.ForceUpdate ?? 0) + 1;
    });
  }

  /** Removes the service from the swarm; its catalog definition stays. */
  async stop(name: string): Promise<SwarmServiceActionResult> {
    const s = await this.inspect(name);
    await this.#engine.send("DELETE", `/services/${s.ID}`);
    return { name: s.Spec.Name, action: "stop", ok: true, id: s.ID, warnings: [] };
  }

  /** Whether a catalog entry runs now (names of live services). */
  async liveNames(): Promise<Set<string>> {
    return new Set((await this.raw()).map((s) => s.Spec.Name));
  }
}

/** `X-Registry-Auth` for an anonymous registry (the LAN registry needs no login). */
export const REGISTRY_AUTH_NONE = btoa("{}");

/** Hostname → fleet node id (by the agent's reported hostname, then by node id). */
export function fleetMatcher(db: Database): (hostname: string) => string | null {
  const rows = listNodeRows(db);
  const byHost = new Map<string, string>();
  for (const r of rows) if (r.hostname) byHost.set(r.hostname.toLowerCase(), r.id);
  const ids = new Set(rows.map((r) => r.id));
  return (hostname) => {
    const h = hostname.toLowerCase();
    return byHost.get(h) ?? (ids.has(hostname) ? hostname : null) ??
      byHost.get(h.split(".")[0]) ?? null;
  };
}
