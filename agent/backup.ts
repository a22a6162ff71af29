/**
 * Backups on the node, started by the hub over the control channel: a `backup` frame says what
 * to snapshot (a Docker volume, a config path, the swarm state or any path) or restore, with the
 * S3 access the hub hands over for this one operation (kept in memory only, never logged). The
 * engine (`shared/backup/`) does the work; this module resolves targets on the node, sends
 * progress as `stream.data` frames (JSON, a few per second) and ends each channel with one
 * `reply`. A `stream.cancel`, or the control connection dropping, aborts it: a snapshot that
 * did not finish writes no manifest, so nothing half-done is ever listed.
 *
 * The swarm state is copied the way Docker documents for managers: the engine is stopped, the
 * swarm directory copied, the engine started again (Raft's files are never read mid-write).
 *
 * @module
 */
import { basename, dirname } from "node:path";
import type {
  AgentMessage,
  BackupProgress,
  BackupRequestMessage,
  RestoreResult,
  SnapshotResult,
} from "../shared/protocol/mod.ts";
import { targetLabel } from "../shared/protocol/mod.ts";
import { backup, BackupError, getSnapshot, restore } from "../shared/backup/mod.ts";
import type { BackupProgress as EngineProgress, RestoreProgress } from "../shared/backup/mod.ts";
import { createDockerApi, type DockerApi, DockerApiError } from "../shared/docker_api.ts";
import { repoFromAccess } from "../shared/backup_repo.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("backup");

/** Commands that stop and start the engine around a swarm state copy (env overrides). */
const SWARM_STOP = Deno.env.get("FLEET_SWARM_STOP_CMD") ?? "systemctl stop docker";
const SWARM_START = Deno.env.get("FLEET_SWARM_START_CMD") ?? "systemctl start docker";

function messageOf(error: unknown): string {
  if (error instanceof BackupError) return `${error.code}: ${error.message}`;
  if (error instanceof DockerApiError) return `docker: ${error.detail}`;
  return error instanceof Error ? error.message : String(error);
}

function fromEngine(p: EngineProgress): BackupProgress {
  return {
    files: p.files,
    bytes: p.bytes,
    total_bytes: p.bytesTotal,
    chunks_new: p.chunksNew,
    chunks_reused: p.chunksReused,
    uploaded_bytes: p.bytesUploaded,
    rate_bps: p.rateBytesPerSec,
    eta_s: p.etaSeconds,
  };
}

function fromRestore(p: RestoreProgress): BackupProgress {
  return {
    files: p.files,
    bytes: p.bytes,
    total_bytes: p.bytesTotal,
    chunks_new: 0,
    chunks_reused: 0,
    uploaded_bytes: 0,
    rate_bps: p.rateBytesPerSec,
    eta_s: p.etaSeconds,
  };
}

async function run(command: string): Promise<void> {
  const [cmd, ...args] = command.split(/\s+/).filter(Boolean);
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `${command} failed: ${new TextDecoder().decode(out.stderr).trim().slice(0, 300)}`,
    );
  }
}

/** Runs the backups and restores the hub asks for on this node. */
export class BackupRunner {
  #send: (m: AgentMessage) => void;
  #socket: string | false;
  #running = new Map<number, AbortController>();

  constructor(send: (m: AgentMessage) => void, dockerSocket: string | false) {
    this.#send = send;
    this.#socket = dockerSocket;
  }

  /** Operations in progress. */
  get size(): number {
    return this.#running.size;
  }

  #docker(): DockerApi {
    if (this.#socket === false) {
      throw new Error("this agent runs without Docker (--docker-socket off)");
    }
    return createDockerApi(this.#socket);
  }

  /** A Docker volume's mountpoint; with `create`, a missing volume is created first. */
  async #volumePath(name: string, create: boolean): Promise<string> {
    const docker = this.#docker();
    try {
      let vol = await docker.json<{ Mountpoint?: string } | undefined>(
        "GET",
        `/volumes/${encodeURIComponent(name)}`,
        { accept: [404], timeoutMs: 10_000 },
      );
      if (!vol?.Mountpoint && create) {
        vol = await docker.json<{ Mountpoint?: string }>("POST", "/volumes/create", {
          body: { Name: name },
          timeoutMs: 10_000,
        });
      }
      if (!vol?.Mountpoint) throw new Error(`no Docker volume ${name} on this node`);
      return vol.Mountpoint;
    } finally {
      docker.close();
    }
  }

  /** Starts the operation of one frame. */
  handle(m: BackupRequestMessage): void {
    if (this.#running.has(m.ch)) {
      this.#send({ type: "reply", ch: m.ch, ok: false, code: "conflict", error: "channel in use" });
      return;
    }
    const abort = new AbortController();
    this.#running.set(m.ch, abort);
    let last = 0;
    const progress = (p: BackupProgress, force = false) => {
      const now = Date.now();
      if (!force && now - last < 250) return;
      last = now;
      this.#send({ type: "stream.data", ch: m.ch, data: JSON.stringify(p) });
    };
    const work = m.op === "create"
      ? this.#create(m, abort.signal, progress)
      : this.#restore(m, abort.signal, progress);
    work.then(
      (data) => this.#send({ type: "reply", ch: m.ch, ok: true, data }),
      (error) => {
        const cancelled = abort.signal.aborted;
        const msg = cancelled ? "cancelled" : messageOf(error);
        logger.warn(`${m.op === "create" ? "backup" : "restore"} failed`, {
          ch: m.ch,
          target: m.target.kind,
          error: msg,
        });
        this.#send({
          type: "reply",
          ch: m.ch,
          ok: false,
          code: cancelled
            ? "conflict"
            : error instanceof BackupError && error.code === "bad-input"
            ? "bad_request"
            : "failed",
          error: msg.slice(0, 4000),
        });
      },
    ).finally(() => this.#running.delete(m.ch));
  }

  async #create(
    m: Extract<BackupRequestMessage, { op: "create" }>,
    signal: AbortSignal,
    progress: (p: BackupProgress, force?: boolean) => void,
  ): Promise<SnapshotResult> {
    const target = m.target;
    const label = targetLabel(target);
    let root: string;
    let paths: string[] | undefined;
    let restart: (() => Promise<void>) | undefined;
    switch (target.kind) {
      case "volume":
        root = await this.#volumePath(target.name, false);
        break;
      case "config":
      case "path": {
        const st = await Deno.stat(target.path).catch(() => undefined);
        if (!st) throw new Error(`${target.path} does not exist on this node`);
        if (st.isDirectory) root = target.path;
        else {
          root = dirname(target.path);
          paths = [basename(target.path)];
        }
        break;
      }
      case "swarm": {
        const docker = this.#docker();
        let info: {
          DockerRootDir?: string;
          Swarm?: { ControlAvailable?: boolean; LocalNodeState?: string };
        };
        try {
          info = await docker.json("GET", "/info", { timeoutMs: 10_000 });
        } finally {
          docker.close();
        }
        if (info.Swarm?.LocalNodeState !== "active" || !info.Swarm.ControlAvailable) {
          throw new Error("the swarm state is kept by managers: this node is not a swarm manager");
        }
        root = `${info.DockerRootDir ?? "/var/lib/docker"}/swarm`;
        logger.warn("stopping the Docker engine to copy the swarm state", { command: SWARM_STOP });
        await run(SWARM_STOP);
        restart = () => run(SWARM_START);
        break;
      }
    }
    logger.info("backup started", { backup_id: m.backup_id, target: label, root });
    try {
      const snap = await backup({
        repo: repoFromAccess(m.s3),
        root,
        ...(paths ? { paths } : {}),
        host: m.node_id,
        node: m.node_id,
        target: label,
        tags: [`backup:${m.backup_id}`],
        signal,
        onProgress: (p) => progress(fromEngine(p), p.phase === "finishing"),
      });
      logger.info("backup done", {
        backup_id: m.backup_id,
        snapshot: snap.id,
        files: snap.stats.files,
        bytes: snap.stats.bytes,
        uploaded: snap.stats.bytesUploaded,
      });
      return {
        snapshot_id: snap.id,
        files: snap.stats.files,
        size_b: snap.stats.bytes,
        new_b: snap.stats.bytesUploaded,
        chunks_new: snap.stats.chunksNew,
        chunks_reused: snap.stats.chunksReused,
        warnings: snap.status === "partial"
          ? snap.warnings.map((w) => `${w.path}: ${w.kind}: ${w.message}`.slice(0, 500))
            .concat(
              snap.warningsTotal > snap.warnings.length
                ? [`… ${snap.warningsTotal - snap.warnings.length} more`]
                : [],
            )
          : [],
      };
    } finally {
      if (restart) {
        await restart().catch((error) =>
          logger.error("could not start the Docker engine again", { error: messageOf(error) })
        );
      }
    }
  }

  async #restore(
    m: Extract<BackupRequestMessage, { op: "restore" }>,
    signal: AbortSignal,
    progress: (p: BackupProgress, force?: boolean) => void,
  ): Promise<RestoreResult> {
    const repo = repoFromAccess(m.s3);
    let dest = m.to;
    if (dest === undefined) {
      if (m.target.kind === "volume") dest = await this.#volumePath(m.target.name, !m.dry_run);
      else if (m.target.kind === "swarm") {
        throw new Error("give a directory to restore swarm state into");
      } // The snapshot's own root: a single-file target was saved from its directory.
      else dest = (await getSnapshot(repo, m.snapshot_id, signal)).root;
    }
    logger.info("restore started", {
      restore_id: m.restore_id,
      snapshot: m.snapshot_id,
      to: dest,
      dry_run: m.dry_run,
    });
    const report = await restore({
      repo,
      snapshot: m.snapshot_id,
      target: dest,
      ...(m.paths ? { paths: m.paths } : {}),
      dryRun: m.dry_run,
      signal,
      onProgress: (p) => progress(fromRestore(p)),
    });
    if (report.refused.length) {
      const first = report.refused.slice(0, 5).map((r) => `${r.path}: ${r.reason}`).join("; ");
      throw new Error(
        `refused ${report.refused.length} entr${report.refused.length === 1 ? "y" : "ies"} ` +
          `(nothing was written outside ${dest}; ${report.writtenTotal} written): ${first}`,
      );
    }
    logger.info("restore done", {
      restore_id: m.restore_id,
      files: report.files,
      bytes: report.bytes,
    });
    return {
      files: report.files,
      bytes: report.bytes,
      to: report.target,
      written: report.written.map((w) => w.path).slice(0, 10_000),
    };
  }

  /** Stops one operation (`stream.cancel`). */
  cancel(ch: number): void {
    this.#running.get(ch)?.abort();
  }

  /** Stops everything (the control connection ended). */
  abortAll(): void {
    for (const a of this.#running.values()) a.abort();
  }
}
