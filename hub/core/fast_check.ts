/**
 * A fast path for zod validation at the HTTP edge: {@link compileCheck} turns a schema into a
 * plain predicate that says "zod would accept this value and return it unchanged". When it says
 * yes, the parsed JSON is used as it is (no zod parse, no copy of every object: on the ingest path
 * that was the validation's time and a good part of the garbage); when it says no, zod runs as
 * before and its answer (the value or the errors naming each field) is the one used. The
 * predicate may be stricter than zod, never looser.
 *
 * It understands what the protocol's request schemas are made of: objects (strict, loose, and the
 * default that strips unknown keys — a value with one goes to zod, which strips it), arrays with
 * length bounds, strings with length bounds and a regex, numbers with bounds and `int()`, booleans,
 * enums, literals, optional and nullable. Anything else (transforms, defaults, refinements,
 * unions, …) makes {@link compileCheck} return null: that schema is always validated by zod.
 *
 * It works in two steps: {@link describeSchema} reads the schema into a {@link Shape}, plain data
 * that can cross to a Worker; {@link compileShape} makes the predicate from it without zod, so the
 * ingest parse thread checks bodies without loading zod and the protocol's schemas.
 *
 * @module
 */
import type { z } from "zod";

/** A compiled check: true only when zod would return `value` unchanged. */
export type FastCheck = (value: unknown) => boolean;

/** What a fast check checks, as plain data (structured-cloneable: bounds may be infinite). */
export type Shape =
  | { type: "number"; min: number; minIncl: boolean; max: number; maxIncl: boolean; int: boolean }
  | { type: "boolean" }
  | { type: "string"; min: number; max: number; regex?: { source: string; flags: string } }
  | { type: "enum" | "literal"; values: unknown[] }
  | { type: "optional" | "nullable"; inner: Shape }
  | { type: "array"; min: number; max: number; element: Shape }
  | { type: "object"; loose: boolean; fields: { key: string; shape: Shape; optional: boolean }[] };

class Unsupported extends Error {}

// deno-lint-ignore no-explicit-any
type Def = any;

function numberShape(checks: Def[]): Shape {
  let min = -Infinity, minIncl = true, max = Infinity, maxIncl = true, int = false;
  for (const c of checks) {
    const d = c._zod.def;
    if (d.check === "greater_than") {
      if (d.value > min || (d.value === min && !d.inclusive)) {
        [min, minIncl] = [d.value, d.inclusive];
      }
    } else if (d.check === "less_than") {
      if (d.value < max || (d.value === max && !d.inclusive)) {
        [max, maxIncl] = [d.value, d.inclusive];
      }
    } else if (d.check === "number_format" && d.format === "safeint") int = true;
    else throw new Unsupported(`number check ${d.check}/${d.format}`);
  }
  return { type: "number", min, minIncl, max, maxIncl, int };
}

function lengthBounds(
  checks: Def[],
  what: string,
): { min: number; max: number; regex?: { source: string; flags: string } } {
  let min = 0, max = Infinity;
  let regex: { source: string; flags: string } | undefined;
  for (const c of checks) {
    const d = c._zod.def;
    if (d.check === "min_length") min = Math.max(min, d.minimum);
    else if (d.check === "max_length") max = Math.min(max, d.maximum);
    else if (d.check === "length_equals") [min, max] = [d.length, d.length];
    else if (what === "string" && d.check === "string_format" && d.format === "regex" && !regex) {
      const pattern = d.pattern as RegExp;
      regex = { source: pattern.source, flags: pattern.flags.replace("g", "") };
    } else throw new Unsupported(`${what} check ${d.check}/${d.format}`);
  }
  return regex ? { min, max, regex } : { min, max };
}

function noChecks(checks: Def[], what: string): void {
  if (checks.length) throw new Unsupported(`${what} checks`);
}

function describe(schema: z.ZodType): Shape {
  const def: Def = (schema as Def)._zod.def;
  const checks: Def[] = def.checks ?? [];
  switch (def.type) {
    case "number":
      return numberShape(checks);
    case "boolean":
      noChecks(checks, "boolean");
      return { type: "boolean" };
    case "string":
      return { type: "string", ...lengthBounds(checks, "string") };
    case "enum":
      noChecks(checks, "enum");
      return { type: "enum", values: Object.values(def.entries as Record<string, unknown>) };
    case "literal":
      noChecks(checks, "literal");
      return { type: "literal", values: [...def.values as unknown[]] };
    case "optional":
    case "nullable":
      noChecks(checks, def.type);
      return { type: def.type, inner: describe(def.innerType) };
    case "array": {
      const { min, max } = lengthBounds(checks, "array");
      return { type: "array", min, max, element: describe(def.element) };
    }
    case "object": {
      noChecks(checks, "object");
      const catchall = def.catchall?._zod.def.type;
      // unknown keys: kept as they are (loose), an error (strict), or stripped (default) —
      // stripping changes the value, so such a value goes to zod.
      if (catchall !== undefined && catchall !== "unknown" && catchall !== "never") {
        throw new Unsupported(`object catchall ${catchall}`);
      }
      const fields = Object.entries(def.shape as Record<string, z.ZodType>).map(([key, field]) => ({
        key,
        shape: describe(field),
        optional: (field as Def)._zod.def.type === "optional",
      }));
      return { type: "object", loose: catchall === "unknown", fields };
    }
    default:
      throw new Unsupported(`schema type ${def.type}`);
  }
}

/**
 * The {@link Shape} of `schema`, or null when the schema uses something a fast check does not
 * understand (then zod alone validates).
 */
export function describeSchema(schema: z.ZodType): Shape | null {
  try {
    return describe(schema);
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}

/** The predicate of a {@link Shape} (no zod needed). */
export function compileShape(shape: Shape): FastCheck {
  switch (shape.type) {
    case "number": {
      const { min, minIncl, max, maxIncl, int } = shape;
      return (v) =>
        typeof v === "number" && Number.isFinite(v) && (!int || Number.isSafeInteger(v)) &&
        (minIncl ? v >= min : v > min) && (maxIncl ? v <= max : v < max);
    }
    case "boolean":
      return (v) => typeof v === "boolean";
    case "string": {
      const { min, max } = shape;
      const regex = shape.regex && new RegExp(shape.regex.source, shape.regex.flags);
      return regex
        ? (v) => typeof v === "string" && v.length >= min && v.length <= max && regex.test(v)
        : (v) => typeof v === "string" && v.length >= min && v.length <= max;
    }
    case "enum": {
      const values = new Set(shape.values);
      return (v) => (typeof v === "string" || typeof v === "number") && values.has(v);
    }
    case "literal": {
      const values = new Set(shape.values);
      return (v) => values.has(v);
    }
    case "optional": {
      const inner = compileShape(shape.inner);
      return (v) => v === undefined || inner(v);
    }
    case "nullable": {
      const inner = compileShape(shape.inner);
      return (v) => v === null || inner(v);
    }
    case "array": {
      const { min, max } = shape;
      const element = compileShape(shape.element);
      return (v) => {
        if (!Array.isArray(v) || v.length < min || v.length > max) return false;
        for (let i = 0; i < v.length; i++) if (!element(v[i])) return false;
        return true;
      };
    }
    case "object": {
      const loose = shape.loose;
      const fields = new Map<string, FastCheck>();
      let required = 0;
      const optional: string[] = [];
      for (const f of shape.fields) {
        fields.set(f.key, compileShape(f.shape));
        if (f.optional) optional.push(f.key);
        else required++;
      }
      return (v) => {
        if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
        const o = v as Record<string, unknown>;
        let seen = 0;
        for (const key in o) {
          const check = fields.get(key);
          if (check === undefined) {
            // zod's copy of a loose object leaves out an own "__proto__": that one goes to zod.
            if (loose && key !== "__proto__") continue;
            return false;
          }
          if (!check(o[key])) return false;
          seen++;
        }
        // Every required key present: the keys seen minus the optional ones present.
        let optionalSeen = 0;
        for (const key of optional) if (key in o) optionalSeen++;
        return seen - optionalSeen === required;
      };
    }
  }
}

/**
 * The fast check of `schema`, or null when the schema uses something it does not understand
 * (then zod alone validates).
 *
 * @example
 * ```ts
 * const fast = compileCheck(IngestBatch);
 * const value = fast?.(body) ? body : IngestBatch.parse(body);
 * ```
 */
export function compileCheck(schema: z.ZodType): FastCheck | null {
  const shape = describeSchema(schema);
  return shape && compileShape(shape);
}
