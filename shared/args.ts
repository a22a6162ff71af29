/**
 * {@link parseArgs}: the subset of `node:util`'s parseArgs the agent uses (string and boolean
 * options, `-x` short booleans, no positionals), with its strict rules and its error codes, so
 * that `runCli` reports mistakes the same way. Deno has no argument parser of its own, and
 * `node:util` costs the agent ~1 MB of Node compatibility code for this alone.
 * `tests/unit/args_test.ts` holds it to `node:util` on many command lines.
 *
 * @module
 */

/** One option: its kind and an optional one-letter alias. */
export interface ArgOption {
  type: "string" | "boolean";
  short?: string;
}

/** What {@link parseArgs} takes. */
export interface ParseArgsConfig<T extends Record<string, ArgOption> = Record<string, ArgOption>> {
  args: string[];
  options: T;
  /** Only `false` (the default) is supported: a positional argument is an error. */
  allowPositionals?: false;
}

/** The parsed values: a string or boolean per option given, by name. */
export type ParsedValues<T extends Record<string, ArgOption> = Record<string, ArgOption>> = {
  [K in keyof T]?: T[K]["type"] extends "string" ? string : boolean;
};

function fail(code: string, message: string): TypeError {
  const error = new TypeError(message) as TypeError & { code: string };
  error.code = code;
  return error;
}

/**
 * Parses `args` strictly, like `node:util` parseArgs with `strict: true`.
 *
 * @example
 * ```ts
 * const { values } = parseArgs({ args: ["--hub", "http://h:8765", "-h"], options: {
 *   hub: { type: "string" }, help: { type: "boolean", short: "h" },
 * } });
 * ```
 * @throws {TypeError} with `code` `ERR_PARSE_ARGS_UNKNOWN_OPTION`,
 * `ERR_PARSE_ARGS_INVALID_OPTION_VALUE` or `ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL`.
 */
export function parseArgs<const T extends Record<string, ArgOption>>(
  config: ParseArgsConfig<T>,
): { values: ParsedValues<T> } {
  const values: Record<string, string | boolean> = {};
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(config.options)) if (o.short) byShort.set(o.short, name);
  const args = config.args;
  const label = (name: string) => {
    const o = config.options[name];
    return `${o.short ? `-${o.short}, ` : ""}--${name}`;
  };
  const set = (name: string, value: string | undefined, raw: string, inline: boolean) => {
    const o = config.options[name];
    if (o.type === "boolean") {
      if (inline) {
        throw fail(
          "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
          `Option '${label(name)}' does not take an argument`,
        );
      }
      values[name] = true;
      return false;
    }
    if (value === undefined) {
      throw fail(
        "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        `Option '${label(name)} <value>' argument missing`,
      );
    }
    if (!inline && value.startsWith("-")) {
      throw fail(
        "ERR_PARSE_ARGS_INVALID_OPTION_VALUE",
        `Option '${
          label(name)
        }' argument is ambiguous.\nDid you forget to specify the option argument for '${raw}'?\nTo specify an option argument starting with a dash use '--${name}=-XYZ'.`,
      );
    }
    values[name] = value;
    return !inline;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      if (i + 1 < args.length) {
        throw fail(
          "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
          `Unexpected argument '${args[i + 1]}'. This command does not take positional arguments`,
        );
      }
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (!Object.hasOwn(config.options, name)) {
        throw fail(
          "ERR_PARSE_ARGS_UNKNOWN_OPTION",
          `Unknown option '--${name}'`,
        );
      }
      if (set(name, eq >= 0 ? arg.slice(eq + 1) : args[i + 1], arg, eq >= 0)) i++;
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      // Short options: `-h`, or several booleans in one (`-hv`).
      for (let j = 1; j < arg.length; j++) {
        const name = byShort.get(arg[j]);
        if (name === undefined) {
          throw fail(
            "ERR_PARSE_ARGS_UNKNOWN_OPTION",
            `Unknown option '-${arg[j]}'`,
          );
        }
        if (config.options[name].type === "string") {
          const rest = arg.slice(j + 1);
          if (set(name, rest || args[i + 1], `-${arg[j]}`, rest !== "")) i++;
          break;
        }
        values[name] = true;
      }
      continue;
    }
    throw fail(
      "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL",
      `Unexpected argument '${arg}'. This command does not take positional arguments`,
    );
  }
  return { values: values as ParsedValues<T> };
}
