/**
 * Scalar settings resolved by precedence: flag > `FLEET_*` env > YAML file > default.
 * Each program lists its settings once (flag, env twin, YAML path, default, help); the CLI's
 * `--help` and the README print the same table.
 *
 * @module
 */
import { ConfigError } from "./config_error.ts";
import { parseDuration, parseSize } from "./duration_text.ts";

/** How a setting's text is read. */
export type SettingKind =
  | "string"
  | "int"
  | "port"
  | "duration"
  | "size"
  | "size-or-off"
  | `enum:${string}`;

/** One setting. */
export interface SettingSpec<K extends string = string> {
  key: K;
  flag: string;
  env: string;
  /** Dotted path in the YAML file, or null when the setting is not in the file. */
  yaml: string | null;
  kind: SettingKind;
  /** Default as text, or null for "no default" (unset). */
  default: string | null;
  help: string;
}

/** Reads one setting's text (`origin` names the flag/variable/file in errors). */
export function parseSetting(kind: SettingKind, raw: string, origin: string): string | number {
  const bad = (what: string) => new ConfigError(`${origin}: ${what}`);
  switch (kind) {
    case "string":
      if (!raw) throw bad("must not be empty");
      return raw;
    case "int":
    case "port": {
      const n = Number(raw);
      if (!/^\d+$/.test(raw.trim()) || (kind === "port" && n > 65535)) {
        throw bad(`not a valid ${kind === "port" ? "port" : "number"}: ${JSON.stringify(raw)}`);
      }
      return n;
    }
    case "duration": {
      const ms = parseDuration(raw);
      if (ms === undefined || ms === 0) {
        throw bad(`not a duration: ${JSON.stringify(raw)} (e.g. 500ms, 5s, 48h)`);
      }
      return ms;
    }
    case "size":
    case "size-or-off": {
      // `off` reads as 0: the feature the size starts is never used.
      if (kind === "size-or-off" && raw.trim().toLowerCase() === "off") return 0;
      const b = parseSize(raw);
      if (b === undefined || b === 0) {
        throw bad(
          `not a size: ${JSON.stringify(raw)} (e.g. 1MB${
            kind === "size-or-off" ? ", or off" : ""
          })`,
        );
      }
      return b;
    }
    default: {
      const choices = kind.slice(5).split("|");
      if (!choices.includes(raw)) {
        throw bad(`must be one of ${choices.join(", ")}, not ${JSON.stringify(raw)}`);
      }
      return raw;
    }
  }
}

function yamlValue(file: unknown, path: string): unknown {
  let v: unknown = file;
  for (const part of path.split(".")) v = (v as Record<string, unknown> | undefined)?.[part];
  return v;
}

/**
 * Resolves every setting. YAML values are taken as already validated by the file's schema.
 *
 * @example
 * ```ts
 * const values = resolveSettings(SPECS, { port: "9000" }, Deno.env.toObject(), file);
 * ```
 */
export function resolveSettings<K extends string>(
  specs: readonly SettingSpec<K>[],
  flags: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
  file: unknown,
): Record<K, string | number | undefined> {
  const out = {} as Record<K, string | number | undefined>;
  for (const s of specs) {
    const fromFlag = flags[s.flag];
    const fromEnv = env[s.env];
    const fromYaml = s.yaml ? yamlValue(file, s.yaml) : undefined;
    if (fromFlag !== undefined) out[s.key] = parseSetting(s.kind, fromFlag, `--${s.flag}`);
    else if (fromEnv !== undefined && fromEnv !== "") {
      out[s.key] = parseSetting(s.kind, fromEnv, s.env);
    } else if (fromYaml !== undefined) out[s.key] = fromYaml as string | number;
    else if (s.default !== null) {
      out[s.key] = parseSetting(s.kind, s.default, `default of --${s.flag}`);
    } else out[s.key] = undefined;
  }
  return out;
}

/** Renders settings as aligned `--help` lines. */
export function settingsHelp(specs: readonly SettingSpec[]): string {
  const rows = specs.map((s) => [`  --${s.flag}`, s.env, s.default ?? "", s.help]);
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${
      r[2] ? `[${r[2]}]`.padEnd(w[2] + 2) : "".padEnd(w[2] + 2)
    }  ${r[3]}`
  ).join("\n");
}
