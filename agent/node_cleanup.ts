/**
 * `fleet-agent cleanup [--dry-run]`: frees a node for the next workload (SPEC §4.6). The plan is
 * computed first and a real run executes exactly that plan, so `--dry-run` shows precisely what
 * would go: running containers not labelled `fleet.essential=true` are stopped and removed with
 * the stopped ones, images no container uses and older than `--image-age` are deleted, the
 * journal is vacuumed to `--journal-size`, and the job temp dirs are cleared. It refuses while a
 * job container runs (a roamer at work) unless `--force`. Before anything goes, `/etc/fleet` is
 * synced to S3 through the hub (`config_sync.ts`, in the command).
 *
 * @module
 */
import { join } from "node:path";
import {
  type ContainerSummary,
  createDockerApi,
  type DockerApi,
  type ImageSummary,
} from "../shared/docker_api.ts";
import { RefusedError } from "../shared/cli.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("cleanup");

/** One planned action. */
export interface CleanupAction {
  kind: "stop-container" | "remove-container" | "remove-image" | "vacuum-journal" | "clear-dir";
  target: string;
  /** Human-readable: name, image, size. */
  detail: string;
  /** Bytes it should free, when known. */
  bytes: number;
}

/** Options of {@link planCleanup}. */
export interface CleanupOptions {
  /** Docker socket, or undefined on a node without Docker. */
  dockerSocket: string | undefined;
  stateDir: string;
  /** Only images created longer ago than this are removed (ms). */
  imageAgeMs: number;
  /** Target journal size for `journalctl --vacuum-size` (e.g. "200M"); undefined skips it. */
  journalSize: string | undefined;
  force: boolean;
}

function nameOf(c: ContainerSummary): string {
  return (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, "");
}

async function dirBytes(path: string): Promise<number> {
  let total = 0;
  try {
    for await (const e of Deno.readDir(path)) {
      const p = join(path, e.name);
      const st = await Deno.lstat(p);
      total += st.isDirectory ? await dirBytes(p) : st.size;
    }
  } catch { /* missing dir: nothing to free */ }
  return total;
}

async function dockerPlan(api: DockerApi, o: CleanupOptions): Promise<CleanupAction[]> {
  const actions: CleanupAction[] = [];
  const containers = await api.json<ContainerSummary[]>("GET", "/containers/json", {
    query: { all: 1, size: 1 },
    timeoutMs: 30_000,
  });
  const busy = containers.filter((c) => c.State === "running" && c.Labels?.["fleet.job"]);
  if (busy.length && !o.force) {
    // Not a usage error: the node's state refuses it (exit 1, like a hub refusal).
    throw new RefusedError(
      `a job is running (${busy.map(nameOf).join(", ")}): cleanup would kill it; ` +
        "wait for it or pass --force",
    );
  }
  const essential = (c: ContainerSummary) => c.Labels?.["fleet.essential"] === "true";
  const going = containers.filter((c) => !essential(c));
  for (const c of going) {
    if (c.State === "running" || c.State === "restarting" || c.State === "paused") {
      actions.push({ kind: "stop-container", target: c.Id, detail: nameOf(c), bytes: 0 });
    }
  }
  for (const c of going) {
    actions.push({
      kind: "remove-container",
      target: c.Id,
      detail: `${nameOf(c)} (${c.Image})`,
      bytes: c.SizeRw ?? 0,
    });
  }
  // Images still used by a container that stays are kept; so are recent ones.
  const kept = new Set(containers.filter(essential).map((c) => c.ImageID));
  const images = await api.json<ImageSummary[]>("GET", "/images/json", {
    query: { all: 0 },
    timeoutMs: 30_000,
  });
  const cutoff = (Date.now() - o.imageAgeMs) / 1000;
  for (const img of images) {
    if (kept.has(img.Id) || img.Created > cutoff) continue;
    const tags = img.RepoTags?.filter((t) => t !== "<none>:<none>") ?? [];
    actions.push({
      kind: "remove-image",
      target: img.Id,
      detail: tags.join(", ") || img.Id.slice(7, 19),
      bytes: img.Size,
    });
  }
  return actions;
}

/** Computes what a cleanup would do; throws `RefusedError` when it must not run. */
export async function planCleanup(o: CleanupOptions): Promise<CleanupAction[]> {
  const actions: CleanupAction[] = [];
  if (o.dockerSocket) {
    const api = createDockerApi(o.dockerSocket);
    try {
      actions.push(...await dockerPlan(api, o));
    } finally {
      api.close();
    }
  }
  if (o.journalSize) {
    actions.push({
      kind: "vacuum-journal",
      target: o.journalSize,
      detail: `journalctl --vacuum-size=${o.journalSize}`,
      bytes: 0,
    });
  }
  const jobs = join(o.stateDir, "jobs");
  const tempBytes = await dirBytes(jobs);
  if (tempBytes > 0 || await Deno.stat(jobs).then(() => true, () => false)) {
    actions.push({ kind: "clear-dir", target: jobs, detail: "job temp dirs", bytes: tempBytes });
  }
  return actions;
}

/** Executes a plan; returns the bytes freed (as far as known) and the failures. */
export async function runCleanup(
  actions: CleanupAction[],
  o: CleanupOptions,
): Promise<{ freed_b: number; failed: { action: CleanupAction; error: string }[] }> {
  let freed = 0;
  const failed: { action: CleanupAction; error: string }[] = [];
  const api = o.dockerSocket ? createDockerApi(o.dockerSocket) : undefined;
  try {
    for (const a of actions) {
      try {
        switch (a.kind) {
          case "stop-container":
            await api!.send("POST", `/containers/${a.target}/stop`, {
              query: { t: 10 },
              accept: [304],
              timeoutMs: 30_000,
            });
            break;
          case "remove-container":
            await api!.send("DELETE", `/containers/${a.target}`, {
              query: { v: 1, force: 1 },
              timeoutMs: 30_000,
            });
            break;
          case "remove-image":
            await api!.send("DELETE", `/images/${a.target}`, {
              query: { force: 1 },
              accept: [404],
              timeoutMs: 60_000,
            });
            break;
          case "vacuum-journal": {
            const out = await new Deno.Command("journalctl", {
              args: [`--vacuum-size=${a.target}`],
              stdin: "null",
            }).output();
            if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim());
            break;
          }
          case "clear-dir":
            await Deno.remove(a.target, { recursive: true }).catch((error) => {
              if (!(error instanceof Deno.errors.NotFound)) throw error;
            });
            break;
        }
        freed += a.bytes;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failed.push({ action: a, error: message });
        logger.warn("cleanup action failed", { kind: a.kind, target: a.detail, error: message });
      }
    }
  } finally {
    api?.close();
  }
  return { freed_b: freed, failed };
}

/** Formats a byte count for the plan output. */
export function humanBytes(b: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = b;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}
