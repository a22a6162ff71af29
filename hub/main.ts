/**
 * `fleet-hub`: the control-box program. Commands: `serve`, `token`, `job`, `roamer`, `network`,
 * `swarm`, `backup`, `restore-db`, `mcp`, `version`, `help`. Exit codes: 0 done, 1 refused or
 * failed, 2 usage or configuration error.
 * The same file runs under `deno run` and is what `deno compile` builds.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { HUB_SETTINGS, loadHubConfig, SERVE_FLAGS } from "./core/config.ts";
import { serve } from "./core/serve.ts";
import { EXIT_CODES_HELP, runCli } from "../shared/cli.ts";
import { getLogger } from "../shared/log.ts";
import { settingsHelp } from "../shared/settings.ts";
import { VERSION } from "../shared/version.ts";

const HELP = `fleet-hub ${VERSION} — Fleet Commander hub

Usage: fleet-hub <command> [options]

Commands:
  serve      run the hub: HTTP API, live stream, store (see 'serve --help')
  token      create, list and revoke API tokens (see 'token --help')
  job        submit, list, show, cancel and retry jobs (see 'job --help')
  roamer     list, assign and release roamers (see 'roamer --help')
  network    LAN scans, port scans, WAN checks and node sockets (see 'network --help')
  mcp        serve the fleet to AI assistants over MCP on stdio (see 'mcp --help')
  swarm      Docker Swarm: services, deploy, build, logs, nodes, stacks (see 'swarm --help')
  backup     back up nodes to S3, list, browse, restore, verify (see 'backup --help')
  restore-db bring the hub database back from S3 into an empty data dir
  version    print the version

Quick start:  fleet-hub serve --demo 20     (a simulated fleet of 20 nodes, on 127.0.0.1)

${EXIT_CODES_HELP}
`;

const SERVE_HELP = `Usage: fleet-hub serve [options]

Options (flag, env twin, default); flags beat env, env beats fleet.yml:
${settingsHelp(HUB_SETTINGS)}
  -h, --help

${EXIT_CODES_HELP}
`;

/** Printed when the demo bound loopback on its own: how to let other machines in. */
const EXPOSE_HINT = "listening on 127.0.0.1 only, because the demo's agents run real shell " +
  "commands on this host; to expose it pass --host 0.0.0.0 (or FLEET_HOST, hub.host)";

async function serveCommand(args: string[]): Promise<number> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const f of SERVE_FLAGS) options[f] = { type: "string" };
  const { values } = parseArgs({ args, options, allowPositionals: false });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  const config = await loadHubConfig(
    values as Record<string, string | undefined>,
    Deno.env.toObject(),
  );
  // Listen for signals before anything starts, so a SIGTERM during startup is a clean stop too.
  const stop = Promise.withResolvers<void>();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => stop.resolve());
  }
  const hub = await serve(
    config,
    () => loadHubConfig(values as Record<string, string | undefined>, Deno.env.toObject()),
  );
  Deno.addSignalListener("SIGHUP", () => {
    hub.reload().catch((error) =>
      getLogger("hub").error("reload refused; the running config stays", { detail: error.message })
    );
  });
  if (config.demo > 0) {
    let token = "";
    try {
      token = (await Deno.readTextFile(`${config.dataDir}/admin.token`)).trim();
    } catch { /* admin token file removed by the operator */ }
    console.log(
      `\nFleet Commander demo: ${config.demo} simulated nodes\n  open   ${hub.url}/\n` +
        (token ? `  token  ${token}  (from ${config.dataDir}/admin.token)\n` : "") +
        (config.demoLoopback ? `  local  ${EXPOSE_HINT}\n` : "") +
        "  stop   Ctrl-C\n",
    );
    if (config.demoLoopback) {
      getLogger("hub").info("demo listens on loopback", { hint: EXPOSE_HINT });
    }
  } else {
    console.log(`Fleet Commander hub listening on ${hub.url}`);
  }
  await stop.promise;
  await hub.shutdown();
  return 0;
}

/** Runs the CLI with `args`; returns the exit code. */
export function main(args: string[]): Promise<number> {
  return runCli("fleet-hub", HELP, {
    serve: serveCommand,
    // Each command's code loads when it runs: a serving hub does not hold the CLI and MCP client.
    token: async (a) => (await import("./cli/token.ts")).tokenCommand(a),
    job: async (a) => (await import("./cli/client.ts")).jobCommand(a),
    roamer: async (a) => (await import("./cli/client.ts")).roamerCommand(a),
    network: async (a) => (await import("./cli/network.ts")).networkCommand(a),
    mcp: async (a) => (await import("./cli/mcp.ts")).mcpCommand(a),
    swarm: async (a) => (await import("./cli/swarm.ts")).swarmCommand(a),
    backup: async (a) => (await import("./cli/backup.ts")).backupCommand(a),
    "restore-db": async (a) => (await import("./cli/backup.ts")).restoreDbCommand(a),
  }, args);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
