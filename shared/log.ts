/**
 * Structured logging: one JSON object per line on stderr (`ts`, `level`, `msg`, fields). Fields
 * whose names look like secrets are replaced by `"[redacted]"` so a careless call cannot leak a
 * token or key.
 *
 * @module
 */

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /token|secret|password|passwd|authorization|cookie|key$/i;

let threshold: LogLevel = (Deno.env.get("FLEET_LOG_LEVEL") as LogLevel | undefined) ?? "info";
if (!(threshold in ORDER)) threshold = "info";

/** Sets the lowest level that is written. */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = "[redacted]";
    else if (v instanceof Error) out[k] = v.message;
    else out[k] = v;
  }
  return out;
}

const encoder = new TextEncoder();

/** Writes one log line if `level` passes the threshold. */
export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...redact(fields) });
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr closed (e.g. parent went away): logging must never crash the program.
  }
}

/** A logger bound to a component name. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Returns a logger that adds `component` to every line.
 *
 * @example
 * ```ts
 * const logger = getLogger("ingest");
 * logger.info("batch stored", { node_id: "agx-01", samples: 3 });
 * ```
 */
export function getLogger(component: string): Logger {
  const at = (level: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) =>
    log(level, msg, { component, ...fields });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
