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
  ], { env: options.env });
}
