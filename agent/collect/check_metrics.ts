/**
 * The sampler's check of its own output against the sample schema, in plain code: the same
 * bounds as `SampleMetrics` in `shared/protocol/samples.ts` (the hub still validates every pushed
 * sample with zod), without loading zod into the agent, which would more than double what it adds
 * to the runtime's memory. `tests/unit/check_metrics_test.ts` holds both to the same verdict on
 * valid samples and on every field broken in many ways.
 *
 * Like `z.object`, unknown keys are dropped and optional fields may be absent or undefined.
 *
 * @module
 */
import type { SampleMetrics } from "../../shared/protocol/mod.ts";

/** Why a value failed: where (below the checked value) and what. */
class Bad {
  constructor(readonly path: (string | number)[], readonly message: string) {}
}

type Check = ((v: unknown) => unknown) & { optional?: boolean };

function num(o: { min?: number; max?: number; int?: boolean } = {}): Check {
  return (v) => {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      return new Bad([], "expected a finite number");
    }
    if (o.int && !Number.isSafeInteger(v)) return new Bad([], "expected an integer");
    if (o.min !== undefined && v < o.min) return new Bad([], `too small: must be >= ${o.min}`);
    if (o.max !== undefined && v > o.max) return new Bad([], `too big: must be <= ${o.max}`);
    return v;
  };
}

function str(min: number, max: number): Check {
  return (v) => {
    if (typeof v !== "string") return new Bad([], "expected a string");
    if (v.length < min) return new Bad([], `too short: at least ${min} characters`);
    if (v.length > max) return new Bad([], `too long: at most ${max} characters`);
    return v;
  };
}

const bool: Check = (v) => typeof v === "boolean" ? v : new Bad([], "expected a boolean");

function opt(check: Check): Check {
  const c: Check = (v) => check(v);
  c.optional = true;
  return c;
}

function arr(item: Check, max: number): Check {
  return (v) => {
    if (!Array.isArray(v)) return new Bad([], "expected an array");
    if (v.length > max) return new Bad([], `too big: at most ${max} items`);
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) {
      const r = item(v[i]);
      if (r instanceof Bad) return new Bad([i, ...r.path], r.message);
      out.push(r);
    }
    return out;
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function obj(shape: Record<string, Check>): Check {
  return (v) => {
    if (!isObject(v)) return new Bad([], "expected an object");
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(shape)) {
      const value = v[key];
      if (value === undefined) {
        if (!check.optional) return new Bad([key], "required");
        if (Object.hasOwn(v, key)) out[key] = undefined;
        continue;
      }
      const r = check(value);
      if (r instanceof Bad) return new Bad([key, ...r.path], r.message);
      out[key] = r;
    }
    return out;
  };
}

const finite = num();
const nonNeg = num({ min: 0 });
const pct = num({ min: 0, max: 100 });
const shortText = str(1, 256);

const MemUsage = obj({
  total_b: nonNeg,
  used_b: nonNeg,
  available_b: opt(nonNeg),
  pct: pct,
});

/** Every top-level field of a sample's metrics and its check (mirrors `SampleMetrics`). */
const FIELDS: Record<string, Check> = {
  uptime_s: opt(nonNeg),
  cpu: opt(obj({
    pct: pct,
    cores: opt(arr(obj({ pct: opt(pct), mhz: opt(nonNeg), online: opt(bool) }), 1024)),
  })),
  load: opt(obj({ l1: nonNeg, l5: nonNeg, l15: nonNeg })),
  mem: opt(MemUsage),
  swap: opt(MemUsage),
  disks: opt(arr(
    obj({
      mount: shortText,
      device: opt(str(0, 256)),
      fs: opt(str(0, 64)),
      total_b: nonNeg,
      used_b: nonNeg,
      pct: pct,
    }),
    256,
  )),
  disk_io: opt(arr(obj({ device: shortText, read_bps: nonNeg, write_bps: nonNeg }), 256)),
  net: opt(arr(
    obj({
      iface: shortText,
      rx_bps: nonNeg,
      tx_bps: nonNeg,
      rx_b: opt(nonNeg),
      tx_b: opt(nonNeg),
    }),
    256,
  )),
  temps: opt(arr(obj({ name: shortText, c: num({ min: -100, max: 250 }) }), 256)),
  gpus: opt(arr(
    obj({
      index: opt(num({ min: 0, int: true })),
      name: opt(str(0, 256)),
      util_pct: opt(pct),
      freq_mhz: opt(nonNeg),
      mem_used_b: opt(nonNeg),
      mem_total_b: opt(nonNeg),
      temp_c: opt(finite),
      power_mw: opt(nonNeg),
    }),
    64,
  )),
  emc: opt(obj({ util_pct: opt(pct), freq_mhz: opt(nonNeg) })),
  power: opt(arr(obj({ rail: shortText, mw: nonNeg, avg_mw: opt(nonNeg) }), 64)),
  containers: opt(arr(
    obj({
      id: opt(str(0, 128)),
      name: shortText,
      image: str(0, 512),
      state: str(0, 64),
      status: opt(str(0, 256)),
      cpu_pct: opt(nonNeg),
      mem_b: opt(nonNeg),
      mem_limit_b: opt(nonNeg),
    }),
    1000,
  )),
  link: opt(obj({
    rtt_ms: opt(num({ min: 0, max: 3_600_000 })),
    loss_pct: opt(pct),
    probes: num({ min: 0, max: 1000, int: true }),
  })),
};

/** The top-level field names {@link checkMetrics} knows (those of `SampleMetrics`). */
export const METRIC_FIELDS: readonly string[] = Object.keys(FIELDS);

/** The checked metrics, or each failing top-level field ("" for the whole value) and why. */
export type MetricsCheck =
  | { ok: true; data: SampleMetrics }
  | { ok: false; fields: Map<string, string> };

/**
 * Checks one sample's metrics; unknown keys are dropped from `data`.
 *
 * @example
 * ```ts
 * const r = checkMetrics({ load: { l1: 1, l5: 1, l15: -1 } });
 * // r.ok === false, r.fields: "load" → "l15: too small: must be >= 0"
 * ```
 */
export function checkMetrics(value: unknown): MetricsCheck {
  if (!isObject(value)) return { ok: false, fields: new Map([["", "expected an object"]]) };
  const data: Record<string, unknown> = {};
  const fields = new Map<string, string>();
  for (const [key, check] of Object.entries(FIELDS)) {
    const v = value[key];
    if (v === undefined) {
      if (Object.hasOwn(value, key)) data[key] = undefined;
      continue;
    }
    const r = check(v);
    if (r instanceof Bad) {
      fields.set(key, r.path.length ? `${r.path.join(".")}: ${r.message}` : r.message);
    } else data[key] = r;
  }
  return fields.size ? { ok: false, fields } : { ok: true, data: data as SampleMetrics };
}
