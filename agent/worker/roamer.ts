/**
 * What a roamer's agent does with its assignment: when assigned, provision (pull the
 * template's image, or the custom image it was assigned to, so jobs start fast) and report RUNNING; when released,
 * clean up (remove job containers, prune dangling images, clear job temp dirs) and report IDLE.
 * A failed cleanup reports FAILED, which keeps the node out of work until an operator releases it.
 *
 * @module
 */
import { join } from "../../shared/join_path.ts";
import type { ApiClient } from "../../shared/api_client.ts";
import type { RoamerInfo } from "../../shared/protocol/mod.ts";
import { pullImage } from "./docker.ts";
import { cleanupJobContainers, pruneDanglingImages } from "./cleanup.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("roamer");

/** What the roamer needs to act. */
export interface RoamerContext {
  api: ApiClient;
  /** Docker socket, or undefined on a node without Docker (process jobs only). */
  dockerSocket: string | undefined;
  stateDir: string;
  signal: AbortSignal;
}

/** The Docker socket when one exists on this node. */
async function dockerOn(ctx: RoamerContext): Promise<string | undefined> {
  if (!ctx.dockerSocket) return undefined;
  try {
    await Deno.stat(ctx.dockerSocket);
    return ctx.dockerSocket;
  } catch {
    return undefined;
  }
}

async function provision(ctx: RoamerContext, r: RoamerInfo): Promise<void> {
  await ctx.api.reportRoamer("PROVISIONING", r.assignment?.image ?? undefined);
  const image = r.assignment?.image;
  const docker = await dockerOn(ctx);
  if (image && docker) {
    const failure = await pullImage(docker, image, { signal: ctx.signal }).catch((
      error,
    ) => String(error instanceof Error ? error.message : error));
    if (failure) {
      logger.error("provisioning failed", { image, detail: failure });
      await ctx.api.reportRoamer("FAILED", failure);
      return;
    }
  }
  await ctx.api.reportRoamer("RUNNING", image ? `image ${image} ready` : undefined);
  logger.info("roamer running", {
    cluster: r.assignment?.cluster,
    template: r.assignment?.template,
    image: r.assignment?.image,
  });
}

async function cleanup(ctx: RoamerContext): Promise<void> {
  const steps: string[] = [];
  try {
    const docker = await dockerOn(ctx);
    if (docker) {
      const removed = await cleanupJobContainers(docker);
      if (removed.failed.length) {
        throw new Error(
          `could not remove containers ${removed.failed.map((f) => f.id).join(", ")}`,
        );
      }
      const pruned = await pruneDanglingImages(docker);
      steps.push(
        `${removed.removed.length} containers removed`,
        `${pruned.reclaimed_b} bytes of images pruned`,
      );
    }
    await Deno.remove(join(ctx.stateDir, "jobs"), { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    steps.push("job temp dirs cleared");
  } catch (error) {
    const detail = `cleanup failed: ${error instanceof Error ? error.message : error}`;
    logger.error("roamer cleanup failed", { detail });
    await ctx.api.reportRoamer("FAILED", detail);
    return;
  }
  await ctx.api.reportRoamer("IDLE", steps.join("; "));
  logger.info("roamer back to idle", { steps });
}

/**
 * Moves the roamer one step towards what the hub wants; called with the roamer's state from
 * each claim answer, between jobs.
 */
export async function followAssignment(ctx: RoamerContext, r: RoamerInfo): Promise<void> {
  if (r.release_requested || r.state === "CLEANUP") {
    if (r.state !== "CLEANUP") await ctx.api.reportRoamer("CLEANUP", "released");
    await cleanup(ctx);
  } else if (r.state === "ASSIGNED" || r.state === "PROVISIONING") {
    // PROVISIONING here means a restart interrupted it; provisioning is idempotent: again.
    await provision(ctx, r);
  }
}
