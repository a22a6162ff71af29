/**
 * Starts the real agent (`agent/main.ts run`) as a subprocess.
 *
 * @module
 */
import { join } from "node:path";
import { Child } from "./process.ts";
import { ROOT } from "./hub.ts";
import { AGENT_V8_FLAGS } from "../../shared/runtime_flags.ts";

/** Options of {@link startAgent}. */
export interface StartAgentOptions {
  hub: string;
  token: string;
  stateDir: string;
  /** Fixture root for /proc and /sys (default: the real `/`). */
  root?: string;
  interval?: string;
  /** Extra `run` flags. */
  args?: string[];
  env?: Record<string, string>;
}

/**
 * Deno's module cache of this process. An agent started with another HOME would otherwise look
 * for its cache under that HOME and download every npm package of the lockfile first.
 */
const DENO_DIR = Deno.env.get("DENO_DIR") ??
  join(Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/root", ".cache"), "deno");

/** Starts an agent; external tools and Docker are off unless `args` turn them on. */
export function startAgent(options: StartAgentOptions): Child {
  return new Child(Deno.execPath(), [
    "run",
    "--allow-all",
    `--v8-flags=${AGENT_V8_FLAGS}`,
    join(ROOT, "agent/main.ts"),
    "run",
    "--hub",
    options.hub,
    "--token",
    options.token,
    "--state-dir",
    options.stateDir,
    "--root",
    options.root ?? "/",
    "--interval",
    options.interval ?? "200ms",
    "--tegrastats",
    "off",
    "--nvidia-smi",
    "off",
    "--docker-socket",
    "off",
    "--config",
    join(ROOT, "tests/fixtures/agent-empty.yml"),
    ...(options.args ?? []),
  ], { env: options.env ? { DENO_DIR, ...options.env } : undefined });
}
