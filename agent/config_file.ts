/**
 * The schema of `/etc/fleet/agent.yml` and its reader. Apart from `config.ts` so that zod and the
 * YAML parser load only when the agent has a config file with something in it.
 *
 * @module
 */
import { z } from "zod";
import { parseYamlConfig } from "../shared/yaml_config.ts";
import { DurationSchema, SizeSchema } from "../shared/duration.ts";
import { NodeId } from "../shared/protocol/common.ts";

/** The schema of `/etc/fleet/agent.yml`. */
export const AgentFile = z.strictObject({
  hub: z.url().optional(),
  token: z.string().min(1).optional(),
  node_id: NodeId.optional(),
  interval: DurationSchema.optional(),
  state_dir: z.string().min(1).optional(),
  root: z.string().min(1).optional(),
  tegrastats: z.string().min(1).optional(),
  nvidia_smi: z.string().min(1).optional(),
  docker_socket: z.string().min(1).optional(),
  docker_network: z.string().min(1).optional(),
  log_level: z.enum(["debug", "info", "warn", "error"]).optional(),
  log_format: z.enum(["text", "json"]).optional(),
  jobs: z.enum(["on", "off"]).optional(),
  control: z.enum(["on", "off"]).optional(),
  essential_containers: z.array(z.string().min(1).max(128)).optional(),
  spool: z.strictObject({ max_size: SizeSchema.optional(), max_age: DurationSchema.optional() })
    .optional(),
  /** What `cleanup` (CLI, or the hub's node action) does beyond its fixed steps. */
  cleanup: z.strictObject({
    image_age: DurationSchema.optional(),
    journal_size: z.string().regex(/^([1-9][0-9]*[KMGT]?|off)$/, "a size like 500M or 2G, or off")
      .optional(),
    volumes: z.boolean().optional(),
    rotated_logs: z.boolean().optional(),
    tmp_max_age: DurationSchema.optional(),
  }).optional(),
});

/** The file's settings as {@link AgentFile} reads them. */
export type AgentFileValues = z.output<typeof AgentFile>;

/**
 * Parses and validates the text of an agent.yml.
 *
 * @throws {ConfigError} naming the file, line and key of every problem.
 */
export function parseAgentFile(text: string, path: string): AgentFileValues {
  return parseYamlConfig(text, path, AgentFile);
}
