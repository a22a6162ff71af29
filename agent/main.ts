/**
 * `fleet-agent`: the node program. Commands: `run` (collect and push metrics), `version`.
 * The same file runs under `deno run` and is what `deno compile` builds.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { AGENT_SETTINGS, loadAgentConfig, RUN_FLAGS } from "./config.ts";
import { runAgent } from "./run.ts";
import { createSampler } from "./collect/sampler.ts";
import { runWorker } from "./worker/worker.ts";
import { createProcessExecutor } from "./worker/process.ts";
import { createDockerExecutor } from "./worker/docker.ts";
import { DEFAULT_DOCKER_SOCKET } from "./docker_api.ts";
import { runCli } from "../shared/cli.ts";
import { settingsHelp } from "../shared/settings.ts";
import { getLogger, setLogLevel } from "../shared/log.ts";
import { VERSION } from "../shared/version.ts";
import type { AgentInfo } from "../shared/protocol.ts";

const HELP = `fleet-agent ${VERSION} — Fleet Commander node agent

Usage: fleet-agent <command> [options]

Commands:
  run        collect metrics every interval and push them to the hub (see 'run --help')
  version    print the version
`;

const RUN_HELP = `Usage: fleet-agent run --hub URL --token T [options]

Options (flag, env twin, default); flags beat env, env beats the config file:
  --config FILE   FLEET_AGENT_CONFIG  [/etc/fleet/agent.yml]  YAML config file
${settingsHelp(AGENT_SETTINGS)}
  -h, --help
`;

async function osName(root: string): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(`${root.replace(/\/$/, "")}/etc/os-release`);
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

async function runCommand(args: string[]): Promise<number> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
    config: { type: "string" },
  };
  for (const f of RUN_FLAGS) options[f] = { type: "string" };
  const { values } = parseArgs({ args, options, allowPositionals: false });
  if (values.help) {
    console.log(RUN_HELP);
    return 0;
  }
  const config = await loadAgentConfig(
    values as Record<string, string | undefined>,
    Deno.env.toObject(),
  );
  setLogLevel(config.logLevel);
  const sampler = createSampler({
    root: config.root,
    tegrastats: config.tegrastats,
    nvidiaSmi: config.nvidiaSmi,
    dockerSocket: config.dockerSocket,
    intervalMs: config.intervalMs,
  });
  getLogger("agent").info("collectors", { collectors: sampler.collectors });
  const agent: AgentInfo = {
    version: VERSION,
    hostname: Deno.hostname(),
    arch: Deno.build.arch,
    os: await osName(config.root),
    kernel: Deno.osRelease(),
  };
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => stop.abort());
  }
  const worker = config.jobs
    ? runWorker({
      hub: config.hub,
      token: config.token,
      stateDir: config.stateDir,
      executors: {
        process: createProcessExecutor(),
        // Docker jobs when this node has an engine (the collector's socket setting decides).
        ...(config.dockerSocket === false ? {} : {
          docker: createDockerExecutor({
            socketPath: config.dockerSocket,
            networkMode: config.dockerNetwork,
          }),
        }),
      },
      dockerSocket: config.dockerSocket === false
        ? undefined
        : config.dockerSocket ?? DEFAULT_DOCKER_SOCKET,
      signal: stop.signal,
    })
    : Promise.resolve();
  await runAgent({
    hub: config.hub,
    token: config.token,
    nodeId: config.nodeId,
    intervalMs: config.intervalMs,
    stateDir: config.stateDir,
    spoolMaxBytes: config.spoolMaxBytes,
    spoolMaxAgeMs: config.spoolMaxAgeMs,
    source: sampler,
    agent,
    signal: stop.signal,
  });
  await worker;
  return 0;
}

/** Runs the CLI with `args`; returns the exit code. */
export function main(args: string[]): Promise<number> {
  return runCli("fleet-agent", HELP, { run: runCommand }, args);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
