/**
 * `fleet-agent`: the node program. Commands: `run` (collect, push, run jobs, hold the control
 * channel), `install`, `uninstall`, `status`, `cleanup`, `recover`, `version`, `help`.
 * The same file runs under `deno run` and is what `deno compile` builds.
 *
 * @module
 */
import { parseArgs } from "../shared/args.ts";
import { AGENT_SETTINGS, loadAgentConfig, RUN_FLAGS } from "./config.ts";
import { startAgent } from "./mod.ts";
import { createSampler } from "./collect/sampler.ts";
import { createProcessExecutor } from "./worker/process.ts";
import type { Executor } from "./worker/executor.ts";
import { DEFAULT_DOCKER_SOCKET } from "../shared/docker_api.ts";
import { EXIT_CODES_HELP, runCli, UsageError } from "../shared/cli.ts";
import type { NodeActionHandlers } from "./node_actions.ts";
import { parseDuration } from "../shared/duration_text.ts";
import { settingsHelp } from "../shared/settings.ts";
import { getLogger, setLogFormat, setLogLevel } from "../shared/log.ts";
import { VERSION } from "../shared/version.ts";
import type { AgentInfo } from "../shared/protocol/mod.ts";
import { lazyImport } from "../shared/lazy_import.ts";

const HELP = `fleet-agent ${VERSION} — Fleet Commander node agent

Usage: fleet-agent <command> [options]

Commands:
  run        collect metrics every interval, push them to the hub, run jobs (see 'run --help')
  install    enroll with the hub and install the systemd units (see 'install --help')
  uninstall  stop and remove the units and the config [--purge: also the state dir]
  status     config, unit states and whether the hub answers
  cleanup    free the node: non-essential containers, unused images, journal, temp
             (see 'cleanup --help'; --dry-run shows the plan)
  recover    boot recovery, run by fleet-recovery.service
             [run's flags] [--attempts 60] [--retry-delay 5s] per step
  version    print the version

${EXIT_CODES_HELP}
`;

const RUN_HELP = `Usage: fleet-agent run --hub URL --token T [options]

Options (flag, env twin, default); flags beat env, env beats the config file:
  --config FILE   FLEET_AGENT_CONFIG  [/etc/fleet/agent.yml]  YAML config file
${settingsHelp(AGENT_SETTINGS)}
  -h, --help
`;

// Commands other than `run`, the Docker executor, recovery and cleanup load when used (through
// lazyImport, out of the start-up module graph; bootstrap/dist.ts embeds each): an agent holds
// in memory only the code its run needs.
const installCode = () =>
  lazyImport<typeof import("./install.ts")>(import.meta.url, "./install.ts");
const recoverCode = () =>
  lazyImport<typeof import("./recover.ts")>(import.meta.url, "./recover.ts");
const cleanupCode = () =>
  lazyImport<typeof import("./node_cleanup.ts")>(import.meta.url, "./node_cleanup.ts");

/** An executor whose code loads with its first job. */
function lazyExecutor(kind: Executor["kind"], load: () => Promise<Executor>): Executor {
  let loaded: Promise<Executor> | undefined;
  return {
    kind,
    run: async (job, options) => await (await (loaded ??= load())).run(job, options),
  };
}

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
  // SIGTERM/SIGINT stop the agent for good; a restart from the hub only stops this round.
  const stopAll = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => stopAll.abort());
  }
  // Under systemd the unit restarts what exits; elsewhere a re-exec would escape whatever
  // supervises this process (a shell, a container's init, a test), so it restarts in place.
  const underSystemd = Boolean(Deno.env.get("INVOCATION_ID"));
  while (!stopAll.signal.aborted) {
    const restart = await runOnce(
      values as Record<string, string | undefined>,
      stopAll.signal,
      underSystemd,
    );
    if (!restart || stopAll.signal.aborted) break;
    if (underSystemd) {
      getLogger("agent").info(
        "restart asked for by the hub: exiting for systemd to start it again",
      );
      break;
    }
    getLogger("agent").info("restart asked for by the hub: starting again in place");
  }
  return 0;
}

/** Runs the agent once with a freshly read config; true when the hub asked for a restart. */
async function runOnce(
  values: Record<string, string | undefined>,
  signal: AbortSignal,
  underSystemd: boolean,
): Promise<boolean> {
  const config = await loadAgentConfig(
    values,
    Deno.env.toObject(),
  );
  setLogLevel(config.logLevel);
  setLogFormat(config.logFormat);
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
  // The collector's socket setting decides whether this node has Docker for jobs and control.
  const dockerSocket = config.dockerSocket === false
    ? undefined
    : config.dockerSocket ?? DEFAULT_DOCKER_SOCKET;
  let restart = false;
  const actions: NodeActionHandlers = {
    cleanupOptions: async (force) => (await cleanupCode()).cleanupOptionsOf(config, force),
    // Bounded: the operator waits for the answer (the boot unit's 60 tries are for a cold start).
    recover: async () => (await recoverCode()).recover(config, { attempts: 3, delayMs: 2000 }),
    restartMode: underSystemd ? "systemd" : "in_place",
    restart: () => {
      restart = true;
      running.stop();
    },
  };
  const running = startAgent({
    hub: config.hub,
    token: config.token,
    nodeId: config.nodeId,
    agent,
    stateDir: config.stateDir,
    intervalMs: config.intervalMs,
    source: sampler,
    spoolMaxBytes: config.spoolMaxBytes,
    spoolMaxAgeMs: config.spoolMaxAgeMs,
    jobs: config.jobs && {
      executors: {
        process: createProcessExecutor(),
        ...(config.dockerSocket === false ? {} : {
          docker: lazyExecutor(
            "docker",
            async () =>
              (await lazyImport<typeof import("./worker/docker.ts")>(
                import.meta.url,
                "./worker/docker.ts",
              )).createDockerExecutor({
                socketPath: config.dockerSocket || undefined,
                networkMode: config.dockerNetwork,
              }),
          ),
        }),
      },
      dockerSocket,
    },
    control: config.control && { dockerSocket: dockerSocket ?? false, actions },
    signal,
  });
  await running.done;
  return restart;
}

const INSTALL_HELP =
  `Usage: fleet-agent install --hub URL --token TOKEN [--root DIR] [--no-systemctl] [--force]

Enrolls this node with the hub (TOKEN: an enrollment token from
'fleet-hub token create --kind enrollment --name NODE', or a node token), writes
/etc/fleet/agent.yml (0600) and the units fleet-agent.service and fleet-recovery.service,
then enables and starts them. Safe to run again.

  --root DIR       write everything below DIR instead of /
  --no-systemctl   write the files but do not call systemctl
  --force          enroll again even if a config for this hub exists
`;

async function installCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      hub: { type: "string" },
      token: { type: "string" },
      root: { type: "string" },
      "no-systemctl": { type: "boolean" },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(INSTALL_HELP);
    return 0;
  }
  const hub = values.hub ?? Deno.env.get("FLEET_HUB");
  const token = values.token ?? Deno.env.get("FLEET_TOKEN");
  if (!hub || !token) throw new UsageError(`--hub and --token are required\n\n${INSTALL_HELP}`);
  await (await installCode()).install({
    hub,
    token,
    root: values.root ?? "",
    systemctl: !values["no-systemctl"],
    force: values.force ?? false,
  });
  console.log(`installed: this node reports to ${hub}`);
  return 0;
}

const UNINSTALL_HELP = `Usage: fleet-agent uninstall [--purge] [--root DIR] [--no-systemctl]

Stops and disables fleet-agent.service and fleet-recovery.service, then removes the units and
/etc/fleet/agent.yml. The node stays in the hub's inventory (revoke its token there).

  --purge          also remove the state dir
  --root DIR       work below DIR instead of /
  --no-systemctl   remove the files but do not call systemctl

${EXIT_CODES_HELP}
`;

const STATUS_HELP = `Usage: fleet-agent status [--root DIR] [--no-systemctl]

Prints the installed config (token redacted), the state of fleet-agent.service and
fleet-recovery.service, and whether the hub answers. Exit 0 when all is well, 1 otherwise.

  --root DIR       read below DIR instead of /
  --no-systemctl   do not ask systemctl for the unit states

${EXIT_CODES_HELP}
`;

const RECOVER_HELP =
  `Usage: fleet-agent recover [run's flags] [--config FILE] [--attempts 60] [--retry-delay 5s]

Boot recovery, run by fleet-recovery.service before the agent: waits for the hub and Docker,
checks swarm membership, starts the essential containers and pulls configs from S3 when set up
(bounded: --attempts tries per step, --retry-delay apart); logs each step and reports the steps
to the hub. Exit 1 if a step failed. Takes the flags of
'fleet-agent run' (see 'run --help') to find the hub and the config.

${EXIT_CODES_HELP}
`;

async function uninstallCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      root: { type: "string" },
      "no-systemctl": { type: "boolean" },
      purge: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(UNINSTALL_HELP);
    return 0;
  }
  await (await installCode()).uninstall({
    root: values.root ?? "",
    systemctl: !values["no-systemctl"],
    purge: values.purge ?? false,
  });
  console.log("uninstalled");
  return 0;
}

async function statusCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      root: { type: "string" },
      "no-systemctl": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(STATUS_HELP);
    return 0;
  }
  return (await installCode()).status({
    root: values.root ?? "",
    systemctl: !values["no-systemctl"],
  });
}

async function recoverCommand(args: string[]): Promise<number> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    config: { type: "string" },
    attempts: { type: "string" },
    "retry-delay": { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const f of RUN_FLAGS) options[f] = { type: "string" };
  const { values } = parseArgs({ args, options });
  if (values.help) {
    console.log(RECOVER_HELP);
    return 0;
  }
  const config = await loadAgentConfig(
    values as Record<string, string | undefined>,
    Deno.env.toObject(),
  );
  setLogLevel(config.logLevel);
  setLogFormat(config.logFormat);
  const attempts = values.attempts === undefined ? undefined : Number(values.attempts);
  if (attempts !== undefined && !(Number.isInteger(attempts) && attempts > 0)) {
    throw new UsageError(`--attempts: not a positive number: ${values.attempts}`);
  }
  const delayMs = values["retry-delay"] === undefined
    ? undefined
    : parseDuration(String(values["retry-delay"]));
  if (values["retry-delay"] !== undefined && !delayMs) {
    throw new UsageError(`--retry-delay: not a duration: ${values["retry-delay"]}`);
  }
  const results = await (await recoverCode()).recover(config, { attempts, delayMs });
  return results.every((r) => r.ok) ? 0 : 1;
}

async function cleanupCommand(args: string[]): Promise<number> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    config: { type: "string" },
    "dry-run": { type: "boolean" },
    force: { type: "boolean" },
    "image-age": { type: "string" },
    "journal-size": { type: "string" },
    volumes: { type: "boolean" },
    "rotated-logs": { type: "boolean" },
    "tmp-age": { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const f of RUN_FLAGS) options[f] = { type: "string" };
  const { values } = parseArgs({ args, options });
  if (values.help) {
    console.log(CLEANUP_HELP);
    return 0;
  }
  // Cleanup works without a hub: only the local settings matter.
  const env = Deno.env.toObject();
  const {
    "dry-run": dryRun,
    force,
    "image-age": imageAge,
    "journal-size": journalSize,
    volumes,
    "rotated-logs": rotatedLogs,
    "tmp-age": tmpAge,
    help: _help,
    ...runFlags
  } = values;
  const config = await loadAgentConfig(
    { hub: "http://127.0.0.1", token: "unused", ...runFlags } as Record<
      string,
      string | undefined
    >,
    env,
  );
  // Flags beat agent.yml's `cleanup:` settings.
  if (imageAge !== undefined) {
    const ms = parseDuration(String(imageAge));
    if (ms === undefined) throw new UsageError(`--image-age: not a duration: ${imageAge}`);
    config.cleanup.imageAgeMs = ms;
  }
  if (journalSize !== undefined) config.cleanup.journalSize = String(journalSize);
  if (volumes) config.cleanup.volumes = true;
  if (rotatedLogs) config.cleanup.rotatedLogs = true;
  if (tmpAge !== undefined) {
    const ms = parseDuration(String(tmpAge));
    if (!ms) throw new UsageError(`--tmp-age: not a duration: ${tmpAge}`);
    config.cleanup.tmpMaxAgeMs = ms;
  }
  const { cleanupOptionsOf, cleanupSkipped, humanBytes, planCleanup, runCleanup } =
    await cleanupCode();
  const o = await cleanupOptionsOf(config, Boolean(force));
  const plan = await planCleanup(o);
  const dry = Boolean(dryRun);
  console.log(`${dry ? "would" : "will"}:${plan.length ? "" : " nothing to do"}`);
  for (const line of cleanupSkipped(o)) console.log(`  ${line}`);
  // Sync needs the hub: the real settings (flags, env, agent.yml), not cleanup's placeholders.
  const hubConfig = await loadAgentConfig(values as Record<string, string | undefined>, env)
    .catch(() => undefined);
  // Loaded here only: the sync code (zod, the API client) is no part of an agent's run.
  const { configApi, configDir, pushConfigs } = await lazyImport<typeof import("./config_sync.ts")>(
    import.meta.url,
    "./config_sync.ts",
  );
  console.log(
    `  sync ${configDir(config.configFile)} to S3${
      hubConfig ? " (through the hub)" : ": skipped (no hub configured)"
    }`,
  );
  for (const a of plan) {
    console.log(`  ${a.kind} ${a.detail}${a.bytes ? ` (${humanBytes(a.bytes)})` : ""}`);
  }
  if (dry) return 0;
  if (hubConfig) {
    const synced = await pushConfigs(
      configApi(hubConfig.hub, hubConfig.token),
      hubConfig.configFile,
    );
    console.log(`sync to S3: ${synced.ok ? "" : "FAILED: "}${synced.detail}`);
  }
  const done = await runCleanup(plan, o);
  console.log(`freed about ${humanBytes(done.freed_b)}`);
  for (const f of done.failed) {
    console.log(`  FAILED ${f.action.kind} ${f.action.detail}: ${f.error}`);
  }
  return done.failed.length ? 1 : 0;
}

const CLEANUP_HELP =
  `Usage: fleet-agent cleanup [--dry-run] [--force] [--image-age 24h] [--journal-size 500M]
                           [--volumes] [--rotated-logs] [--tmp-age 7d]
                           [--docker-socket PATH] [--state-dir DIR] [--root DIR] [--config FILE]

Stops and removes containers not labelled fleet.essential=true, deletes images no remaining
container uses (older than --image-age), vacuums the journal, clears job temp dirs. Prints the
plan first; --dry-run prints only the plan. Refuses while a job container runs unless --force.

Opt-in steps (flags, or agent.yml cleanup: volumes / rotated_logs / tmp_max_age):
  --volumes       remove named volumes no remaining container uses (not fleet.essential=true)
  --rotated-logs  remove rotated logs under /var/log: NAME.1, NAME.2.gz, *.gz/.xz/.bz2/.zst/.lz4,
                  NAME-YYYYMMDD[.gz], *.old (live logs and the journal are never touched)
  --tmp-age 7d    remove files under /tmp not modified for that long (skips sockets, X11/ICE
                  dirs and systemd-private-* dirs of running services)
`;

/** Runs the CLI with `args`; returns the exit code. */
export function main(args: string[]): Promise<number> {
  return runCli("fleet-agent", HELP, {
    run: runCommand,
    install: installCommand,
    uninstall: uninstallCommand,
    status: statusCommand,
    recover: recoverCommand,
    cleanup: cleanupCommand,
  }, args);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
