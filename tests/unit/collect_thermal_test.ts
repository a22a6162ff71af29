/**
 * The thermal-zone collector against a Jetson AGX Xavier and an AGX Orin (with powered-off
 * sensors reading -256 °C and a zone that cannot be read) sysfs tree.
 */
import assert from "node:assert/strict";
import { createThermalCollector, thermalZoneName } from "../../agent/collect/thermal.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";

const root = (kind: string) => new URL(`../fixtures/roots/${kind}/t0`, import.meta.url).pathname;

Deno.test("thermal: Xavier zones, named the way tegrastats names them", async () => {
  const m = await createThermalCollector().collect({ root: root("xavier"), now: 1 });
  SampleMetrics.parse(m);
  assert.deepEqual(m.temps, [
    { name: "CPU", c: 37.5 },
    { name: "GPU", c: 36.5 },
    { name: "AUX", c: 36 },
    { name: "AO", c: 36 },
    { name: "PMIC", c: 100 },
    { name: "Tboard", c: 36 },
    { name: "Tdiode", c: 38.75 },
    { name: "thermal", c: 36.9 },
  ]);
});

Deno.test("thermal: Orin sensors of powered-off blocks (-256 C) and unreadable zones are skipped", async () => {
  const m = await createThermalCollector().collect({ root: root("orin"), now: 1 });
  assert.deepEqual(m.temps, [
    { name: "CPU", c: 44.562 },
    { name: "SOC2", c: 40.093 },
    { name: "SOC0", c: 41.093 },
    { name: "tj", c: 44.343 },
    { name: "SOC1", c: 41.25 },
  ]);
});

Deno.test("thermal: zone names", () => {
  assert.equal(thermalZoneName("CPU-therm\n"), "CPU");
  assert.equal(thermalZoneName("Tboard_tegra"), "Tboard");
  assert.equal(thermalZoneName("PMIC-Die"), "PMIC");
  assert.equal(thermalZoneName("thermal-fan-est"), "thermal");
  assert.equal(thermalZoneName("cpu-thermal"), "cpu");
  assert.equal(thermalZoneName("x86_pkg_temp"), "x86_pkg_temp");
  assert.equal(thermalZoneName("acpitz"), "acpitz");
});

Deno.test("thermal: numeric zone order, repeated types kept apart, no thermal dir is empty", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-thermal-" });
  try {
    assert.deepEqual(await createThermalCollector().collect({ root: dir, now: 1 }), {});
    const zones: [number, string, string][] = [
      [10, "acpitz", "30000"],
      [2, "acpitz", "27800"],
      [9, "x86_pkg_temp", "45000"],
      [3, "iwlwifi_1", "not a number"],
    ];
    for (const [n, type, temp] of zones) {
      const z = `${dir}/sys/class/thermal/thermal_zone${n}`;
      await Deno.mkdir(z, { recursive: true });
      await Deno.writeTextFile(`${z}/type`, type + "\n");
      await Deno.writeTextFile(`${z}/temp`, temp + "\n");
    }
    const m = await createThermalCollector().collect({ root: dir, now: 1 });
    assert.deepEqual(m.temps, [
      { name: "acpitz", c: 27.8 },
      { name: "x86_pkg_temp", c: 45 },
      { name: "acpitz_1", c: 30 },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
