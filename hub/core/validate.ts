/**
 * Request validation at the HTTP edge with the zod schemas of `shared/protocol/`, failing with
 * a `BadInput` problem that names every field. Built on `hono/validator` with zod's synchronous
 * `safeParse` (what `@hono/zod-validator` does, minus its async parse, which costs ingest ~15 %).
 * A value the schema's compiled fast check (`fast_check.ts`) passes is used as parsed; zod runs
 * on the rest and decides (and names the bad fields).
 *
 * @module
 */
import { validator } from "hono/validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { BadInput, issuesToErrors } from "./errors.ts";
import { compileCheck } from "./fast_check.ts";

/**
 * Validates one part of the request (`json`, `query`, `param`) with `schema`; the handler reads
 * the parsed value with `c.req.valid(target)`.
 *
 * @example
 * ```ts
 * app.post("/api/v1/tokens", validate("json", TokenCreate), (c) => c.json(c.req.valid("json")));
 * ```
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  const fast = compileCheck(schema);
  return validator(target, (value): z.output<T> => {
    if (fast?.(value)) return value as z.output<T>;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const errors = issuesToErrors(result.error.issues);
    throw new BadInput(
      `invalid ${target === "json" ? "body" : target}: ` +
        errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join("; ") +
        (errors.length > 3 ? ` (and ${errors.length - 3} more)` : ""),
      errors,
    );
  });
}
