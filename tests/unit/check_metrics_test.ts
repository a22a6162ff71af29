// The agent's plain check of its samples (agent/collect/check_metrics.ts) against the zod schema
// the hub validates with: same verdict per top-level field on valid samples and on every leaf
// broken in many ways, same output (unknown keys dropped).
import assert from "node:assert/strict";
import { checkMetrics, METRIC_FIELDS } from "../../agent/collect/check_metrics.ts";
import { createSampler } from "../../agent/collect/sampler.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";

/** A sample with every field, several items per list and every optional leaf set. */
const FULL = {
  uptime_s: 1234.5,
  cpu: {
    pct: 12.5,
    cores: [{ pct: 3, mhz: 1420, online: true }, { pct: 0, online: false }, {}],
  },
  load: { l1: 0.5, l5: 0.25, l15: 0 },
  mem: { total_b: 8e9, used_b: 4e9, available_b: 3e9, pct: 50 },
  swap: { total_b: 0, used_b: 0, pct: 0 },
  disks: [{
    mount: "/",
    device: "/dev/nvme0n1p1",
    fs: "ext4",
    total_b: 1e11,
    used_b: 5e10,
    pct: 50,
  }],
  disk_io: [{ device: "nvme0n1", read_bps: 10, write_bps: 20 }],
  net: [{ iface: "eth0", rx_bps: 1, tx_bps: 2, rx_b: 3, tx_b: 4 }],
  temps: [{ name: "CPU", c: 41.5 }, { name: "cold", c: -20 }],
  gpus: [{
    index: 0,
    name: "GB10",
    util_pct: 3,
    freq_mhz: 1377,
    mem_used_b: 1,
    mem_total_b: 2,
    temp_c: 40,
    power_mw: 5000,
  }],
  emc: { util_pct: 1, freq_mhz: 2133 },
  power: [{ rail: "VDD_IN", mw: 5000, avg_mw: 4800 }],
  containers: [{
    id: "abc",
    name: "portainer_agent",
    image: "portainer/agent",
    state: "running",
    status: "Up 2 hours",
    cpu_pct: 0.5,
    mem_b: 1e6,
    mem_limit_b: 2e6,
  }],
  link: { rtt_ms: 1.5, loss_pct: 0, probes: 20 },
};

const BAD_VALUES: unknown[] = [
  -1,
  -101,
  101,
  251,
  1.5,
  2 ** 53,
  NaN,
  Infinity,
  3_600_001,
  1001,
  "",
  "x",
  "a".repeat(257),
  "a".repeat(513),
  null,
  true,
  [],
  {},
];

/** Every leaf path of `v` (array items and object keys). */
function leaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, [...path, i]));
  if (typeof v === "object" && v !== null) {
    return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
  }
  return [path];
}

function setIn(v: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let at = copy;
  for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, unknown>;
  at[path[path.length - 1]] = value;
  return copy;
}

function zodVerdict(v: unknown): { ok: boolean; keys: string[]; data?: unknown } {
  const r = SampleMetrics.safeParse(v);
  if (r.success) return { ok: true, keys: [], data: r.data };
  return {
    ok: false,
    keys: [...new Set(r.error.issues.map((i) => String(i.path[0] ?? "")))].sort(),
  };
}

function plainVerdict(v: unknown): { ok: boolean; keys: string[]; data?: unknown } {
  const r = checkMetrics(v);
  return r.ok
    ? { ok: true, keys: [], data: r.data }
    : { ok: false, keys: [...r.fields.keys()].sort() };
}

Deno.test("checkMetrics agrees with the SampleMetrics schema", async (t) => {
  await t.step("the same fields", () => {
    assert.deepEqual([...METRIC_FIELDS].sort(), Object.keys(SampleMetrics.shape).sort());
  });

  await t.step("valid samples pass with the same output, unknown keys dropped", async () => {
    const sampler = createSampler({
      root: "/",
      tegrastats: false,
      nvidiaSmi: false,
      dockerSocket: false,
      intervalMs: 1000,
    });
    const real = [await sampler.collect(Date.now())];
    await new Promise((r) => setTimeout(r, 50));
    real.push(await sampler.collect(Date.now()));
    await sampler.close();
    for (const v of [FULL, {}, ...real, { ...FULL, extra: 1, cpu: { pct: 1, extra: "x" } }]) {
      const z = zodVerdict(v);
      assert.equal(z.ok, true, JSON.stringify(z));
      assert.deepEqual(plainVerdict(v), z);
    }
  });

  await t.step("every leaf broken in many ways fails the same top-level field", () => {
    let cases = 0;
    for (const path of leaves(FULL)) {
      for (const bad of [...BAD_VALUES, undefined]) {
        const v = setIn(FULL, path, bad);
        assert.deepEqual(plainVerdict(v), zodVerdict(v), `${path.join(".")} = ${String(bad)}`);
        cases++;
      }
    }
    assert.ok(cases > 1000, `${cases} cases`);
  });

  await t.step("whole fields of the wrong shape, and lists over their bound", () => {
    for (const key of METRIC_FIELDS) {
      for (const bad of [...BAD_VALUES, Array(1025).fill((FULL as Record<string, unknown>)[key])]) {
        const v = { ...FULL, [key]: bad };
        assert.deepEqual(plainVerdict(v), zodVerdict(v), `${key} = ${JSON.stringify(bad)}`);
      }
    }
    for (const v of [null, [], "x", 1]) {
      assert.deepEqual(plainVerdict(v), { ok: false, keys: [""] });
      assert.equal(zodVerdict(v).ok, false);
    }
  });
});
