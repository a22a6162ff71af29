/**
 * Cleanup after jobs: remove every container a job left behind (found by its `fleet.job` label, so
 * containers the operator runs are never touched) and prune dangling images, which pile up on
 * small Jetson disks when job images are re-tagged.
 *
 * @module
 */
import {
  type ContainerSummary,
  createDockerApi,
  DockerUnavailableError,
} from "../../shared/docker_api.ts";

/** Seconds a leftover container gets after SIGTERM before the engine kills it. */
const STOP_GRACE_S = 2;
/** How many containers are stopped at once; each stop may take the whole grace period. */
const CONCURRENCY = 8;

/** What {@link cleanupJobContainers} did. */
export interface JobContainersCleanup {
  /** Full IDs of the containers removed. */
  removed: string[];
  /** Containers that could not be removed, with the engine's reason. */
  failed: { id: string; error: string }[];
}

/**
 * Stops and removes every container labelled `fleet.job` (running or not, with its anonymous
 * volumes), and no other. Throws a `DockerUnavailableError` naming the socket when Docker is
 * absent; a container that cannot be removed is listed in `failed` and the others still go.
 *
 * @example
 * ```ts
 * const { removed } = await cleanupJobContainers("/var/run/docker.sock");
 * console.log(`removed ${removed.length} job containers`);
 * ```
 */
export async function cleanupJobContainers(socketPath: string): Promise<JobContainersCleanup> {
  const api = createDockerApi(socketPath);
  try {
    const listed = await api.json<ContainerSummary[]>("GET", "/containers/json", {
      query: { all: 1, filters: { label: ["fleet.job"] } },
      timeoutMs: 30_000,
    });
    // The engine filtered already; checking again costs nothing and guards the "never others".
    const ours = (Array.isArray(listed) ? listed : []).filter(
      (c) => typeof c.Id === "string" && typeof c.Labels?.["fleet.job"] === "string",
    );
    const result: JobContainersCleanup = { removed: [], failed: [] };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ours.length) {
        const c = ours[next++];
        try {
          if (c.State === "running" || c.State === "paused" || c.State === "restarting") {
            // A graceful stop first, so a job can flush what it was writing.
            await api.send("POST", `/containers/${c.Id}/stop`, {
              query: { t: STOP_GRACE_S },
              accept: [304, 404],
              timeoutMs: STOP_GRACE_S * 1000 + 10_000,
            }).catch(() => {
              // the forced removal below kills it anyway
            });
          }
          await api.send("DELETE", `/containers/${c.Id}`, {
            query: { force: 1, v: 1 },
            accept: [404],
            timeoutMs: 30_000,
          });
          result.removed.push(c.Id);
        } catch (err) {
          // Docker gone mid-way is not one container's problem: say so, not "failed".
          if (err instanceof DockerUnavailableError) throw err;
          result.failed.push({ id: c.Id, error: err instanceof Error ? err.message : String(err) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ours.length) }, worker));
    return result;
  } finally {
    api.close();
  }
}

/** What {@link pruneDanglingImages} did. */
export interface ImagePrune {
  /** Images deleted (untagged references are not counted). */
  deleted: number;
  /** Bytes the engine reports as reclaimed. */
  reclaimed_b: number;
}

/**
 * Deletes dangling images (untagged and unused), like `docker image prune`. Throws a
 * `DockerUnavailableError` naming the socket when Docker is absent.
 *
 * @example
 * ```ts
 * const { deleted, reclaimed_b } = await pruneDanglingImages("/var/run/docker.sock");
 * ```
 */
export async function pruneDanglingImages(socketPath: string): Promise<ImagePrune> {
  const api = createDockerApi(socketPath);
  try {
    const answer = await api.json<
      { ImagesDeleted?: { Deleted?: string; Untagged?: string }[] | null; SpaceReclaimed?: number }
    >("POST", "/images/prune", {
      query: { filters: { dangling: ["true"] } },
      // Deleting layers on a slow SD card or eMMC can take minutes.
      timeoutMs: 10 * 60_000,
    });
    return {
      deleted: (answer?.ImagesDeleted ?? []).filter((d) => d.Deleted).length,
      reclaimed_b: answer?.SpaceReclaimed ?? 0,
    };
  } finally {
    api.close();
  }
}
