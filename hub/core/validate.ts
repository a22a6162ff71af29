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

/** Values the fast check passed and the handler got as parsed (see {@link usedAsParsed}). */
const AS_PARSED = new WeakSet<object>();

/**
 * The handler's value is the request's own parsed JSON (not zod's copy), so it matches the body
 * text exactly: only for a `validate(..., { markAsParsed: true })`.
 */
export function usedAsParsed(value: unknown): boolean {
  return typeof value === "object" && value !== null && AS_PARSED.has(value);
}

/**
 * The check of one part of the request (`json`, `query`, `param`) against `schema`: the value as
 * parsed when the compiled fast check passes it, else zod's result, else a {@link BadInput} that
 * names the fields. `markAsParsed` records a value used as parsed for {@link usedAsParsed}.
 */
export function checker<T extends z.ZodType>(
  target: keyof ValidationTargets,
  schema: T,
  options: { markAsParsed?: boolean } = {},
): (value: unknown) => z.output<T> {
  const fast = compileCheck(schema);
  return (value) => {
    if (fast?.(value)) {
      if (options.markAsParsed && typeof value === "object" && value !== null) AS_PARSED.add(value);
      return value as z.output<T>;
    }
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const errors = issuesToErrors(result.error.issues);
    throw new BadInput(
      `invalid ${target === "json" ? "body" : target}: ` +
        errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join("; ") +
        (errors.length > 3 ? ` (and ${errors.length - 3} more)` : ""),
      errors,
    );
  };
}

/**
 * Validates one part of the request with `schema` ({@link checker}); the handler reads the
 * parsed value with `c.req.valid(target)`.
 *
 * @example
 * ```ts
 * app.post("/api/v1/tokens", validate("json", TokenCreate), (c) => c.json(c.req.valid("json")));
 * ```
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
  options: { markAsParsed?: boolean } = {},
) {
  const check = checker(target, schema, options);
  return validator(target, (value): z.output<T> => check(value));
}
