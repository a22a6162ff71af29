/**
 * Swarm nodes: the list (role, availability, state, engine version, labels, the matching fleet
 * node), drain / activate / pause, promote / demote, labels, removal. A node is named by its
 * swarm id or its hostname.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import { Conflict, NotFound } from "../core/errors.ts";
import type { NodeInfo, TaskInfo } from "../../shared/docker_api.ts";
import type { SwarmNode, SwarmNodeAction, SwarmNodeLabels } from "../../shared/protocol/mod.ts";
import type { SwarmEngine } from "./engine.ts";
import { fleetMatcher } from "./services.ts";

/** Swarm node operations. */
export class SwarmNodes {
  #engine: SwarmEngine;
  #db: Database;

  constructor(o: { engine: SwarmEngine; db: Database }) {
    this.#engine = o.engine;
    this.#db = o.db;
  }

  async raw(): Promise<NodeInfo[]> {
    return await this.#engine.json<NodeInfo[]>("GET", "/nodes");
  }

  #view(
    n: NodeInfo,
    running: Map<string, number>,
    self: string,
    fleet: (h: string) => string | null,
  ): SwarmNode {
    const d = n.Description;
    const hostname = d?.Hostname ?? n.Spec.Name ?? n.ID;
    return {
      id: n.ID,
      hostname,
      role: n.Spec.Role === "manager" ? "manager" : "worker",
      availability:
        (["active", "pause", "drain"].includes(n.Spec.Availability)
          ? n.Spec.Availability
          : "active") as SwarmNode["availability"],
      state: n.Status.State,
      message: n.Status.Message || null,
      addr: n.Status.Addr ?? null,
      leader: n.ManagerStatus?.Leader ?? false,
      manager_reachability: n.ManagerStatus?.Reachability ?? null,
      engine_version: d?.Engine?.EngineVersion ?? null,
      os: d?.Platform?.OS ?? null,
      arch: d?.Platform?.Architecture ?? null,
      nano_cpus: d?.Resources?.NanoCPUs ?? null,
      memory_b: d?.Resources?.MemoryBytes ?? null,
      generic_resources: (d?.Resources?.GenericResources ?? []).flatMap((g) =>
        g.DiscreteResourceSpec
          ? [{ kind: g.DiscreteResourceSpec.Kind, value: String(g.DiscreteResourceSpec.Value) }]
          : g.NamedResourceSpec
          ? [{ kind: g.NamedResourceSpec.Kind, value: g.NamedResourceSpec.Value }]
          : []
      ),
      labels: { ...(n.Spec.Labels ?? {}) },
      fleet_node_id: fleet(hostname),
      tasks_running: running.get(n.ID) ?? 0,
      self: n.ID === self,
    };
  }

  /** Every node, managers first, then by hostname. */
  async list(): Promise<SwarmNode[]> {
    const info = await this.#engine.manager();
    const [nodes, tasks] = await Promise.all([
      this.raw(),
      this.#engine.json<TaskInfo[]>("GET", "/tasks", {
        query: { filters: { "desired-state": ["running"] } },
      }),
    ]);
    const running = new Map<string, number>();
    for (const t of tasks) {
      if (t.NodeID && t.Status.State === "running") {
        running.set(t.NodeID, (running.get(t.NodeID) ?? 0) + 1);
      }
    }
    const fleet = fleetMatcher(this.#db);
    return nodes.map((n) => this.#view(n, running, info.Swarm?.NodeID ?? "", fleet))
      .sort((a, b) =>
        (a.role === b.role ? 0 : a.role === "manager" ? -1 : 1) ||
        a.hostname.localeCompare(b.hostname)
      );
  }

  /** One node by id or hostname. @throws {NotFound} */
  async get(idOrName: string): Promise<SwarmNode> {
    const all = await this.list();
    const n = all.find((x) => x.id === idOrName) ??
      all.find((x) => x.hostname === idOrName) ??
      all.find((x) => x.fleet_node_id === idOrName);
    if (!n) throw new NotFound(`no swarm node ${idOrName}: see GET /api/v1/swarm/nodes`);
    return n;
  }

  async #updateSpec(idOrName: string, change: (spec: NodeInfo["Spec"], n: SwarmNode) => void) {
    const n = await this.get(idOrName);
    const raw = await this.#engine.json<NodeInfo>("GET", `/nodes/${n.id}`);
    change(raw.Spec, n);
    await this.#engine.send("POST", `/nodes/${n.id}/update`, {
      query: { version: raw.Version.Index },
      body: raw.Spec,
    });
    return await this.get(n.id);
  }

  /** Drain, activate, pause, promote or demote. */
  act(idOrName: string, action: SwarmNodeAction): Promise<SwarmNode> {
    return this.#updateSpec(idOrName, (spec, n) => {
      switch (action) {
        case "drain":
          spec.Availability = "drain";
          break;
        case "activate":
          spec.Availability = "active";
          break;
        case "pause":
          spec.Availability = "pause";
          break;
        case "promote":
          spec.Role = "manager";
          break;
        case "demote":
          if (n.self) {
            throw new Conflict(
              `${n.hostname} is the manager the hub talks to: demote it from another manager`,
            );
          }
          spec.Role = "worker";
          break;
      }
    });
  }

  /** Adds and removes labels. */
  labels(idOrName: string, change: SwarmNodeLabels): Promise<SwarmNode> {
    return this.#updateSpec(idOrName, (spec) => {
      const labels = { ...(spec.Labels ?? {}), ...(change.add ?? {}) };
      for (const k of change.remove ?? []) delete labels[k];
      spec.Labels = labels;
    });
  }

  /**
   * Removes a node from the swarm (`force` for one that is still up). Refused (409) up front for
   * a manager and for a live node without `force`: the engine's own refusal is a bare 400.
   */
  async remove(idOrName: string, force: boolean): Promise<SwarmNode> {
    const n = await this.get(idOrName);
    if (n.self) {
      throw new Conflict(`${n.hostname} is the manager the hub talks to: it cannot remove itself`);
    }
    if (n.role === "manager") {
      throw new Conflict(
        `${n.hostname} (${n.id}) is a manager: demote it first ` +
          `(POST /api/v1/swarm/nodes/${n.id}/demote), then remove it`,
      );
    }
    if (!force && n.state !== "down") {
      throw new Conflict(
        `${n.hostname} (${n.id}) is ${n.state}, not down: run 'docker swarm leave' on it and ` +
          "wait until it shows down, or remove it with force (?force=1)",
      );
    }
    await this.#engine.send("DELETE", `/nodes/${n.id}`, { query: force ? { force: true } : {} });
    return n;
  }
}
