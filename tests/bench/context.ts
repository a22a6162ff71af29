/**
 * What `main.ts` lends every phase ({@link PhaseContext}): the run's options, a timestamped log,
 * temp dirs removed at the end, hubs started with the bench's `--hub-args`, and subprocesses
 * that are tracked so they can be stopped by PID whatever happens.
 *
 * @module
 */
import type { Child } from "../helpers/process.ts";
import { type HubProcess, startHub } from "../helpers/hub.ts";
import { benchScript, resultOf } from "./common.ts";

/** Measurement windows of the ingest, sse and agent phases (ms). */
export interface Durations {
  ingestWarmMs: number;
  ingestMs: number;
  sseWarmMs: number;
  sseMs: number;
  agentMs: number;
}

/** The run's options, as `main.ts` parsed them. */
export interface BenchOptions {
  /** Shorter windows and smaller queues. */
  quick: boolean;
  /** Node tokens of the ingest and sse phases. */
  nodes: number;
  /** In-flight ingest requests of the saturating load. */
  concurrency: number;
  sseClients: number;
  /** Extra `serve` flags for every hub. */
  hubArgs: string[];
  durations: Durations;
}

/** What a phase gets: the options and the run's tracked resources. */
export interface PhaseContext extends BenchOptions {
  log(msg: string): void;
  tempDir(prefix: string): Promise<string>;
  /** Registers a subprocess so it is stopped with the run. */
  track(child: Child): Child;
  /** Starts (and tracks) `tests/bench/<name>`. */
  script(name: string, args: string[], denoFlags?: string[]): Child;
  resultOf<T>(child: Child, kind: string, timeoutMs: number): Promise<T>;
  /** A tracked hub on its own temp data dir, with the `--hub-args`. */
  startHub(): Promise<HubProcess>;
  /** Stops the hub and forgets it. */
  stopHub(hub: HubProcess): Promise<void>;
}

/** The context plus the end-of-run cleanup that only `main.ts` calls. */
export interface BenchRun extends PhaseContext {
  /** Stops every tracked subprocess still running. */
  stopAll(): Promise<void>;
  removeTempDirs(): Promise<void>;
}

/** `[bench HH:MM:SS] msg` on stderr, so stdout carries only the table. */
export function log(msg: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** A fresh run's context. */
export function createRun(options: BenchOptions): BenchRun {
  const children = new Set<Child>();
  const tempDirs: string[] = [];
  const track = (child: Child): Child => {
    children.add(child);
    child.status.finally(() => children.delete(child));
    return child;
  };
  const tempDir = async (prefix: string): Promise<string> => {
    const d = await Deno.makeTempDir({ prefix });
    tempDirs.push(d);
    return d;
  };
  return {
    ...options,
    log,
    tempDir,
    track,
    script: (name, args, denoFlags = []) => track(benchScript(name, args, denoFlags)),
    resultOf,
    startHub: async () => {
      const hub = await startHub({
        dataDir: await tempDir("fleet-bench-hub-"),
        args: options.hubArgs,
      });
      track(hub.child);
      return hub;
    },
    stopHub: async (hub) => {
      await hub.stop();
      children.delete(hub.child);
    },
    stopAll: async () => {
      await Promise.all([...children].map((c) => c.stop("SIGTERM", 5000).catch(() => {})));
    },
    removeTempDirs: async () => {
      for (const d of tempDirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    },
  };
}
