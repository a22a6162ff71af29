/**
 * Request validation at the HTTP edge: `@hono/zod-validator` with the schemas of
 * `shared/protocol.ts`, failing with a `BadInput` problem that names every field.
 *
 * @module
 */
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { BadInput, issuesToErrors } from "../errors.ts";

/**
 * Validates one part of the request (`json`, `query`, `param`) with `schema`.
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
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      const errors = issuesToErrors(result.error.issues);
      throw new BadInput(
        `invalid ${target === "json" ? "body" : target}: ` +
          errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join("; ") +
          (errors.length > 3 ? ` (and ${errors.length - 3} more)` : ""),
        errors,
      );
    }
  });
}
