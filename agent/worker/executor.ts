/**
 * The contract of job executors: run one claimed job to its end and say how it ended. `process`
 * runs a plain command (hosts without Docker, tests); `docker` runs the job's image through the
 * local Engine API. Executors never throw for a job that fails: a non-zero exit, a timeout or a
 * cancel is a result; they throw only when they cannot run anything at all.
 *
 * @module
 */
import type { JobSpec } from "../../shared/protocol/mod.ts";

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
  /** Killed by the kernel for passing its memory limit (the container's or scope's OOM kill). */
  oom_killed?: boolean;
  /** Set when the job asked for limits this node could not apply (e.g. no systemd here). */
  limits_not_enforced?: string;
  started_at: number;
  ended_at: number;
}

/** Where a run can be found again after the agent died: its process group or its container. */
export interface RunHandle {
  /** The run's process group (its leader's PID). */
  pgid?: number;
  /** The leader's start time, clock ticks since boot (field 22 of `/proc/<pid>/stat`). */
  start_time?: number;
  /** A docker run's container name (chosen before the container is created). */
  container?: string;
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
  /**
   * A random name of this run, carried by it (`FLEET_JOB_TAG` in a process's environment, the
   * `fleet.tag` label of a container) so a restarted agent finds what a killed one left.
   */
  tag?: string;
  /** Called synchronously as soon as the run has a process group or a container name. */
  onHandle?: (handle: RunHandle) => void;
}

/** Runs jobs of one executor kind. */
export interface Executor {
  readonly kind: JobSpec["executor"];
  run(job: JobSpec, options: ExecOptions): Promise<ExecResult>;
}
