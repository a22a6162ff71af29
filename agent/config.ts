/**
 * The agent's configuration: flags > `FLEET_*` env > `/etc/fleet/agent.yml` > defaults.
 * The YAML file is validated strictly: unknown keys and wrong types are errors with
 * their line.
 *
 * @module
 */
import { ConfigError } from "../shared/config_error.ts";
import { readConfigFile } from "../shared/read_config.ts";
import { resolveSettings, type SettingSpec } from "../shared/settings.ts";
import { NODE_ID_PATTERN } from "../shared/protocol/constants.ts";
import type { AgentFileValues } from "./config_file.ts";
import { readSimpleAgentFile } from "./config_simple.ts";
import { lazyImport } from "../shared/lazy_import.ts";

/** The agent.yml `cleanup:` settings (the opt-in steps off unless set). */
export interface CleanupSettings {
  /** Images younger than this stay (default 24 h). */
  imageAgeMs: number;
  /** `journalctl --vacuum-size` target; undefined: 500M where journald runs; `off`: never. */
  journalSize: string | undefined;
  volumes: boolean;
  rotatedLogs: boolean;
  tmpMaxAgeMs: number | undefined;
}

/** The resolved configuration of `fleet-agent run`. */
export interface AgentConfig {
  configFile: string | null;
  hub: string;
  token: string;
  nodeId: string | undefined;
  intervalMs: number;
  stateDir: string;
  root: string;
  /** Path, `undefined` = look on PATH, `false` = off. */
  tegrastats: string | false | undefined;
  nvidiaSmi: string | false | undefined;
  dockerSocket: string | false | undefined;
  /** Network mode of job containers (default: the engine's default network). */
  dockerNetwork: string | undefined;
  spoolMaxBytes: number;
  spoolMaxAgeMs: number;
  logLevel: "debug" | "info" | "warn" | "error";
  /** Unset: text on a terminal, JSON otherwise. */
  logFormat: "text" | "json" | undefined;
  /** Claim and run jobs for this node. */
  jobs: boolean;
  /** Hold the control channel (batch exec, terminal, container operations). */
  control: boolean;
  /** Containers recovery keeps running (e.g. portainer_agent). */
  essentialContainers: string[];
  /** What cleanup does (agent.yml `cleanup:` only). */
  cleanup: CleanupSettings;
}

type Key = Exclude<keyof AgentConfig, "configFile">;

/** Every setting of `run`: flag, env twin, YAML key, default. */
export const AGENT_SETTINGS: readonly SettingSpec<Key>[] = [
  {
    key: "hub",
    flag: "hub",
    env: "FLEET_HUB",
    yaml: "hub",
    kind: "string",
    default: null,
    help: "hub base URL, e.g. http://control:8765 (required)",
  },
  {
    key: "token",
    flag: "token",
    env: "FLEET_TOKEN",
    yaml: "token",
    kind: "string",
    default: null,
    help: "this node's token (required)",
  },
  {
    key: "nodeId",
    flag: "node-id",
    env: "FLEET_NODE_ID",
    yaml: "node_id",
    kind: "string",
    default: null,
    help: "node id (default: asked from the hub)",
  },
  {
    key: "intervalMs",
    flag: "interval",
    env: "FLEET_INTERVAL",
    yaml: "interval",
    kind: "duration",
    default: "5s",
    help: "sample interval",
  },
  {
    key: "stateDir",
    flag: "state-dir",
    env: "FLEET_STATE_DIR",
    yaml: "state_dir",
    kind: "string",
    default: "/var/lib/fleet-agent",
    help: "spool and cursor live here",
  },
  {
    key: "root",
    flag: "root",
    env: "FLEET_ROOT",
    yaml: "root",
    kind: "string",
    default: "/",
    help: "filesystem root for /proc and /sys (tests: a fixture dir)",
  },
  {
    key: "tegrastats",
    flag: "tegrastats",
    env: "FLEET_TEGRASTATS",
    yaml: "tegrastats",
    kind: "string",
    default: null,
    help: "tegrastats path, or 'off' (default: found on PATH)",
  },
  {
    key: "nvidiaSmi",
    flag: "nvidia-smi",
    env: "FLEET_NVIDIA_SMI",
    yaml: "nvidia_smi",
    kind: "string",
    default: null,
    help: "nvidia-smi path, or 'off' (default: found on PATH)",
  },
  {
    key: "dockerSocket",
    flag: "docker-socket",
    env: "FLEET_DOCKER_SOCKET",
    yaml: "docker_socket",
    kind: "string",
    default: null,
    help: "Docker socket, or 'off' (default /var/run/docker.sock)",
  },
  {
    key: "dockerNetwork",
    flag: "docker-network",
    env: "FLEET_DOCKER_NETWORK",
    yaml: "docker_network",
    kind: "string",
    default: null,
    help: "network mode of job containers (default: the engine's)",
  },
  {
    key: "spoolMaxBytes",
    flag: "spool-max",
    env: "FLEET_SPOOL_MAX",
    yaml: "spool.max_size",
    kind: "size",
    default: "64MB",
    help: "spool size bound (oldest dropped first)",
  },
  {
    key: "spoolMaxAgeMs",
    flag: "spool-max-age",
    env: "FLEET_SPOOL_MAX_AGE",
    yaml: "spool.max_age",
    kind: "duration",
    default: "24h",
    help: "spool age bound",
  },
  {
    key: "jobs",
    flag: "jobs",
    env: "FLEET_JOBS",
    yaml: "jobs",
    kind: "enum:on|off",
    default: "on",
    help: "claim and run jobs for this node: on or off",
  },
  {
    key: "control",
    flag: "control",
    env: "FLEET_CONTROL",
    yaml: "control",
    kind: "enum:on|off",
    default: "on",
    help: "hold the control channel (exec, terminal, containers): on or off",
  },
  {
    key: "essentialContainers",
    flag: "essential",
    env: "FLEET_ESSENTIAL",
    yaml: null,
    kind: "string",
    default: null,
    help: "comma-separated containers recovery keeps running (agent.yml: essential_containers)",
  },
  {
    key: "logLevel",
    flag: "log-level",
    env: "FLEET_LOG_LEVEL",
    yaml: "log_level",
    kind: "enum:debug|info|warn|error",
    default: "info",
    help: "debug, info, warn or error",
  },
  {
    key: "logFormat",
    flag: "log-format",
    env: "FLEET_LOG_FORMAT",
    yaml: "log_format",
    kind: "enum:text|json",
    default: null,
    help: "text or json (default: text on a terminal, json otherwise)",
  },
];

/** Flags of `run` that take a value (besides `--config`). */
export const RUN_FLAGS: string[] = AGENT_SETTINGS.map((s) => s.flag);

/** Default location of the agent's config file. */
export const DEFAULT_AGENT_CONFIG = "/etc/fleet/agent.yml";

function tool(v: string | number | undefined): string | false | undefined {
  if (v === undefined) return undefined;
  return v === "off" || v === "false" ? false : String(v);
}

/**
 * Resolves the agent configuration.
 *
 * @throws {ConfigError} naming the flag, variable or file line at fault, or a missing
 * required setting.
 */
export async function loadAgentConfig(
  flags: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
): Promise<AgentConfig> {
  const explicit = flags["config"] ?? env["FLEET_AGENT_CONFIG"];
  const path = explicit ?? DEFAULT_AGENT_CONFIG;
  // Same bounded reader as the hub's fleet.yml: size-capped, then parsed alias-safe.
  const text = await readConfigFile(path);
  if (text === undefined && explicit !== undefined) {
    throw new ConfigError(`${path}: cannot read: file not found`);
  }
  // zod and the YAML parser load only for a file beyond what install writes (flat plain values);
  // a missing file, or one of only comments and blank lines, is an empty document.
  const file: AgentFileValues = text === undefined ? {} : readSimpleAgentFile(text) ??
    (await lazyImport<typeof import("./config_file.ts")>(import.meta.url, "./config_file.ts"))
      .parseAgentFile(text, path);
  const v = resolveSettings(AGENT_SETTINGS, flags, env, file);
  const c = file.cleanup ?? {};
  for (const required of ["hub", "token"] as const) {
    if (v[required] === undefined) {
      throw new ConfigError(
        `--${required} is required (or FLEET_${required.toUpperCase()}, or '${required}:' in ${path})`,
      );
    }
  }
  try {
    new URL(String(v.hub));
  } catch {
    throw new ConfigError(`--hub: not a URL: ${v.hub} (e.g. http://control:8765)`);
  }
  if (v.nodeId !== undefined && !NODE_ID_PATTERN.test(String(v.nodeId))) {
    throw new ConfigError(`--node-id: not a valid node id: ${v.nodeId}`);
  }
  return {
    configFile: text === undefined ? null : path,
    hub: String(v.hub),
    token: String(v.token),
    nodeId: v.nodeId as string | undefined,
    intervalMs: v.intervalMs as number,
    stateDir: String(v.stateDir),
    root: String(v.root),
    tegrastats: tool(v.tegrastats),
    nvidiaSmi: tool(v.nvidiaSmi),
    dockerSocket: tool(v.dockerSocket),
    dockerNetwork: v.dockerNetwork as string | undefined,
    spoolMaxBytes: v.spoolMaxBytes as number,
    spoolMaxAgeMs: v.spoolMaxAgeMs as number,
    logLevel: v.logLevel as AgentConfig["logLevel"],
    logFormat: v.logFormat as AgentConfig["logFormat"],
    jobs: v.jobs === "on",
    control: v.control === "on",
    essentialContainers: v.essentialContainers !== undefined
      ? String(v.essentialContainers).split(",").map((x) => x.trim()).filter(Boolean)
      : file.essential_containers ?? [],
    cleanup: {
      imageAgeMs: c.image_age ?? 24 * 3_600_000,
      journalSize: c.journal_size,
      volumes: c.volumes ?? false,
      rotatedLogs: c.rotated_logs ?? false,
      tmpMaxAgeMs: c.tmp_max_age,
    },
  };
}
