/**
 * The compiled fast check in front of zod: whenever it accepts a value, zod accepts it too and
 * returns the same value (never looser); it accepts the ordinary valid batch (or it would save
 * nothing); schemas it does not understand get no fast check. Fuzzed against zod itself with
 * thousands of mutated ingest batches (seeded, so a failure reproduces).
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { compileCheck } from "../../hub/core/fast_check.ts";
import { IngestBatch, SEQ_MAX } from "../../shared/protocol/mod.ts";
import * as protocol from "../../shared/protocol/mod.ts";
import { makeSample } from "../helpers/samples.ts";
import { rng } from "../helpers/rng.ts";

function batch() {
  return {
    node_id: "agx-01",
    agent: { version: "0.1.0", hostname: "agx-01", arch: "arm64" },
    spool_dropped: 0,
    sent_at: Date.now(),
    samples: [
      makeSample(1),
      makeSample(2, {
        disks: [{
          mount: "/",
          device: "/dev/mmcblk0p1",
          fs: "ext4",
          total_b: 1e9,
          used_b: 2e8,
          pct: 20,
        }],
        containers: [{ name: "web", image: "nginx:1", state: "running", cpu_pct: 1 }],
        link: { rtt_ms: 3.5, loss_pct: 0, probes: 20 },
      }),
    ],
  };
}

const fast = compileCheck(IngestBatch)!;

/** Asserts the one rule: fast yes ⇒ zod yes, with the same value. */
function agrees(value: unknown, label: string): boolean {
  const quick = fast(value);
  const slow = IngestBatch.safeParse(value);
  if (quick) {
    assert.ok(slow.success, `${label}: fast accepted what zod refuses: ${slow.error?.message}`);
    assert.deepEqual(slow.data, value, `${label}: zod would have changed the value`);
  }
  return quick;
}

Deno.test("fast check: the ordinary batch passes, and zod returns it unchanged", () => {
  assert.ok(fast, "IngestBatch compiles");
  assert.equal(agrees(batch(), "valid batch"), true);
  assert.equal(agrees(JSON.parse(JSON.stringify(batch())), "parsed JSON"), true);
});

Deno.test("fast check: bounds, types and unknown keys", () => {
  const cases: [string, (b: ReturnType<typeof batch>) => void, boolean][] = [
    ["seq 0", (b) => b.samples[0].seq = 0, false],
    ["seq 2^48", (b) => b.samples[0].seq = SEQ_MAX, true],
    ["seq 2^48 + 1", (b) => b.samples[0].seq = SEQ_MAX + 1, false],
    ["seq 1.5", (b) => b.samples[0].seq = 1.5, false],
    ["pct 100", (b) => b.samples[0].cpu!.pct = 100, true],
    ["pct 100.1", (b) => b.samples[0].cpu!.pct = 100.1, false],
    ["pct Infinity", (b) => b.samples[0].cpu!.pct = Infinity, false],
    ["pct NaN", (b) => b.samples[0].cpu!.pct = NaN, false],
    ["pct as text", (b) => (b.samples[0].cpu as Record<string, unknown>).pct = "5", false],
    ["bad node id", (b) => b.node_id = "-bad", false],
    ["long node id", (b) => b.node_id = "a".repeat(64), false],
    ["no samples", (b) => b.samples = [], false],
    [
      "missing required mem.pct",
      (b) => delete (b.samples[0].mem as Record<string, unknown>).pct,
      false,
    ],
    ["null for an optional", (b) => (b.samples[0] as Record<string, unknown>).load = null, false],
    // Unknown sample keys are allowed (loose) and kept; the hub counts and drops them itself.
    ["unknown sample key", (b) => (b.samples[0] as Record<string, unknown>).npu = { x: 1 }, true],
    // Unknown top-level key: the batch is strict.
    ["unknown batch key", (b) => (b as Record<string, unknown>).extra = 1, false],
    // Unknown key inside a metric: zod strips it, so the fast check leaves the value to zod.
    ["unknown nested key", (b) => (b.samples[0].mem as Record<string, unknown>).x = 1, false],
  ];
  for (const [label, mutate, expected] of cases) {
    const b = batch();
    mutate(b);
    assert.equal(agrees(b, label), expected, label);
  }
  // Stripping: zod accepts the nested unknown key (and removes it); the fast check said no.
  const b = batch();
  (b.samples[0].mem as Record<string, unknown>).x = 1;
  assert.ok(IngestBatch.safeParse(b).success);
});

Deno.test("fast check: never looser than zod on 20,000 mutated batches", () => {
  const random = rng(20261206);
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const values: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    1,
    1.5,
    100,
    100.5,
    -100,
    250,
    251,
    1e300,
    -0,
    NaN,
    Infinity,
    2 ** 48,
    2 ** 53,
    "",
    "x",
    "x".repeat(65),
    "x".repeat(257),
    "agx-01",
    [],
    [1],
    {},
    { a: 1 },
  ];
  let fastYes = 0, zodYes = 0;
  for (let i = 0; i < 20_000; i++) {
    const b = batch() as unknown;
    for (let m = 0, n = 1 + Math.floor(random() * 3); m < n; m++) {
      // Walk to a random object or array inside the batch, then change, drop or add a key.
      let node = b as Record<string, unknown>;
      for (let depth = 0; depth < 6; depth++) {
        const keys = Object.keys(node).filter((k) => typeof node[k] === "object" && node[k]);
        if (!keys.length || random() < 0.3) break;
        node = node[pick(keys)] as Record<string, unknown>;
      }
      const keys = Object.keys(node);
      const op = random();
      if (op < 0.5 && keys.length) node[pick(keys)] = structuredClone(pick(values));
      else if (op < 0.75 && keys.length && !Array.isArray(node)) delete node[pick(keys)];
      else {
        // As JSON.parse makes them: an own key (even "__proto__"); an array gets only indexes.
        const key = Array.isArray(node)
          ? String(node.length)
          : pick(["zz", "pct", "seq", "name", "__proto__"]);
        Object.defineProperty(node, key, {
          value: structuredClone(pick(values)),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    if (agrees(b, `mutation ${i}: ${JSON.stringify(b).slice(0, 300)}`)) fastYes++;
    if (IngestBatch.safeParse(b).success) zodYes++;
  }
  // Both kinds happen: the fuzz reaches accepted and refused values.
  assert.ok(fastYes > 500, `fast accepted ${fastYes}`);
  assert.ok(zodYes > fastYes, `zod accepted ${zodYes}`);
});

Deno.test("fast check: schemas it does not understand are left to zod", () => {
  assert.equal(compileCheck(z.string().transform((s) => s.length)), null);
  assert.equal(compileCheck(z.object({ a: z.number().default(1) })), null);
  assert.equal(compileCheck(z.union([z.string(), z.number()])), null);
  assert.equal(compileCheck(z.string().refine((s) => s !== "x")), null);
  assert.equal(compileCheck(z.object({ a: z.string().trim() })), null);
  // A supported one: enum, literal, nullable, strict.
  const s = compileCheck(
    z.strictObject({ k: z.enum(["a", "b"]), l: z.literal(3), n: z.number().int().nullable() }),
  )!;
  assert.equal(s({ k: "a", l: 3, n: null }), true);
  assert.equal(s({ k: "c", l: 3, n: null }), false);
  assert.equal(s({ k: "a", l: 4, n: 1 }), false);
  assert.equal(s({ k: "a", l: 3, n: 1.5 }), false);
  assert.equal(s({ k: "a", l: 3 }), false);
});

Deno.test("fast check: every protocol schema it compiles agrees with zod on odd values", () => {
  let compiled = 0;
  for (const [name, schema] of Object.entries(protocol)) {
    if (!schema || typeof schema !== "object" || !("_zod" in schema)) continue;
    const check = compileCheck(schema as z.ZodType);
    if (!check) continue;
    compiled++;
    for (const v of [{}, null, "x", 1, [], { a: 1 }, { node_id: "n1" }, true]) {
      const zodSays = (schema as z.ZodType).safeParse(v);
      if (check(v)) {
        assert.ok(zodSays.success, `${name}: fast accepted ${JSON.stringify(v)}`);
        assert.deepEqual(zodSays.data, v, name);
      }
    }
  }
  assert.ok(compiled >= 20, `compiled ${compiled} schemas`);
});
