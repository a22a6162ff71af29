/**
 * The thermal-zone collector: `<root>/sys/class/thermal/thermal_zone*` (`type`, and `temp` in
 * millidegrees Celsius) → `temps`. Zone names are shortened the way tegrastats prints them
 * (`CPU-therm` → `CPU`, `Tboard_tegra` → `Tboard`, `tj-thermal` → `tj`) so the sampler can
 * dedupe the two sources by name.
 *
 * @module
 */
import type { CollectContext, Collector } from "./collector.ts";
import type { SampleMetrics } from "../../shared/protocol/mod.ts";
import { readDirNames, readTextFile } from "./io_gate.ts";

type Temp = NonNullable<SampleMetrics["temps"]>[number];

/**
 * Shortens a thermal-zone type to the sensor name tegrastats uses for it; other names (e.g.
 * `x86_pkg_temp`, `acpitz`) stay as they are.
 */
export function thermalZoneName(type: string): string {
  const short = type.trim().replace(/(?:-therm(?:al)?|_tegra|-Die|-fan-est)$/, "");
  return short || type.trim();
}

/**
 * Creates the thermal-zone collector. Zones whose reading fails or is out of the physical range
 * (Orin reports `-256` °C for sensors that are powered off) are left out.
 *
 * @example
 * ```ts
 * const { temps } = await createThermalCollector().collect({ root: "/", now: Date.now() });
 * ```
 */
export function createThermalCollector(): Collector {
  async function collect(ctx: CollectContext): Promise<Partial<SampleMetrics>> {
    const dir = `${ctx.root}/sys/class/thermal`;
    const zones: number[] = [];
    try {
      for (const name of await readDirNames(dir)) {
        const m = /^thermal_zone(\d+)$/.exec(name);
        if (m) zones.push(Number(m[1]));
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return {};
      throw err;
    }
    zones.sort((a, b) => a - b);
    const readings = await Promise.all(zones.map(async (n) => {
      try {
        const [type, temp] = await Promise.all([
          readTextFile(`${dir}/thermal_zone${n}/type`),
          readTextFile(`${dir}/thermal_zone${n}/temp`),
        ]);
        const c = Number(temp.trim()) / 1000;
        if (!Number.isFinite(c) || c < -100 || c > 250 || temp.trim() === "") return undefined;
        return { name: thermalZoneName(type), c };
      } catch {
        // Some zones (fan estimators, sensors of powered-down blocks) fail to read; skip them.
        return undefined;
      }
    }));
    const temps: Temp[] = [];
    const used = new Map<string, number>();
    for (const r of readings) {
      if (!r || !r.name) continue;
      const n = used.get(r.name) ?? 0;
      used.set(r.name, n + 1);
      // Several zones may share a type (acpitz on PCs); keep them apart.
      temps.push({ name: (n ? `${r.name}_${n}` : r.name).slice(0, 256), c: r.c });
    }
    return temps.length ? { temps: temps.slice(0, 256) } : {};
  }
  return { name: "thermal", collect };
}
