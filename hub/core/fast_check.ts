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
 * @module
 */
import type { z } from "zod";

/** A compiled check: true only when zod would return `value` unchanged. */
export type FastCheck = (value: unknown) => boolean;

class Unsupported extends Error {}

// deno-lint-ignore no-explicit-any
type Def = any;

function numberCheck(checks: Def[]): FastCheck {
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
  return (v) =>
    typeof v === "number" && Number.isFinite(v) && (!int || Number.isSafeInteger(v)) &&
    (minIncl ? v >= min : v > min) && (maxIncl ? v <= max : v < max);
}

function lengthBounds(checks: Def[], what: string): { min: number; max: number; regex?: RegExp } {
  let min = 0, max = Infinity;
  let regex: RegExp | undefined;
  for (const c of checks) {
    const d = c._zod.def;
    if (d.check === "min_length") min = Math.max(min, d.minimum);
    else if (d.check === "max_length") max = Math.min(max, d.maximum);
    else if (d.check === "length_equals") [min, max] = [d.length, d.length];
    else if (what === "string" && d.check === "string_format" && d.format === "regex" && !regex) {
      regex = new RegExp(
        (d.pattern as RegExp).source,
        (d.pattern as RegExp).flags.replace("g", ""),
      );
    } else throw new Unsupported(`${what} check ${d.check}/${d.format}`);
  }
  return { min, max, regex };
}

function compile(schema: z.ZodType): FastCheck {
  const def: Def = (schema as Def)._zod.def;
  const checks: Def[] = def.checks ?? [];
  switch (def.type) {
    case "number":
      return numberCheck(checks);
    case "boolean":
      if (checks.length) throw new Unsupported("boolean checks");
      return (v) => typeof v === "boolean";
    case "string": {
      const { min, max, regex } = lengthBounds(checks, "string");
      return regex
        ? (v) => typeof v === "string" && v.length >= min && v.length <= max && regex.test(v)
        : (v) => typeof v === "string" && v.length >= min && v.length <= max;
    }
    case "enum": {
      if (checks.length) throw new Unsupported("enum checks");
      const values = new Set(Object.values(def.entries as Record<string, unknown>));
      return (v) => (typeof v === "string" || typeof v === "number") && values.has(v);
    }
    case "literal": {
      if (checks.length) throw new Unsupported("literal checks");
      const values = new Set(def.values as unknown[]);
      return (v) => values.has(v);
    }
    case "optional": {
      if (checks.length) throw new Unsupported("optional checks");
      const inner = compile(def.innerType);
      return (v) => v === undefined || inner(v);
    }
    case "nullable": {
      if (checks.length) throw new Unsupported("nullable checks");
      const inner = compile(def.innerType);
      return (v) => v === null || inner(v);
    }
    case "array": {
      const { min, max } = lengthBounds(checks, "array");
      const element = compile(def.element);
      return (v) => {
        if (!Array.isArray(v) || v.length < min || v.length > max) return false;
        for (let i = 0; i < v.length; i++) if (!element(v[i])) return false;
        return true;
      };
    }
    case "object": {
      if (checks.length) throw new Unsupported("object checks");
      const catchall = def.catchall?._zod.def.type;
      // unknown keys: kept as they are (loose), an error (strict), or stripped (default) —
      // stripping changes the value, so such a value goes to zod.
      if (catchall !== undefined && catchall !== "unknown" && catchall !== "never") {
        throw new Unsupported(`object catchall ${catchall}`);
      }
      const loose = catchall === "unknown";
      const fields = new Map<string, FastCheck>();
      let required = 0;
      const optional: string[] = [];
      for (const [key, field] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        fields.set(key, compile(field));
        const t = (field as Def)._zod.def.type;
        if (t === "optional") optional.push(key);
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
    default:
      throw new Unsupported(`schema type ${def.type}`);
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
  try {
    return compile(schema);
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}
