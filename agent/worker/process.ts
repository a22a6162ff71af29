/**
 * The `process` executor: runs a job's command on the node itself (hosts without Docker, and the
 * tests). The command runs in its own process group, in the job's temp dir, with the job's env
 * plus `FLEET_JOB_ID`, `FLEET_JOB_ATTEMPT`, `FLEET_JOB_DIR`, `FLEET_JOB_PAYLOAD` and the run's
 * `FLEET_JOB_TAG`; on timeout or cancel the whole group gets SIGTERM, then SIGKILL, so no
 * grandchild survives its job. The group and its leader's start time are handed to the worker
 * the moment the leader exists, so a restarted agent can kill what a killed one left. Its core,
 * {@link runProcessGroup}, also runs the control channel's batch exec.
 *
 * @module
 */
import { lazyImport } from "../../shared/lazy_import.ts";
import type { JobSpec } from "../../shared/protocol/mod.ts";
import type { ExecOptions, ExecResult, Executor } from "./executor.ts";
import { JOB_TAG_ENV, processStartTime } from "./ledger.ts";
import { scopeCommand, scopeResult, type ScopeSupport, scopeSupport } from "./limits.ts";

/** Seconds between SIGTERM and SIGKILL of a job's process group. */
const KILL_GRACE_MS = 2000;

/** Keeps the last `cap` bytes of a stream of text. */
export class OutputTail {
  #chunks: string[] = [];
  #bytes = 0;
  truncated = false;
  readonly cap: number;

  constructor(cap: number) {
    this.cap = cap;
  }

  /** Appends text, dropping the oldest beyond the cap. */
  push(text: string): void {
    this.#chunks.push(text);
    this.#bytes += text.length;
    while (this.#bytes > this.cap && this.#chunks.length > 1) {
      this.#bytes -= this.#chunks.shift()!.length;
      this.truncated = true;
    }
    if (this.#bytes > this.cap) {
      const only = this.#chunks[0];
      this.#chunks[0] = only.slice(only.length - this.cap);
      this.#bytes = this.cap;
      this.truncated = true;
    }
  }

  /** The kept text. */
  toString(): string {
    return this.#chunks.join("");
  }
}

function killGroup(pid: number | undefined, signal: Deno.Signal): void {
  if (pid === undefined) return;
  try {
    Deno.kill(-pid, signal);
  } catch { /* group already gone */ }
}

/** What {@link runProcessGroup} runs, and how. */
export interface ProcessGroupOptions {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Kill the group after this long (`timed_out` in the result). */
  timeoutMs: number;
  /** Aborting kills the group (`cancelled` in the result). */
  signal: AbortSignal;
  /** Most bytes of output kept in the result's `output` (its tail). */
  tailCapBytes: number;
  /** Called with decoded output as it arrives, per pipe; must not throw. */
  onOutput?: (text: string, stream: "stdout" | "stderr") => void;
  /** Called synchronously with the leader's PID (= the group) right after it was spawned. */
  onSpawn?: (pid: number) => void;
}

/**
 * Runs `file args` in its own process group with piped stdout/stderr. On timeout or abort the
 * whole group gets SIGTERM, then SIGKILL after a grace period; when the leader exits, whatever
 * it left running in its group is killed too. Never rejects: a failure to start is `error`.
 *
 * @example
 * ```ts
 * const r = await runProcessGroup({
 *   file: "/bin/sh", args: ["-c", "echo hi"], cwd: "/tmp", env: {}, timeoutMs: 5000,
 *   signal: AbortSignal.timeout(60_000), tailCapBytes: 4096,
 * });
 * ```
 */
export async function runProcessGroup(o: ProcessGroupOptions): Promise<ExecResult> {
  const started_at = Date.now();
  // node:child_process for `detached` (a new session and group), loaded with the first run.
  const { spawn } = await lazyImport<typeof import("node:child_process")>(
    import.meta.url,
    "node:child_process",
  );
  const tail = new OutputTail(o.tailCapBytes);
  return new Promise<ExecResult>((resolve) => {
    let timedOut = false;
    let cancelled = false;
    let settled = false;
    const child = spawn(o.file, o.args, {
      cwd: o.cwd,
      env: o.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid !== undefined) {
      try {
        o.onSpawn?.(child.pid);
      } catch { /* recording where the run is must not break it */ }
    }
    for (const stream of ["stdout", "stderr"] as const) {
      // One streaming decoder per pipe, so a character split across two reads stays whole.
      const decoder = new TextDecoder();
      child[stream]?.on("data", (chunk: Uint8Array) => {
        const text = decoder.decode(chunk, { stream: true });
        if (!text) return;
        tail.push(text);
        try {
          o.onOutput?.(text, stream);
        } catch { /* a log sink must not break the run */ }
      });
    }
    const stop = () => {
      killGroup(child.pid, "SIGTERM");
      setTimeout(() => killGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, o.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    o.signal.addEventListener("abort", onAbort, { once: true });
    if (o.signal.aborted) onAbort();
    const finish = (exit_code: number | null, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal.removeEventListener("abort", onAbort);
      // Leftover background processes of the run die with it.
      killGroup(child.pid, "SIGKILL");
      resolve({
        exit_code,
        timed_out: timedOut,
        cancelled,
        output: tail.toString(),
        truncated: tail.truncated,
        ...(error ? { error } : {}),
        started_at,
        ended_at: Date.now(),
      });
    };
    child.on("error", (e) => finish(null, `cannot start ${o.file}: ${e.message}`));
    child.on("close", (code) => finish(code));
  });
}

/** Options of {@link createProcessExecutor}. */
export interface ProcessExecutorOptions {
  /** Whether limits can be enforced here (default: {@link scopeSupport}, checked once). */
  scopes?: ScopeSupport;
}

/**
 * Creates the process executor. A job with a memory or CPU limit runs in a systemd scope that
 * carries them (see `limits.ts`), or without them, its result saying so.
 *
 * @example
 * ```ts
 * const result = await createProcessExecutor().run(job, { signal, tempDir });
 * ```
 */
export function createProcessExecutor(o: ProcessExecutorOptions = {}): Executor {
  let support = o.scopes;
  return {
    kind: "process",
    async run(job: JobSpec, options: ExecOptions): Promise<ExecResult> {
      const command = job.command;
      if (command === null) {
        const now = Date.now();
        return Promise.resolve({
          exit_code: null,
          timed_out: false,
          cancelled: false,
          output: "",
          truncated: false,
          error: "a process job needs a command",
          started_at: now,
          ended_at: now,
        });
      }
      let [file, args] = typeof command === "string"
        ? ["/bin/sh", ["-c", command]]
        : [command[0], command.slice(1)];
      let unit: string | undefined;
      let unenforced: string | undefined;
      if (job.memory_b || job.cpus) {
        support ??= scopeSupport();
        if (support.ok) {
          unit = `fleet-job-${job.id}-${job.attempt}-${crypto.randomUUID().slice(0, 8)}`;
          ({ file, args } = scopeCommand(unit, job, file, args));
        } else unenforced = support.reason;
      }
      const result = await runProcessGroup({
        file,
        args,
        cwd: options.tempDir,
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
          HOME: Deno.env.get("HOME") ?? "/",
          ...job.env,
          FLEET_JOB_ID: job.id,
          FLEET_JOB_ATTEMPT: String(job.attempt),
          FLEET_JOB_DIR: options.tempDir,
          FLEET_JOB_PAYLOAD: JSON.stringify(job.payload ?? null),
          ...(options.tag ? { [JOB_TAG_ENV]: options.tag } : {}),
        },
        timeoutMs: job.timeout_s * 1000,
        signal: options.signal,
        tailCapBytes: options.outputCapBytes ?? 64 * 1024,
        onOutput: options.onOutput ? (text) => options.onOutput!(text) : undefined,
        onSpawn: options.onHandle
          ? (pid) => options.onHandle!({ pgid: pid, start_time: processStartTime(pid) })
          : undefined,
      });
      if (unit && (await scopeResult(unit)) === "oom-kill") result.oom_killed = true;
      if (unenforced) result.limits_not_enforced = unenforced;
      return result;
    },
  };
}
