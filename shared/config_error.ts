/**
 * {@link ConfigError}, apart from the YAML reader so that flag and env handling does not load
 * the YAML parser.
 *
 * @module
 */

/** A config file that cannot be used; `message` lists each problem on its own line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
