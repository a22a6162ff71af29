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
