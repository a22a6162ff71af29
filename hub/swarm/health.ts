/**
 * Cluster health in one call: managers reachable, nodes ready / down / drained, services whose
 * running tasks differ from the desired count (with their newest task error), the registry
 * answering, each problem as a sentence.
 *
 * @module
 */
import type { SwarmHealth } from "../../shared/protocol/mod.ts";
import type { SwarmEngine } from "./engine.ts";
import type { SwarmNodes } from "./nodes.ts";
import type { SwarmServices } from "./services.ts";
import type { RegistryBrowser } from "./registry.ts";

/** Computes {@link SwarmHealth}. */
export async function swarmHealth(
  engine: SwarmEngine,
  nodes: SwarmNodes,
  services: SwarmServices,
  registry: RegistryBrowser,
): Promise<SwarmHealth> {
  const info = await engine.manager();
  const [nodeList, serviceList, tasks, raw, reg] = await Promise.all([
    nodes.list(),
    services.list(),
    services.rawTasks(),
    services.raw(),
    registry.ping(),
  ]);
  // A batch service (restart: none) whose tasks completed is done, not short of replicas.
  const batch = new Set(
    raw.filter((s) => s.Spec.TaskTemplate.RestartPolicy?.Condition === "none").map((s) => s.ID),
  );
  const problems: string[] = [];
  const managers = nodeList.filter((n) => n.role === "manager");
  const reachable = managers.filter((n) => n.manager_reachability === "reachable");
  for (const m of managers) {
    if (m.manager_reachability !== "reachable") {
      problems.push(`manager ${m.hostname} is ${m.manager_reachability ?? "unknown"}`);
    }
  }
  const ready = nodeList.filter((n) => n.state === "ready");
  for (const n of nodeList) {
    if (n.state !== "ready") {
      problems.push(`node ${n.hostname} is ${n.state}${n.message ? `: ${n.message}` : ""}`);
    }
  }
  const notConverged = [];
  for (const s of serviceList) {
    // Jobs are done when they complete; a global service's desired count comes from the engine.
    if (s.mode.endsWith("-job") || s.replicas_desired === null) continue;
    if (s.replicas_running === s.replicas_desired) continue;
    if (batch.has(s.id) && s.replicas_running + s.tasks_complete >= s.replicas_desired) continue;
    const errs = tasks.filter((t) => t.ServiceID === s.id && t.Status.Err)
      .sort((a, b) => Date.parse(b.UpdatedAt) - Date.parse(a.UpdatedAt));
    const error = errs[0]?.Status.Err ?? null;
    notConverged.push({
      name: s.name,
      running: s.replicas_running,
      desired: s.replicas_desired,
      error,
    });
    problems.push(
      `service ${s.name} runs ${s.replicas_running} of ${s.replicas_desired} replicas` +
        (error ? ` (${error})` : ""),
    );
  }
  if (reg && !reg.reachable) {
    problems.push(`registry ${reg.registry} does not answer: ${reg.error}`);
  }
  return {
    ok: problems.length === 0,
    engine: {
      version: info.ServerVersion ?? "",
      node_id: info.Swarm?.NodeID ?? "",
      cluster_id: info.Swarm?.Cluster?.ID ?? null,
    },
    managers: { total: managers.length, reachable: reachable.length },
    nodes: {
      total: nodeList.length,
      ready: ready.length,
      down: nodeList.filter((n) => n.state === "down").length,
      drained: nodeList.filter((n) => n.availability === "drain").length,
    },
    services: {
      total: serviceList.length,
      converged: serviceList.length - notConverged.length,
      not_converged: notConverged,
    },
    registry: reg,
    problems,
    checked_at: Date.now(),
  };
}
