/**
 * What this agent is running, on disk, so a `kill -9` of the agent cannot leave a job running
 * behind it. Before a job starts, the worker writes a record to `<stateDir>/running`:
 * job id, attempt and a random tag that the run carries (`FLEET_JOB_TAG` in a process job's
 * environment, the `fleet.tag` label of a docker job's container). As soon as the run exists the
 * record gains its process group and the leader's start time (from `/proc/<pid>/stat`), or its
 * container's name. The record is removed when the run has ended.
 *
 * When the worker starts, {@link reapLeftovers} kills what a previous run of the agent left:
 * the whole process group (only after checking the leader's start time, so a recycled PID is
 * never signalled), every process that still carries the run's tag (a process that left the
 * group, or one started before the group was recorded), and the run's container.
 *
 * @module
 */
import { join } from "../../shared/join_path.ts";
import type { JobSpec } from "../../shared/protocol/mod.ts";
import type { RunHandle } from "./executor.ts";
import { type ContainerSummary, createDockerApi } from "../../shared/docker_api.ts";
import { sleep } from "../../shared/backoff.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("worker");

/** Environment variable of a process job that names its run (see {@link JobRecord.tag}). */
export const JOB_TAG_ENV = "FLEET_JOB_TAG";
/** Container label of a docker job that names its run. */
export const JOB_TAG_LABEL = "fleet.tag";

/** One run this agent started and has not seen end, with where to find it. */
export interface JobRecord extends RunHandle {
  job_id: string;
  attempt: number;
  executor: JobSpec["executor"];
  /** Random per run, so finding its processes never touches another agent's or another job's. */
  tag: string;
  created_at: number;
}

/** One line of the process table. */
interface ProcEntry {
  pid: number;
  pgrp: number;
  state: string;
  start_time: number;
}

/** Parses `/proc/<pid>/stat`; the command name may hold spaces and parentheses. */
function parseStat(pid: number, text: string): ProcEntry | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(" ");
  // f[0] is field 3 (state), so field n is f[n - 3].
  const pgrp = Number(f[2]);
  const start_time = Number(f[19]);
  if (!Number.isInteger(pgrp) || !Number.isInteger(start_time)) return undefined;
  return { pid, pgrp, state: f[0], start_time };
}

/** The start time of `pid` (clock ticks since boot), or undefined when it is gone. */
export function processStartTime(pid: number, procRoot = "/proc"): number | undefined {
  try {
    return parseStat(pid, Deno.readTextFileSync(`${procRoot}/${pid}/stat`))?.start_time;
  } catch {
    return undefined;
  }
}

async function processTable(procRoot: string): Promise<ProcEntry[]> {
  const out: ProcEntry[] = [];
  for await (const e of Deno.readDir(procRoot)) {
    if (!/^[0-9]+$/.test(e.name)) continue;
    try {
      const entry = parseStat(
        Number(e.name),
        await Deno.readTextFile(`${procRoot}/${e.name}/stat`),
      );
      if (entry) out.push(entry);
    } catch { /* exited while we looked */ }
  }
  return out;
}

/** The job records of one agent, one small JSON file per run. */
export class JobLedger {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  #path(r: Pick<JobRecord, "job_id" | "attempt">): string {
    return join(this.dir, `${r.job_id.replace(/[^0-9A-Za-z_-]/g, "_")}-${r.attempt}.json`);
  }

  // Synchronous, so a record is on disk before the run it describes is started, and an update
  // can never land after the removal that ends it.
  #write(r: JobRecord): void {
    const path = this.#path(r);
    Deno.writeTextFileSync(`${path}.tmp`, JSON.stringify(r), { mode: 0o600 });
    Deno.renameSync(`${path}.tmp`, path);
  }

  /** Records a run about to start; throws when the state dir cannot be written. */
  begin(job: Pick<JobSpec, "id" | "attempt" | "executor">): JobRecord {
    const r: JobRecord = {
      job_id: job.id,
      attempt: job.attempt,
      executor: job.executor,
      tag: crypto.randomUUID(),
      created_at: Date.now(),
    };
    try {
      Deno.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.#write(r);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot record the job in ${this.dir} (so it is not started): ${why}`);
    }
    return r;
  }

  /** Adds where the run can be found; never throws (the tag still finds it). */
  update(r: JobRecord, handle: RunHandle): void {
    Object.assign(r, handle);
    try {
      this.#write(r);
    } catch (error) {
      logger.warn("could not update the job record", { job_id: r.job_id, error });
    }
  }

  /** Forgets a run that has ended. */
  end(r: Pick<JobRecord, "job_id" | "attempt">): void {
    try {
      Deno.removeSync(this.#path(r));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        logger.warn("could not remove the job record", { job_id: r.job_id, error });
      }
    }
  }

  /** Every record on disk (a torn or foreign file is skipped and removed). */
  async list(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(this.dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return out;
      throw error;
    }
    for (const e of entries) {
      const path = join(this.dir, e.name);
      if (!e.isFile || !e.name.endsWith(".json")) {
        // A .tmp is a write the agent died in; begin() rewrites it before any run starts.
        await Deno.remove(path).catch(() => {});
        continue;
      }
      try {
        const r = JSON.parse(await Deno.readTextFile(path)) as JobRecord;
        if (typeof r.job_id === "string" && typeof r.tag === "string") out.push(r);
        else await Deno.remove(path);
      } catch {
        await Deno.remove(path).catch(() => {});
      }
    }
    return out;
  }
}

/** What {@link reapLeftovers} did. */
export interface ReapResult {
  /** Records found (runs a previous agent left). */
  records: JobRecord[];
  /** PIDs that got SIGKILL. */
  killed: number[];
  /** Containers removed. */
  containers: string[];
  /** Records kept for the next start because their leftovers could not be removed. */
  kept: JobRecord[];
}

/** Options of {@link reapLeftovers}. */
export interface ReapOptions {
  /** Docker socket, or undefined on a node without Docker. */
  dockerSocket?: string;
  /** Job temp dirs (`<stateDir>/jobs`): a killed run's dir is removed too. */
  jobsDir?: string;
  /** Default `/proc`. */
  procRoot?: string;
  /** How long to wait for killed processes to be gone (default 5 s). */
  waitMs?: number;
}

/** Whether `environ` (NUL-separated) holds `name=value`. */
function hasVar(environ: string, entry: string): boolean {
  return environ.startsWith(`${entry}\0`) || environ.includes(`\0${entry}\0`) ||
    environ === entry || environ.endsWith(`\0${entry}`);
}

async function reapProcesses(
  records: JobRecord[],
  procRoot: string,
): Promise<{ pid: number; start_time: number }[]> {
  const table = await processTable(procRoot);
  const self = Deno.pid;
  const victims = new Map<number, ProcEntry>();
  const groups: JobRecord[] = [];
  for (const r of records) {
    if (r.pgid === undefined || r.start_time === undefined) continue;
    const leader = table.find((p) => p.pid === r.pgid);
    // A leader with another start time is a recycled PID: the old group is gone for good (the
    // kernel never reuses a PID while a group of that id has members).
    if (leader && leader.start_time !== r.start_time) continue;
    const members = table.filter((p) => p.pgrp === r.pgid && p.pid !== self && p.state !== "Z");
    for (const p of members) victims.set(p.pid, p);
    if (members.length) groups.push(r);
  }
  // Processes that left the group (setsid) or were spawned before the record had the group.
  const tags = records.map((r) => `${JOB_TAG_ENV}=${r.tag}`);
  for (const p of table) {
    if (p.pid === self || p.state === "Z" || victims.has(p.pid)) continue;
    let environ: string;
    try {
      environ = await Deno.readTextFile(`${procRoot}/${p.pid}/environ`);
    } catch {
      continue; // gone, or another user's process (never a job of ours)
    }
    if (tags.some((t) => hasVar(environ, t))) victims.set(p.pid, p);
  }
  // Whole groups first, so no member can fork a replacement between the single kills.
  const signalled = new Set<number>();
  for (const r of groups) {
    const now = processStartTime(r.pgid!, procRoot);
    if (now !== undefined && now !== r.start_time) continue;
    try {
      Deno.kill(-r.pgid!, "SIGKILL");
      signalled.add(r.pgid!);
    } catch { /* the group is gone */ }
  }
  const killed: { pid: number; start_time: number }[] = [];
  for (const p of victims.values()) {
    if (!signalled.has(p.pgrp)) {
      // Re-check right before the signal so a PID recycled meanwhile is left alone.
      if (processStartTime(p.pid, procRoot) !== p.start_time) continue;
      try {
        Deno.kill(p.pid, "SIGKILL");
      } catch {
        continue; // exited meanwhile
      }
    }
    killed.push({ pid: p.pid, start_time: p.start_time });
  }
  return killed;
}

/** Whether `pid` still runs as the process that started at `start_time` (zombies do not). */
function alive(pid: number, start_time: number, procRoot: string): boolean {
  try {
    const e = parseStat(pid, Deno.readTextFileSync(`${procRoot}/${pid}/stat`));
    return e !== undefined && e.start_time === start_time && e.state !== "Z";
  } catch {
    return false;
  }
}

async function removeContainers(
  records: JobRecord[],
  socketPath: string,
): Promise<{ removed: string[]; failed: JobRecord[] }> {
  const api = createDockerApi(socketPath);
  const removed: string[] = [];
  const failed: JobRecord[] = [];
  try {
    for (const r of records) {
      try {
        const listed = await api.json<ContainerSummary[]>("GET", "/containers/json", {
          query: { all: 1, filters: { label: [`${JOB_TAG_LABEL}=${r.tag}`] } },
          timeoutMs: 30_000,
        });
        const targets = [
          ...(r.container ? [r.container] : []),
          ...(Array.isArray(listed) ? listed.map((c) => c.Id) : []),
        ];
        for (const id of targets) {
          const status = await api.send("DELETE", `/containers/${encodeURIComponent(id)}`, {
            query: { force: 1, v: 1 },
            accept: [404],
            timeoutMs: 30_000,
          });
          if (status !== 404) removed.push(id);
        }
      } catch (error) {
        logger.error("could not remove a leftover job container; will try at the next start", {
          job_id: r.job_id,
          container: r.container,
          error,
        });
        failed.push(r);
      }
    }
  } finally {
    api.close();
  }
  return { removed, failed };
}

/**
 * Kills what a previous run of this agent left running and removes its records; call before
 * claiming anything. Records whose container could not be removed (Docker down) stay for the
 * next start.
 *
 * @example
 * ```ts
 * const reaped = await reapLeftovers(new JobLedger(join(stateDir, "running")), { dockerSocket });
 * ```
 */
export async function reapLeftovers(
  ledger: JobLedger,
  options: ReapOptions = {},
): Promise<ReapResult> {
  const procRoot = options.procRoot ?? "/proc";
  const records = await ledger.list();
  const result: ReapResult = { records, killed: [], containers: [], kept: [] };
  if (!records.length) return result;
  const killed = await reapProcesses(records, procRoot);
  result.killed = killed.map((k) => k.pid);
  // Bounded: SIGKILL takes effect at once unless a process is stuck in the kernel.
  const deadline = Date.now() + (options.waitMs ?? 5000);
  while (killed.some((k) => alive(k.pid, k.start_time, procRoot)) && Date.now() < deadline) {
    await sleep(50);
  }
  const stuck = killed.filter((k) => alive(k.pid, k.start_time, procRoot)).map((k) => k.pid);
  if (stuck.length) logger.error("leftover job processes did not die", { pids: stuck });

  const docker = records.filter((r) => r.executor === "docker");
  if (docker.length && options.dockerSocket) {
    const haveSocket = await Deno.stat(options.dockerSocket).then(() => true, () => false);
    // No socket, no engine: no container of ours can be running.
    if (haveSocket) {
      const { removed, failed } = await removeContainers(docker, options.dockerSocket);
      result.containers = removed;
      result.kept = failed;
    }
  }
  for (const r of records) {
    if (result.kept.includes(r)) continue;
    if (options.jobsDir) {
      await Deno.remove(join(options.jobsDir, `${r.job_id}-${r.attempt}`), { recursive: true })
        .catch(() => {});
    }
    ledger.end(r);
  }
  logger.warn("killed what a previous run of the agent left", {
    jobs: records.map((r) => `${r.job_id}#${r.attempt}`),
    pids: result.killed,
    containers: result.containers,
  });
  return result;
}
