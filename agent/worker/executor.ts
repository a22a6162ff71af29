/**
 * The contract of job executors: run one claimed job to its end and say how it ended. `process`
 * runs a plain command (hosts without Docker, tests); `docker` runs the job's image through the
 * local Engine API. Executors never throw for a job that fails: a non-zero exit, a timeout or a
 * cancel is a result; they throw only when they cannot run anything at all.
 *
 * @module
 */
import type { JobSpec } from "../../shared/protocol.ts";

/** How one run ended. */
export interface ExecResult {
  /** Exit code, or null when the job was killed or never started. */
  exit_code: number | null;
  /** Killed because `timeout_s` passed (the whole process group / container was stopped). */
  timed_out: boolean;
  /** Killed because the signal aborted (job cancelled, agent stopping). */
  cancelled: boolean;
  /** The last `outputCapBytes` of combined stdout and stderr. */
  output: string;
  /** Output was longer than the cap. */
  truncated: boolean;
  /** Why nothing ran (image pull failed, command not found), when that is the case. */
  error?: string;
  started_at: number;
  ended_at: number;
}

/** What an executor is given besides the job. */
export interface ExecOptions {
  /** Aborting stops the job (cancel, agent shutdown). */
  signal: AbortSignal;
  /** A fresh directory for this job; removed by the caller afterwards. */
  tempDir: string;
  /** Most bytes of output kept (default 64 KiB). */
  outputCapBytes?: number;
  /** Called with output as it arrives (for live logs); must not throw. */
  onOutput?: (chunk: string) => void;
}

/** Runs jobs of one executor kind. */
export interface Executor {
  readonly kind: JobSpec["executor"];
  run(job: JobSpec, options: ExecOptions): Promise<ExecResult>;
}
