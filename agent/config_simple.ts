/**
 * The agent.yml that `fleet-agent install` writes (comments and flat `key: value` lines of plain
 * text values), read without the YAML parser and zod: those two would stay in the agent's memory
 * for its whole life (~20 MB over a 40 MB runtime) to read four lines once.
 *
 * It only ever accepts: a line it is not sure about (a nested map, a list, a quoted or multi-line
 * value, a value YAML reads as a number, boolean or null, a key it does not know, a value the
 * schema would refuse, a duplicate) makes it answer `undefined`, and the caller parses the file
 * with `config_file.ts` (YAML + the strict schema), which also words every error.
 * `tests/unit/config_simple_test.ts` holds its answers to that path's.
 *
 * @module
 */
import type { AgentFileValues } from "./config_file.ts";
import { NODE_ID_PATTERN } from "../shared/protocol/constants.ts";
import { parseDuration } from "../shared/duration_text.ts";

/** A comment or blank line. */
const SKIP = /^[ ]*(?:#.*)?$/;
/** `key: value  # comment` at the top level, the value a plain scalar of safe characters. */
const LINE = /^([a-z_]+):[ ]+([A-Za-z0-9/_][A-Za-z0-9._:/@%+=,~-]*)(?:[ ]+#.*)?$/;
/** Plain scalars YAML 1.2 (core schema) reads as something other than a string. */
const NOT_TEXT =
  /^(?:true|True|TRUE|false|False|FALSE|null|Null|NULL|[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)$/;

const text = (v: string): string => v;
const oneOf = (...choices: string[]) => (v: string): string | undefined =>
  choices.includes(v) ? v : undefined;

/** The keys read here and what each becomes; every other key goes to the full parser. */
const KEYS: Record<string, (v: string) => string | number | undefined> = {
  hub: (v) => URL.canParse(v) ? v : undefined,
  token: text,
  node_id: (v) => NODE_ID_PATTERN.test(v) ? v : undefined,
  interval: (v) => {
    const ms = parseDuration(v);
    return ms ? ms : undefined;
  },
  state_dir: text,
  root: text,
  tegrastats: text,
  nvidia_smi: text,
  docker_socket: text,
  docker_network: text,
  log_level: oneOf("debug", "info", "warn", "error"),
  log_format: oneOf("text", "json"),
  jobs: oneOf("on", "off"),
  control: oneOf("on", "off"),
};

/**
 * Reads a simple agent.yml, or returns `undefined` when the file needs the full parser.
 *
 * @example
 * ```ts
 * readSimpleAgentFile("hub: http://control:8765\ntoken: fcn_x\n"); // { hub: …, token: … }
 * readSimpleAgentFile("spool:\n  max_size: 1GB\n"); // undefined: nested, use config_file.ts
 * ```
 */
export function readSimpleAgentFile(source: string): AgentFileValues | undefined {
  const out: Record<string, string | number> = {};
  for (const line of source.split("\n")) {
    if (SKIP.test(line)) continue;
    const m = LINE.exec(line);
    if (!m) return undefined;
    const [, key, value] = m;
    if (Object.hasOwn(out, key) || !Object.hasOwn(KEYS, key)) return undefined;
    if (value.endsWith(":") || NOT_TEXT.test(value)) return undefined;
    const read = KEYS[key](value);
    if (read === undefined) return undefined;
    out[key] = read;
  }
  return out as AgentFileValues;
}
