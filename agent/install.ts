/**
 * `fleet-agent install | uninstall | status`: turns a copied binary into a managed service.
 * Install enrolls with the hub (trading the one-time enrollment token for this node's own token),
 * writes `/etc/fleet/agent.yml` (0600) and the systemd units, and enables them. Re-running it is
 * safe: an existing config for the same hub is kept (its node token still works; the enrollment
 * token would not). `--root DIR` writes below DIR and `--no-systemctl` skips systemctl, for tests
 * and image builds.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { cpus, totalmem } from "node:os";
import { stringify } from "yaml";
import { z } from "zod";
import { ApiClient, ApiError } from "../shared/api_client.ts";
import { agentUnit, DEFAULT_UNIT_PATHS, recoveryUnit } from "./units.ts";
import { AgentFile } from "./config_file.ts";
import { UsageError } from "../shared/cli.ts";
import { parseYamlConfig, readConfigFile } from "../shared/yaml_config.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("install");

/** Options of {@link install}. */
export interface InstallOptions {
  hub: string;
  token: string;
  /** Filesystem root to install below ("" = the real root). */
  root: string;
  systemctl: boolean;
  /** Enroll again even when a config for this hub exists. */
  force: boolean;
}

const AGENT_SERVICE = "fleet-agent.service";
const RECOVERY_SERVICE = "fleet-recovery.service";

function under(root: string, path: string): string {
  return root ? join(root, path) : path;
}

async function systemctl(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const o = await new Deno.Command("systemctl", { args, stdin: "null" }).output();
    const out = new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);
    return { ok: o.success, out: out.trim() };
  } catch (error) {
    return { ok: false, out: `systemctl not available: ${(error as Error).message}` };
  }
}

async function readConfig(root: string): Promise<Record<string, unknown> | undefined> {
  // The same size-capped, alias-safe loader as `run`; loose, since only hub/token/node_id count.
  try {
    const path = under(root, DEFAULT_UNIT_PATHS.config);
    const text = await readConfigFile(path);
    return text === undefined
      ? undefined
      : parseYamlConfig(text, path, z.record(z.string(), z.unknown()));
  } catch {
    return undefined;
  }
}

async function osName(root: string): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(under(root, "/etc/os-release"));
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** Installs the agent as a service; throws `UsageError` with what to do when it cannot. */
export async function install(o: InstallOptions): Promise<void> {
  const hub = o.hub.replace(/\/+$/, "");
  const existing = await readConfig(o.root);
  let nodeId: string;
  let token: string;
  if (existing && existing.hub === hub && typeof existing.token === "string" && !o.force) {
    token = existing.token;
    nodeId = String(existing.node_id ?? "");
    logger.info("already installed for this hub; keeping the node token", { node_id: nodeId });
  } else {
    const api = new ApiClient({ hub, token: o.token });
    try {
      if (o.token.startsWith("fcn_")) {
        // A node token given directly (re-install, image builds): it names its node.
        nodeId = (await api.self()).node_id;
        token = o.token;
      } else {
        const enrolled = await api.enroll({
          token: o.token,
          hostname: Deno.hostname(),
          arch: Deno.build.arch,
          os: await osName(o.root),
          kernel: Deno.osRelease(),
          cpus: cpus().length,
          mem_b: totalmem(),
        });
        nodeId = enrolled.node_id;
        token = enrolled.token;
      }
    } catch (error) {
      if (error instanceof ApiError) {
        throw new UsageError(`the hub at ${hub} refused the token: ${error.message}`);
      }
      throw new UsageError(`cannot reach the hub at ${hub}: ${(error as Error).message}`);
    }
    logger.info("enrolled", { node_id: nodeId, hub });
  }

  const config = {
    hub,
    token,
    node_id: nodeId,
    state_dir: DEFAULT_UNIT_PATHS.stateDir,
  };
  // The file is read back through the same schema the agent uses, so install never writes one
  // that `run` would refuse.
  AgentFile.parse(config);
  const configPath = under(o.root, DEFAULT_UNIT_PATHS.config);
  await Deno.mkdir(dirname(configPath), { recursive: true, mode: 0o755 });
  const tmp = `${configPath}.tmp`;
  await Deno.writeTextFile(
    tmp,
    `# Written by 'fleet-agent install'. Holds this node's token: keep it 0600.\n${
      stringify(config)
    }`,
    { mode: 0o600 },
  );
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, configPath);
  await Deno.mkdir(under(o.root, DEFAULT_UNIT_PATHS.stateDir), { recursive: true, mode: 0o700 });
  const unitDir = under(o.root, "/etc/systemd/system");
  await Deno.mkdir(unitDir, { recursive: true });
  await Deno.writeTextFile(join(unitDir, AGENT_SERVICE), agentUnit(), { mode: 0o644 });
  await Deno.writeTextFile(join(unitDir, RECOVERY_SERVICE), recoveryUnit(), { mode: 0o644 });
  logger.info("wrote config and units", { config: configPath, units: unitDir });

  if (!o.systemctl) return;
  for (
    const args of [
      ["daemon-reload"],
      ["enable", RECOVERY_SERVICE],
      ["enable", AGENT_SERVICE],
      ["restart", AGENT_SERVICE],
    ]
  ) {
    const r = await systemctl(args);
    if (!r.ok) throw new UsageError(`systemctl ${args.join(" ")} failed: ${r.out}`);
  }
  logger.info("agent service enabled and started", { unit: AGENT_SERVICE });
}

/** Removes the units and the config (and with `purge` the state dir). */
export async function uninstall(
  o: { root: string; systemctl: boolean; purge: boolean },
): Promise<void> {
  if (o.systemctl) {
    for (const unit of [AGENT_SERVICE, RECOVERY_SERVICE]) {
      await systemctl(["disable", "--now", unit]);
    }
  }
  const unitDir = under(o.root, "/etc/systemd/system");
  const paths = [
    join(unitDir, AGENT_SERVICE),
    join(unitDir, RECOVERY_SERVICE),
    under(o.root, DEFAULT_UNIT_PATHS.config),
  ];
  if (o.purge) paths.push(under(o.root, DEFAULT_UNIT_PATHS.stateDir));
  for (const p of paths) {
    await Deno.remove(p, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
  if (o.systemctl) await systemctl(["daemon-reload"]);
  logger.info("uninstalled", { purged_state: o.purge });
}

/** Prints config (token redacted), unit states and whether the hub answers; exit code 0 if all good. */
export async function status(o: { root: string; systemctl: boolean }): Promise<number> {
  const config = await readConfig(o.root);
  let ok = true;
  if (!config) {
    console.log(`config: ${under(o.root, DEFAULT_UNIT_PATHS.config)} missing (not installed)`);
    return 1;
  }
  console.log(`config: ${under(o.root, DEFAULT_UNIT_PATHS.config)}`);
  console.log(`  hub:     ${config.hub}`);
  console.log(`  node_id: ${config.node_id}`);
  console.log(
    `  token:   ${typeof config.token === "string" ? `${config.token.slice(0, 4)}…` : "missing"}`,
  );
  if (o.systemctl) {
    for (const unit of [AGENT_SERVICE, RECOVERY_SERVICE]) {
      const r = await systemctl(["is-active", unit]);
      console.log(`unit ${unit}: ${r.out || "unknown"}`);
      if (unit === AGENT_SERVICE && !r.ok) ok = false;
    }
  }
  try {
    const api = new ApiClient({
      hub: String(config.hub),
      token: String(config.token),
      timeoutMs: 5000,
    });
    const self = await api.self();
    console.log(`hub: reachable, knows this node as ${self.node_id} (last seq ${self.last_seq})`);
  } catch (error) {
    ok = false;
    console.log(`hub: NOT reachable with this token: ${(error as Error).message}`);
  }
  return ok ? 0 : 1;
}
