/**
 * What the Services and Catalog tabs do to a service, each marked in flight on its row until the
 * swarm converges (see `pending` in `state/swarm.ts`), with the outcome toasted: deploy a catalog
 * version, scale, rolling update, restart and stop (= remove from the swarm; the definition
 * stays).
 *
 * @module
 */
import type { SwarmServiceActionResult, SwarmUpdate } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { endPending, loadCatalog, refreshNow, startPending } from "../../state/swarm.ts";
import { toast } from "../../state/ui.ts";
import { confirmDialog } from "../../ui/modal.tsx";

function warn(r: SwarmServiceActionResult): void {
  for (const w of r.warnings) toast(`${r.name}: ${w}`, "info");
}

/** Runs `fn` as action `action` on `name`; throws the hub's refusal after toasting it. */
async function tracked(
  name: string,
  p: { action: string; label: string; target?: number },
  done: string,
  fn: () => Promise<SwarmServiceActionResult>,
): Promise<SwarmServiceActionResult> {
  startPending(name, p);
  refreshNow();
  try {
    const r = await fn();
    warn(r);
    toast(done, "ok");
    refreshNow();
    return r;
  } catch (err) {
    endPending(name);
    toast(`${p.label} failed: ${(err as Error).message}`, "error");
    throw err;
  }
}

/** Deploys version `version` (default newest) of catalog entry `name`. */
export async function deployEntry(name: string, version?: number): Promise<void> {
  await tracked(
    name,
    { action: "deploy", label: `deploying ${name}${version ? ` v${version}` : ""}` },
    `${name} deployed${version ? ` (v${version})` : ""}`,
    () => api.swarmCatalogDeploy(name, version),
  );
  void loadCatalog();
}

/** Scales `name` from `from` to `to` replicas. */
export async function scaleService(name: string, from: number | null, to: number): Promise<void> {
  await tracked(
    name,
    { action: "scale", label: `scaling ${from ?? "?"} → ${to}`, target: to },
    `${name} scaled to ${to}`,
    () => api.swarmScale(name, to),
  );
}

/** A rolling update of `name`. */
export async function updateService(name: string, body: SwarmUpdate): Promise<void> {
  await tracked(
    name,
    { action: "update", label: body.image ? `updating to ${body.image}` : "rolling update" },
    `Rolling update of ${name} started`,
    () => api.swarmUpdate(name, body),
  );
}

/** Recreates every task of `name`, after asking. */
export async function restartService(name: string): Promise<void> {
  const ok = await confirmDialog({
    title: `Restart ${name}?`,
    body: "Every task is recreated, one batch at a time by the service's update policy.",
    confirm: "Restart",
  });
  if (!ok) return;
  await tracked(
    name,
    { action: "restart", label: "restarting" },
    `${name} restarting`,
    () => api.swarmRestart(name),
  ).catch(() => {});
}

/** Removes `name` from the swarm (its catalog definition stays), after asking. */
export async function stopService(name: string, inCatalog: boolean): Promise<void> {
  const ok = await confirmDialog({
    title: `Stop ${name}?`,
    body: inCatalog
      ? "The service and its tasks are removed from the swarm. Its definition stays in the catalog: deploy it again from there."
      : "The service and its tasks are removed from the swarm. It is not in the catalog, so nothing keeps its definition.",
    confirm: "Stop service",
    danger: true,
  });
  if (!ok) return;
  try {
    await api.swarmStop(name);
    endPending(name);
    toast(`${name} stopped (removed from the swarm)`, "ok");
  } catch (err) {
    toast(`Stop ${name} failed: ${(err as Error).message}`, "error");
  }
  refreshNow();
  void loadCatalog();
}
