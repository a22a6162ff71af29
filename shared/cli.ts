/**
 * The command dispatch both programs share: `<program> <command> [args]`, `version`, `help`, and
 * one place that turns mistakes into a one-line message and an exit code (no stack trace for an
 * operator's typo): 2 for usage and configuration mistakes, 1 for a refusal (the hub or the node
 * said no, or could not be reached).
 *
 * @module
 */
import { ConfigError } from "./config_error.ts";
import { VERSION } from "./version.ts";

/** A command-line mistake: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A refusal or failure the operator did not cause by typing: printed one-line, exit code 1. */
export class RefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefusedError";
  }
}

/** The exit-code line every command's `--help` ends with. */
export const EXIT_CODES_HELP =
  "Exit codes: 0 done, 1 refused or failed (hub said no, hub unreachable), 2 usage or config error";

/** A command: gets its arguments, returns the exit code. */
export type Command = (args: string[]) => Promise<number>;

function isParseArgsError(error: unknown): error is TypeError {
  return error instanceof TypeError && "code" in error &&
    String((error as { code: unknown }).code).startsWith("ERR_PARSE_ARGS");
}

/**
 * Runs `args` against `commands`; returns the exit code.
 *
 * @example
 * ```ts
 * Deno.exit(await runCli("fleet-agent", HELP, { run: runCommand }, Deno.args));
 * ```
 */
export async function runCli(
  program: string,
  help: string,
  commands: Record<string, Command>,
  args: string[],
): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === "version" || command === "--version" || command === "-V") {
      console.log(`${program} ${VERSION}`);
      return 0;
    }
    if (command === undefined || command === "help" || command === "--help" || command === "-h") {
      console.log(help);
      return command === undefined ? 2 : 0;
    }
    const run = Object.hasOwn(commands, command) ? commands[command] : undefined;
    if (!run) throw new UsageError(`unknown command: ${command}\n\n${help}`);
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      console.error(`${program}: ${error.message}`);
      return 2;
    }
    if (error instanceof RefusedError) {
      console.error(`${program}: ${error.message}`);
      return 1;
    }
    if (isParseArgsError(error)) {
      console.error(`${program}: ${error.message}\n(see '${program} ${command} --help')`);
      return 2;
    }
    throw error;
  }
}
