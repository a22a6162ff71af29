/**
 * The `process` executor: runs a job's command on the node itself (hosts without Docker, and the
 * tests). The command runs in its own process group, in the job's temp dir, with the job's env
 * plus `FLEET_JOB_ID`, `FLEET_JOB_ATTEMPT`, `FLEET_JOB_DIR` and `FLEET_JOB_PAYLOAD`; on timeout
 * or cancel the whole group gets SIGTERM, then SIGKILL, so no grandchild survives its job.
 *
 * @module
 */
import { spawn } from "node:child_process";
import type { JobSpec } from "../../shared/protocol.ts";
import type { ExecOptions, ExecResult, Executor } from "./executor.ts";

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

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch { /* group already gone */ }
}

/**
 * Creates the process executor.
 *
 * @example
 * ```ts
 * const result = await createProcessExecutor().run(job, { signal, tempDir });
 * ```
 */
export function createProcessExecutor(): Executor {
  return {
    kind: "process",
    run(job: JobSpec, options: ExecOptions): Promise<ExecResult> {
      const started_at = Date.now();
      const tail = new OutputTail(options.outputCapBytes ?? 64 * 1024);
      const command = job.command;
      if (command === null) {
        return Promise.resolve({
          exit_code: null,
          timed_out: false,
          cancelled: false,
          output: "",
          truncated: false,
          error: "a process job needs a command",
          started_at,
          ended_at: Date.now(),
        });
      }
      const [file, args] = typeof command === "string"
        ? ["/bin/sh", ["-c", command]]
        : [command[0], command.slice(1)];
      const env: Record<string, string> = {
        PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/",
        ...job.env,
        FLEET_JOB_ID: job.id,
        FLEET_JOB_ATTEMPT: String(job.attempt),
        FLEET_JOB_DIR: options.tempDir,
        FLEET_JOB_PAYLOAD: JSON.stringify(job.payload ?? null),
      };
      return new Promise<ExecResult>((resolve) => {
        let timedOut = false;
        let cancelled = false;
        let settled = false;
        const child = spawn(file, args, {
          cwd: options.tempDir,
          env,
          detached: true,
          stdio: ["ignore", "pipe", "pipe"],
        });
        const onData = (chunk: Uint8Array) => {
          const text = new TextDecoder().decode(chunk);
          tail.push(text);
          try {
            options.onOutput?.(text);
          } catch { /* a log sink must not break the job */ }
        };
        child.stdout?.on("data", onData);
        child.stderr?.on("data", onData);
        const stop = () => {
          killGroup(child.pid, "SIGTERM");
          setTimeout(() => killGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
        };
        const timer = setTimeout(() => {
          timedOut = true;
          stop();
        }, job.timeout_s * 1000);
        const onAbort = () => {
          cancelled = true;
          stop();
        };
        options.signal.addEventListener("abort", onAbort, { once: true });
        if (options.signal.aborted) onAbort();
        const finish = (exit_code: number | null, error?: string) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          options.signal.removeEventListener("abort", onAbort);
          // Leftover background processes of the job die with it.
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
        child.on("error", (e) => finish(null, `cannot start ${file}: ${e.message}`));
        child.on("close", (code) => finish(code));
      });
    },
  };
}
