/**
 * Validation on the ingest hot path, measured: `IngestBatch.safeParse` (zod v4, the hub's), the
 * same engine without its JIT (`jitless`), and, on one sample shape written three ways (zod v4,
 * `zod/mini`, a plain check as a generator would emit it), what each costs. Prints µs per batch
 * of 10 realistic samples. `deno run --allow-all tests/bench/validate_bench.ts`.
 *
 * @module
 */
import { z } from "zod";
import * as zm from "zod/mini";
import { IngestBatch } from "../../shared/protocol/mod.ts";
import { makeSample } from "../helpers/samples.ts";

const batch = {
  node_id: "agx-01",
  agent: { version: "1.0.0", hostname: "agx-01", arch: "arm64" },
  samples: Array.from({ length: 10 }, (_, i) => makeSample(i + 1)),
};

function time(name: string, fn: () => unknown, rounds = 20_000): number {
  for (let i = 0; i < 2_000; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) fn();
  const us = ((performance.now() - t0) * 1000) / rounds;
  console.log(`${name.padEnd(48)} ${us.toFixed(2)} µs / batch of 10`);
  return us;
}

const ok = (r: { success: boolean }) => {
  if (!r.success) throw new Error("fixture refused");
};
time("zod v4 IngestBatch.safeParse (the hub)", () => ok(IngestBatch.safeParse(batch)));

// The sample's core, written three ways: same rules, same field names in errors.
const nn = () => z.number().nonnegative();
const V4 = z.object({
  node_id: z.string().min(1).max(64),
  samples: z.array(
    z.object({
      seq: z.number().int().positive(),
      ts: z.number().int().positive(),
      uptime_s: nn().optional(),
      cpu: z.object({ pct: z.number().min(0).max(100) }).optional(),
      mem: z.object({ total_b: nn(), used_b: nn(), pct: z.number().min(0).max(100) }).optional(),
      load: z.object({ l1: nn(), l5: nn(), l15: nn() }).optional(),
    }).loose(),
  ).min(1).max(1000),
});
const mnn = () => zm.number().check(zm.nonnegative());
const pct = () => zm.number().check(zm.gte(0), zm.lte(100));
const Mini = zm.object({
  node_id: zm.string().check(zm.minLength(1), zm.maxLength(64)),
  samples: zm.array(zm.looseObject({
    seq: zm.number().check(zm.int(), zm.positive()),
    ts: zm.number().check(zm.int(), zm.positive()),
    uptime_s: zm.optional(mnn()),
    cpu: zm.optional(zm.object({ pct: pct() })),
    mem: zm.optional(zm.object({ total_b: mnn(), used_b: mnn(), pct: pct() })),
    load: zm.optional(zm.object({ l1: mnn(), l5: mnn(), l15: mnn() })),
  })).check(zm.minLength(1), zm.maxLength(1000)),
});
type Issue = { path: string; message: string };
// What a generator would emit from the schema above: straight-line checks naming the field.
function plain(v: unknown): Issue[] {
  const issues: Issue[] = [];
  const num = (x: unknown, path: string, min: number, max = Infinity, int = false) => {
    if (typeof x !== "number" || !Number.isFinite(x) || x < min || x > max) {
      issues.push({ path, message: `expected a number from ${min} to ${max}` });
    } else if (int && !Number.isInteger(x)) issues.push({ path, message: "expected an integer" });
  };
  const obj = (x: unknown): x is Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x);
  if (!obj(v)) return [{ path: "", message: "expected an object" }];
  const id = v.node_id;
  if (typeof id !== "string" || id.length < 1 || id.length > 64) {
    issues.push({ path: "node_id", message: "expected 1 to 64 characters" });
  }
  const s = v.samples;
  if (!Array.isArray(s) || s.length < 1 || s.length > 1000) {
    issues.push({ path: "samples", message: "expected 1 to 1000 samples" });
    return issues;
  }
  for (let i = 0; i < s.length; i++) {
    const x = s[i];
    const p = `samples.${i}`;
    if (!obj(x)) {
      issues.push({ path: p, message: "expected an object" });
      continue;
    }
    num(x.seq, `${p}.seq`, 1, Infinity, true);
    num(x.ts, `${p}.ts`, 1, Infinity, true);
    if (x.uptime_s !== undefined) num(x.uptime_s, `${p}.uptime_s`, 0);
    if (x.cpu !== undefined) {
      if (!obj(x.cpu)) issues.push({ path: `${p}.cpu`, message: "expected an object" });
      else num(x.cpu.pct, `${p}.cpu.pct`, 0, 100);
    }
    if (x.mem !== undefined) {
      if (!obj(x.mem)) issues.push({ path: `${p}.mem`, message: "expected an object" });
      else {
        num(x.mem.total_b, `${p}.mem.total_b`, 0);
        num(x.mem.used_b, `${p}.mem.used_b`, 0);
        num(x.mem.pct, `${p}.mem.pct`, 0, 100);
      }
    }
    if (x.load !== undefined) {
      if (!obj(x.load)) issues.push({ path: `${p}.load`, message: "expected an object" });
      else for (const k of ["l1", "l5", "l15"]) num(x.load[k], `${p}.load.${k}`, 0);
    }
  }
  return issues;
}
const core = {
  node_id: batch.node_id,
  samples: batch.samples.map(({ seq, ts, uptime_s, cpu, mem, load }) => ({
    seq,
    ts,
    uptime_s,
    cpu: cpu && { pct: cpu.pct },
    mem: mem && { total_b: mem.total_b, used_b: mem.used_b, pct: mem.pct },
    load,
  })),
};
const a = time("core shape: zod v4", () => ok(V4.safeParse(core)));
const b = time("core shape: zod/mini", () => ok(Mini.safeParse(core)));
const c = time("core shape: plain generated check", () => {
  if (plain(core).length) throw new Error("fixture refused");
});
const bad = structuredClone(core);
(bad.samples[3].mem as { pct: number }).pct = 101;
const named = [
  V4.safeParse(bad).error?.issues[0].path.join("."),
  Mini.safeParse(bad).error?.issues[0].path.join("."),
  plain(bad)[0]?.path,
];
console.log(`bad field named: ${named.join(" | ")}`);
console.log(`ratios: mini/v4 ${(b / a).toFixed(2)}, plain/v4 ${(c / a).toFixed(2)}`);
z.config({ jitless: true });
time("zod v4 IngestBatch.safeParse, jitless", () => ok(IngestBatch.safeParse(batch)));
