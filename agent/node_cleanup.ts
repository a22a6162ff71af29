/**
 * `fleet-agent cleanup [--dry-run]`: frees a node for the next workload. The plan is
 * computed first and a real run executes exactly that plan, so `--dry-run` shows precisely what
 * would go: running containers not labelled `fleet.essential=true` are stopped and removed with
 * the stopped ones, images no container uses and older than `--image-age` are deleted, the
 * journal is vacuumed to `--journal-size`, and the job temp dirs are cleared. It refuses while a
 * job container runs (a roamer at work) unless `--force`. Before anything goes, `/etc/fleet` is
 * synced to S3 through the hub (`config_sync.ts`, in the command).
 *
 * Three more steps are opt-in (agent.yml `cleanup:`), because each can delete what someone
 * wanted: named volumes no remaining container uses (`volumes: true`), rotated logs under
 * `/var/log` (`rotated_logs: true`; see {@link isRotatedLog} for exactly which names) and files
 * in `/tmp` not modified for `tmp_max_age` (e.g. `7d`). Paths are below `root`, so tests run on
 * fixture roots.
 *
 * @module
 */
import { join } from "node:path";
import {
  type ContainerSummary,
  createDockerApi,
  type DockerApi,
  type ImageSummary,
  type VolumeSummary,
} from "../shared/docker_api.ts";
import { RefusedError } from "../shared/cli.ts";
import type { AgentConfig } from "./config.ts";
import { DEFAULT_DOCKER_SOCKET } from "../shared/docker_api.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("cleanup");

/** One planned action. */
export interface CleanupAction {
  kind:
    | "stop-container"
    | "remove-container"
    | "remove-image"
    | "remove-volume"
    | "vacuum-journal"
    | "clear-dir"
    | "remove-rotated-log"
    | "remove-tmp-file";
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
  /** Remove named volumes that no remaining container uses (opt-in). */
  volumes?: boolean;
  /** Remove rotated logs under `<root>/var/log` (opt-in). */
  rotatedLogs?: boolean;
  /** Remove files in `<root>/tmp` older than this (ms); undefined: leave /tmp alone. */
  tmpMaxAgeMs?: number;
  /** Where /var/log and /tmp are (default `/`; tests: a fixture root). */
  root?: string;
}

/**
 * The cleanup options of an agent's config (agent.yml `cleanup:`): Docker when its socket
 * exists, the journal vacuumed to 500M by default where journald runs.
 */
export async function cleanupOptionsOf(
  config: Pick<AgentConfig, "dockerSocket" | "stateDir" | "root" | "cleanup">,
  force: boolean,
): Promise<CleanupOptions> {
  const socket = config.dockerSocket === false
    ? undefined
    : config.dockerSocket ?? DEFAULT_DOCKER_SOCKET;
  const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
  const c = config.cleanup;
  return {
    dockerSocket: socket && await exists(socket) ? socket : undefined,
    stateDir: config.stateDir,
    imageAgeMs: c.imageAgeMs,
    journalSize: c.journalSize === "off"
      ? undefined
      : c.journalSize ?? (await exists("/run/systemd/journal") ? "500M" : undefined),
    force,
    volumes: c.volumes,
    rotatedLogs: c.rotatedLogs,
    tmpMaxAgeMs: c.tmpMaxAgeMs,
    root: config.root,
  };
}

/** The steps this run leaves out, and why (shown with every plan, dry or not). */
export function cleanupSkipped(o: CleanupOptions): string[] {
  const off = (what: string, key: string) => `${what}: off (agent.yml cleanup.${key})`;
  return [
    ...(o.dockerSocket ? [] : ["containers, images, volumes: skipped (no Docker engine here)"]),
    ...(o.volumes || !o.dockerSocket ? [] : [off("remove unused volumes", "volumes")]),
    ...(o.journalSize
      ? []
      : ["vacuum the journal: skipped (no journald here, or agent.yml cleanup.journal_size: off)"]),
    ...(o.rotatedLogs ? [] : [off("remove rotated logs in /var/log", "rotated_logs")]),
    ...(o.tmpMaxAgeMs !== undefined ? [] : [off("remove old files in /tmp", "tmp_max_age")]),
  ];
}

/** Most files one run lists under /var/log or /tmp (the rest waits for the next run). */
export const MAX_FILE_ACTIONS = 5000;
/** Deepest directory level walked under /var/log or /tmp. */
const MAX_WALK_DEPTH = 16;

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
  if (o.volumes) actions.push(...await volumePlan(api, containers.filter(essential)));
  return actions;
}

/**
 * Named volumes no container that stays uses (those of the containers this plan removes go
 * with them), except volumes labelled `fleet.essential=true`. Sizes are not asked for: the
 * engine computes them by walking every volume, which can take minutes.
 */
async function volumePlan(api: DockerApi, staying: ContainerSummary[]): Promise<CleanupAction[]> {
  const used = new Set(
    staying.flatMap((c) => (c.Mounts ?? []).filter((m) => m.Type === "volume" && m.Name))
      .map((m) => m.Name!),
  );
  const list = await api.json<{ Volumes?: VolumeSummary[] | null }>("GET", "/volumes", {
    timeoutMs: 30_000,
  });
  return (list.Volumes ?? [])
    .filter((v) => !used.has(v.Name) && v.Labels?.["fleet.essential"] !== "true")
    .map((v) => ({ kind: "remove-volume" as const, target: v.Name, detail: v.Name, bytes: 0 }));
}

/**
 * Whether a file name under /var/log is a rotated log: logrotate's numbered copies (`syslog.1`,
 * `syslog.2.gz`), compressed files (`.gz`, `.xz`, `.bz2`, `.zst`, `.lz4`), dated copies
 * (`syslog-20260101`, `syslog-20260101.gz`) and `.old` files. Nothing a process still writes to
 * looks like that; the live `*.log` files and the journal are left to logrotate and journald.
 */
export function isRotatedLog(name: string): boolean {
  return /\.\d+(\.(gz|xz|bz2|zst|lz4))?$/.test(name) ||
    /\.(gz|xz|bz2|zst|lz4)$/.test(name) ||
    /-\d{8}(\d{2})?(\.(gz|xz|bz2|zst|lz4))?$/.test(name) ||
    /\.old$/.test(name);
}

/** Skipped under /tmp: live X and ICE sockets and the PrivateTmp dirs of running services. */
function keepInTmp(name: string): boolean {
  return name === ".X11-unix" || name === ".ICE-unix" || name === ".XIM-unix" ||
    name === ".font-unix" || name.startsWith("systemd-private-");
}

/**
 * Regular files below `dir` (not following symlinks, at most {@link MAX_WALK_DEPTH} deep) for
 * which `take` says yes, up to {@link MAX_FILE_ACTIONS}.
 */
async function walkFiles(
  dir: string,
  take: (name: string, st: Deno.FileInfo) => boolean,
  skipDir: (name: string) => boolean = () => false,
): Promise<{ path: string; size: number }[]> {
  const found: { path: string; size: number }[] = [];
  const visit = async (path: string, depth: number): Promise<void> => {
    if (depth > MAX_WALK_DEPTH) return;
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(path));
    } catch {
      return; // missing or unreadable: nothing to do there
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (found.length >= MAX_FILE_ACTIONS) return;
      const p = join(path, e.name);
      if (e.isDirectory) {
        if (!skipDir(e.name)) await visit(p, depth + 1);
        continue;
      }
      if (!e.isFile) continue; // sockets, fifos, devices, symlinks stay
      const st = await Deno.lstat(p).catch(() => undefined);
      if (st?.isFile && take(e.name, st)) found.push({ path: p, size: st.size });
    }
  };
  await visit(dir, 0);
  return found;
}

async function filePlan(o: CleanupOptions): Promise<CleanupAction[]> {
  const root = o.root ?? "/";
  const actions: CleanupAction[] = [];
  if (o.rotatedLogs) {
    const logs = await walkFiles(join(root, "var/log"), (name) => isRotatedLog(name));
    for (const f of logs) {
      actions.push({ kind: "remove-rotated-log", target: f.path, detail: f.path, bytes: f.size });
    }
  }
  if (o.tmpMaxAgeMs !== undefined) {
    const cutoff = Date.now() - o.tmpMaxAgeMs;
    const old = await walkFiles(
      join(root, "tmp"),
      (_name, st) => (st.mtime?.getTime() ?? Date.now()) < cutoff,
      keepInTmp,
    );
    for (const f of old) {
      actions.push({ kind: "remove-tmp-file", target: f.path, detail: f.path, bytes: f.size });
    }
  }
  return actions;
}

/**
 * A short fingerprint of a plan (what and on what): a real run given the fingerprint of the
 * dry run the operator saw refuses when the plan has changed since.
 */
export async function planId(actions: CleanupAction[]): Promise<string> {
  const text = actions.map((a) => `${a.kind} ${a.target}`).join("\n");
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(hash).slice(0, 8), (b) => b.toString(16).padStart(2, "0"))
    .join("");
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
  actions.push(...await filePlan(o));
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
          case "remove-volume":
            await api!.send("DELETE", `/volumes/${encodeURIComponent(a.target)}`, {
              accept: [404],
              timeoutMs: 60_000,
            });
            break;
          case "clear-dir":
          case "remove-rotated-log":
          case "remove-tmp-file":
            await Deno.remove(a.target, { recursive: a.kind === "clear-dir" }).catch((error) => {
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
