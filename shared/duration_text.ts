/**
 * Durations and sizes as operators write them in flags and YAML: `5s`, `500ms`, `48h`, `30d`,
 * `64MB`. A bare number is seconds (durations) or bytes (sizes). No zod here: the agent parses its
 * flags with these alone; the config-file schemas are in `duration.ts`.
 *
 * @module
 */
const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3,
};

/**
 * Parses a duration into milliseconds, or returns `undefined` when the text is not one.
 *
 * @example
 * ```ts
 * parseDuration("48h"); // 172800000
 * parseDuration("1.5s"); // 1500
 * ```
 */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? "s").toLowerCase()]);
}

/** Parses a size (`64MB`, `512k`, `1048576`) into bytes, or `undefined` when it is not one. */
export function parseSize(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? text : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?b?|k|m|g)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = (m[2] || "b").toLowerCase();
  const factor = SIZE_UNITS[unit];
  return factor === undefined ? undefined : Math.round(Number(m[1]) * factor);
}

/** Formats milliseconds the way `parseDuration` reads them back (`5s`, `48h`). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]]) {
    if (ms >= (size as number) && ms % (size as number) === 0) {
      return `${ms / (size as number)}${unit}`;
    }
  }
  return `${ms}ms`;
}
