/**
 * {@link join} for the agent's own paths (a state dir and fixed names below it), so its run does
 * not load `node:path` and with it Node's compatibility layer.
 *
 * @module
 */

/**
 * Joins path parts with single slashes (a leading `/` stays; `.` and `..` are kept as given).
 *
 * @example
 * ```ts
 * join("/var/lib/fleet-agent/", "spool"); // "/var/lib/fleet-agent/spool"
 * ```
 */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/").replace(/\/{2,}/g, "/");
  return joined === "" ? "." : joined.length > 1 ? joined.replace(/\/$/, "") : joined;
}
