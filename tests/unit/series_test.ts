/**
 * The charted series read from a sample: sums and maxima over the sample's lists, a series absent
 * when its source is, and the power rail chosen by preference.
 */
import assert from "node:assert/strict";
import { seriesOf, totalPowerMw } from "../../shared/metrics.ts";
import type { SampleMetrics } from "../../shared/protocol/mod.ts";

Deno.test("series: sums and maxima over a sample's lists", () => {
  const v = seriesOf({
    cpu: { pct: 37.5 },
    mem: { total_b: 8, used_b: 2, pct: 25 },
    load: { l1: 0.7, l5: 0.5, l15: 0.4 },
    gpus: [{ index: 0, util_pct: 30 }, { index: 1 }, { index: 2, util_pct: 80 }],
    temps: [{ name: "CPU", c: 41.5 }, { name: "GPU", c: 55 }, { name: "SOC", c: -0.5 }],
    net: [{ iface: "eth0", rx_bps: 1000, tx_bps: 10 }, { iface: "wlan0", rx_bps: 24, tx_bps: 5 }],
    disk_io: [{ device: "sda", read_bps: 7, write_bps: 9 }, {
      device: "sdb",
      read_bps: 1,
      write_bps: 0,
    }],
    disks: [{ mount: "/", total_b: 10, used_b: 9, pct: 90 }, {
      mount: "/data",
      total_b: 1,
      used_b: 0,
      pct: 3,
    }],
  } as SampleMetrics);
  assert.deepEqual(v, {
    cpu_pct: 37.5,
    mem_pct: 25,
    swap_pct: undefined,
    gpu_pct: 80,
    temp_c: 55,
    power_mw: undefined,
    load1: 0.7,
    net_rx_bps: 1024,
    net_tx_bps: 15,
    disk_read_bps: 8,
    disk_write_bps: 9,
    disk_pct: 90,
  });
});

Deno.test("series: absent or empty lists give no value; GPUs without a reading are skipped", () => {
  const none = seriesOf({ gpus: [{ index: 0 }], temps: [], net: [], disks: [] } as SampleMetrics);
  for (const [name, value] of Object.entries(none)) assert.equal(value, undefined, name);
  assert.equal(seriesOf({ temps: [{ name: "x", c: -3 }] } as SampleMetrics).temp_c, -3);
});

Deno.test("series: power is the preferred input rail, else the rails' sum, else the GPUs'", () => {
  const rails = (...r: [string, number][]) => r.map(([rail, mw]) => ({ rail, mw }));
  assert.equal(
    totalPowerMw(
      { power: rails(["VDD_GPU", 900], ["POM_5V_IN", 4000], ["VDD_IN", 5000]) } as SampleMetrics,
    ),
    5000,
  );
  assert.equal(
    totalPowerMw({ power: rails(["VDD_GPU", 900], ["POM_5V_IN", 4000]) } as SampleMetrics),
    4000,
  );
  assert.equal(
    totalPowerMw({ power: rails(["VDD_GPU", 900], ["VDD_CPU", 600]) } as SampleMetrics),
    1500,
  );
  assert.equal(
    totalPowerMw(
      {
        gpus: [{ index: 0, power_mw: 70_000 }, { index: 1 }, { index: 2, power_mw: 5 }],
      } as SampleMetrics,
    ),
    70_005,
  );
  assert.equal(totalPowerMw({ gpus: [{ index: 0 }] } as SampleMetrics), undefined);
  assert.equal(totalPowerMw({}), undefined);
});

// The series as first written, with map/flatMap: the loops must give exactly what it gave.
type Item = Record<string, number | string | undefined>;
type Loose = {
  cpu?: { pct: number };
  mem?: { pct: number };
  swap?: { pct: number };
  load?: { l1: number };
  gpus?: Item[];
  temps?: Item[];
  net?: Item[];
  disk_io?: Item[];
  disks?: Item[];
  power?: Item[];
};
const RAILS = ["VDD_IN", "POM_5V_IN", "VIN_SYS_5V0", "SYS5V"];
const refSum = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) : undefined);
const refMax = (v: number[]) => (v.length ? Math.max(...v) : undefined);
function reference(s: Loose): Record<string, number | undefined> {
  let power: number | undefined;
  for (const name of RAILS) {
    const rail = s.power?.find((r: Item) => r.rail === name);
    if (rail) {
      power = rail.mw as number;
      break;
    }
  }
  if (power === undefined) {
    power = refSum((s.power ?? []).map((r: Item) => r.mw as number)) ??
      refSum(
        (s.gpus ?? []).flatMap((
          g: Item,
        ) => (g.power_mw === undefined ? [] : [g.power_mw as number])),
      );
  }
  return {
    cpu_pct: s.cpu?.pct,
    mem_pct: s.mem?.pct,
    swap_pct: s.swap?.pct,
    gpu_pct: refMax(
      (s.gpus ?? []).flatMap((g: Item) => (g.util_pct === undefined ? [] : [g.util_pct as number])),
    ),
    temp_c: refMax((s.temps ?? []).map((t: Item) => t.c as number)),
    power_mw: power,
    load1: s.load?.l1,
    net_rx_bps: refSum((s.net ?? []).map((n: Item) => n.rx_bps as number)),
    net_tx_bps: refSum((s.net ?? []).map((n: Item) => n.tx_bps as number)),
    disk_read_bps: refSum((s.disk_io ?? []).map((d: Item) => d.read_bps as number)),
    disk_write_bps: refSum((s.disk_io ?? []).map((d: Item) => d.write_bps as number)),
    disk_pct: refMax((s.disks ?? []).map((d: Item) => d.pct as number)),
  };
}

Deno.test("series: the same values as map/flatMap over 5,000 generated samples, edge values too", () => {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const num = () => [0, -0, 1.5, -3, 1e12, 0.1][Math.floor(rand() * 6)] + Math.floor(rand() * 3);
  const maybe = (v: number) => (rand() < 0.2 ? undefined : v);
  const list = <T>(make: () => T) =>
    rand() < 0.2 ? undefined : Array.from({ length: Math.floor(rand() * 4) }, make);
  for (let i = 0; i < 5_000; i++) {
    const sample = {
      cpu: rand() < 0.5 ? { pct: num() } : undefined,
      load: rand() < 0.5 ? { l1: num(), l5: 0, l15: 0 } : undefined,
      gpus: list(() => ({ index: 0, util_pct: maybe(num()), power_mw: maybe(num()) })),
      temps: list(() => ({ name: "t", c: rand() < 0.05 ? undefined : num() })),
      net: list(() => ({ iface: "e", rx_bps: num(), tx_bps: maybe(num()) })),
      disk_io: list(() => ({ device: "d", read_bps: num(), write_bps: num() })),
      disks: list(() => ({ mount: "/", total_b: 1, used_b: 1, pct: num() })),
      power: list(() => ({
        rail: ["VDD_IN", "SYS5V", "VDD_GPU", "X"][Math.floor(rand() * 4)],
        mw: num(),
      })),
    };
    assert.deepEqual(
      seriesOf(sample as SampleMetrics),
      reference(sample as Loose),
      JSON.stringify(sample),
    );
  }
});
