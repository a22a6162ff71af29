/**
 * Structured logging on stderr, one line per event. Two formats: JSON (`ts`, `level`, `msg`,
 * fields; for journald, files and the tests that parse it) and short human lines (time, level,
 * component, message, key=value) for a terminal. The default is text on a TTY and JSON otherwise;
 * `--log-format` / `FLEET_LOG_FORMAT` choose. Fields whose names look like secrets are replaced
 * by `"[redacted]"` in both formats, so a careless call cannot leak a token or key.
 *
 * @module
 */

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** How lines are written: `json` objects or `text` for people. */
export type LogFormat = "json" | "text";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /token|secret|password|passwd|authorization|cookie|key$/i;

let threshold: LogLevel = (Deno.env.get("FLEET_LOG_LEVEL") as LogLevel | undefined) ?? "info";
if (!(threshold in ORDER)) threshold = "info";

let format: LogFormat = defaultLogFormat(Deno.env.get("FLEET_LOG_FORMAT"));

/** The format for an explicit choice, else text when stderr is a terminal and JSON otherwise. */
export function defaultLogFormat(choice: string | undefined): LogFormat {
  if (choice === "json" || choice === "text") return choice;
  try {
    return Deno.stderr.isTerminal() ? "text" : "json";
  } catch {
    return "json";
  }
}

/** Sets the lowest level that is written. */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/** Sets the line format; `undefined` keeps the terminal-dependent default. */
export function setLogFormat(choice: LogFormat | undefined): void {
  format = defaultLogFormat(choice);
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

function textValue(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
  // Quote only what would make the line ambiguous to read or to split on spaces.
  return typeof v === "string" && (s === "" || /[\s"=]/.test(s)) ? JSON.stringify(s) : s;
}

/**
 * Renders one log line (without the newline) in `fmt`; secrets are redacted in both formats.
 *
 * @example
 * ```ts
 * formatLine("text", new Date(), "info", "listening", { component: "hub", port: 8765 });
 * // "12:00:00.000 INFO  hub listening port=8765"
 * ```
 */
export function formatLine(
  fmt: LogFormat,
  at: Date,
  level: LogLevel,
  msg: string,
  fields: Record<string, unknown>,
): string {
  const safe = redact(fields);
  if (fmt === "json") return JSON.stringify({ ts: at.toISOString(), level, msg, ...safe });
  const { component, ...rest } = safe;
  const time = at.toTimeString().slice(0, 8) + "." + String(at.getMilliseconds()).padStart(3, "0");
  const kv = Object.entries(rest).map(([k, v]) => ` ${k}=${textValue(v)}`).join("");
  const who = component === undefined ? "" : ` ${component}`;
  return `${time} ${level.toUpperCase().padEnd(5)}${who} ${msg}${kv}`;
}

const encoder = new TextEncoder();

/** Writes one log line if `level` passes the threshold. */
export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[threshold]) return;
  const line = formatLine(format, new Date(), level, msg, fields);
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
