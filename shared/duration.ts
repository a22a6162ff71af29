/**
 * Durations and sizes as operators write them in flags and YAML: `5s`, `500ms`, `48h`, `30d`,
 * `64MB`. A bare number is seconds (durations) or bytes (sizes). {@link DurationSchema} and
 * {@link SizeSchema} are the config-file fields of both programs.
 *
 * @module
 */
import { z } from "zod";
import { parseDuration, parseSize } from "./duration_text.ts";

export { formatDuration, parseDuration, parseSize } from "./duration_text.ts";

/**
 * A config-file duration (`5s`, `48h`, or a number of seconds), parsed to milliseconds. 0 is
 * refused like the flags refuse it: a 0 interval would spin, a 0 retention drop everything.
 *
 * @example
 * ```ts
 * const File = z.strictObject({ interval: DurationSchema.optional() });
 * File.parse({ interval: "5s" }); // { interval: 5000 }
 * ```
 */
export const DurationSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms === 0) {
    ctx.addIssue({
      code: "custom",
      message: ms === 0
        ? "must be more than 0"
        : `not a duration: ${v} (use e.g. 500ms, 5s, 48h, 30d)`,
    });
    return z.NEVER;
  }
  return ms;
});

/** A config-file size (`64MB`, `512KB`, or a number of bytes), parsed to bytes; 0 is refused. */
export const SizeSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const b = parseSize(v);
  if (b === undefined || b === 0) {
    ctx.addIssue({
      code: "custom",
      message: b === 0 ? "must be more than 0" : `not a size: ${v} (use e.g. 512KB, 1MB)`,
    });
    return z.NEVER;
  }
  return b;
});
