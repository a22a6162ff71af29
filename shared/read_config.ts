/**
 * Reads a config file with a size bound, without parsing it (the YAML parser is in
 * `yaml_config.ts`, loaded only when there is something to parse).
 *
 * @module
 */
import { ConfigError } from "./config_error.ts";

/** Largest config file read (bytes); a 5 MB fleet.yml took the hub to ~780 MB while parsing. */
export const MAX_CONFIG_BYTES = 1_048_576;

/**
 * Reads a config file of at most {@link MAX_CONFIG_BYTES}; `undefined` when it does not exist.
 * Reads in chunks so that a huge file (or `/dev/zero`) is refused without being loaded.
 *
 * @throws {ConfigError} when the file is too large or cannot be read.
 */
export async function readConfigFile(path: string): Promise<string | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(`${path}: cannot read: ${(error as Error).message}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const buf = new Uint8Array(65_536);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      total += n;
      if (total > MAX_CONFIG_BYTES) throw tooLarge(path);
      chunks.push(buf.slice(0, n));
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${path}: cannot read: ${(error as Error).message}`);
  } finally {
    file.close();
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(bytes);
}

/** The error of a file over {@link MAX_CONFIG_BYTES}. */
export function tooLarge(file: string): ConfigError {
  return new ConfigError(
    `${file}: larger than ${MAX_CONFIG_BYTES} bytes (1 MiB), the most a config file may be`,
  );
}
