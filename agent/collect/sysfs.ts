/**
 * Jetson metrics straight from sysfs, the way jtop reads them, for nodes where `tegrastats` is
 * missing or not permitted (inside a container, a minimal image, a non-root agent):
 *
 * - GPU load and clock: the integrated GPU's devfreq device under `/sys/class/devfreq/<dev>` whose
 *   `device/of_node/name` is `gv11b` (Xavier), `ga10b` (Orin, JetPack 5), `gpu` (JetPack 6) or
 *   `gp10b`; `cur_freq` in Hz, `device/load` in per mille. `/sys/devices/gpu.0/load` is the
 *   JetPack 4 fallback for the load.
 * - EMC clock and load: `/sys/kernel/debug/bpmp/debug/clk/emc/rate` (debugfs, root only) or the
 *   devfreq `bwmgr` device (Thor); load = actmon `mc_all` ÷ clock in kHz.
 * - Power rails: every I2C device whose `name` holds `ina3221` — JetPack 5+ `hwmon/hwmonM/inN_label`
 *   with `inN_input` (mV) × `currN_input` (mA), JetPack 4 `iio:deviceM/rail_name_N` with
 *   `in_powerN_input` (mW). `NC` channels and channel 7 (sum of shunt voltages) are skipped.
 * - Temperatures: thermal zones by type, minus placeholders: a `PMIC` zone reading exactly
 *   100 °C (Xavier's PMIC reports a constant) and zones below −100 °C (−256 °C is how Orin
 *   reports a powered-off block).
 *
 * The sampler uses it as a fill-in: tegrastats, when it runs, wins field by field; what it does
 * not give (no tegrastats, tegrastats failing, JetPack 7 lines without a GPU load) comes from here.
 * Per-core CPU clocks come from cpufreq in the proc collector. Rail averages are the mean since
 * the agent started (tegrastats averages since it started).
 *
 * @module
 */
import type { CollectContext, Collector } from "./collector.ts";
import type { SampleMetrics } from "../../shared/protocol/mod.ts";
import { thermalZoneName } from "./thermal.ts";
import { IGPU_NAMES } from "./jetson_detect.ts";
import { readDirNames, readTextFile } from "./io_gate.ts";

export { hasJetsonSysfs } from "./jetson_detect.ts";

type Temp = NonNullable<SampleMetrics["temps"]>[number];
type PowerRail = NonNullable<SampleMetrics["power"]>[number];

/** Names (`device/of_node/name`) of Jetson integrated GPUs. */

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readTextFile(path)).trim();
  } catch {
    // Absent on this board, or not readable by this user (debugfs): the field is absent.
    return undefined;
  }
}

async function readNumber(path: string): Promise<number | undefined> {
  const text = await readText(path);
  if (text === undefined || text === "") return undefined;
  const n = Number(text.split(/\s+/)[0]);
  return Number.isFinite(n) ? n : undefined;
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readDirNames(path)).sort();
  } catch {
    // Not on this board.
    return [];
  }
}

/**
 * Whether a temperature reading is a placeholder rather than a measurement: Xavier's PMIC zone
 * reads a constant 100 °C, and Orin reports −256 °C for sensors of powered-off blocks.
 */
export function isPlaceholderTemp(name: string, c: number): boolean {
  return c < -100 || (name.toUpperCase() === "PMIC" && c === 100);
}

/** The integrated GPU's devfreq directory, if the board has one. */
async function findGpuDevfreq(root: string): Promise<string | undefined> {
  const base = `${root}/sys/class/devfreq`;
  for (const name of await listDir(base)) {
    const of = await readText(`${base}/${name}/device/of_node/name`);
    if (of !== undefined && IGPU_NAMES.has(of.replace(/\0/g, ""))) return `${base}/${name}`;
  }
  return undefined;
}

async function readGpu(root: string): Promise<SampleMetrics["gpus"]> {
  const devfreq = await findGpuDevfreq(root);
  const [hz, permille] = await Promise.all([
    devfreq ? readNumber(`${devfreq}/cur_freq`) : undefined,
    devfreq ? readNumber(`${devfreq}/device/load`) : undefined,
  ]);
  const load = permille ?? await readNumber(`${root}/sys/devices/gpu.0/load`);
  const gpu: NonNullable<SampleMetrics["gpus"]>[number] = { index: 0 };
  if (load !== undefined && load >= 0 && load <= 1000) gpu.util_pct = Math.floor(load / 10);
  if (hz !== undefined && hz >= 0) gpu.freq_mhz = Math.floor(hz / 1e6);
  return gpu.util_pct === undefined && gpu.freq_mhz === undefined ? undefined : [gpu];
}

async function readEmc(root: string): Promise<SampleMetrics["emc"]> {
  const hz = await readNumber(`${root}/sys/kernel/debug/bpmp/debug/clk/emc/rate`) ??
    await readNumber(`${root}/sys/class/devfreq/bwmgr/cur_freq`);
  let activity: number | undefined;
  for (
    const p of [
      "sys/kernel/debug/cactmon/mc_all",
      "sys/kernel/debug/bpmp/debug/actmon/mc_all_avg_activity",
      "sys/kernel/actmon_avg_activity/mc_all",
    ]
  ) {
    activity = await readNumber(`${root}/${p}`);
    if (activity !== undefined) break;
  }
  const emc: NonNullable<SampleMetrics["emc"]> = {};
  if (hz !== undefined && hz > 0) {
    emc.freq_mhz = Math.floor(hz / 1e6);
    // actmon counts activity in kHz-weighted units: ÷ the clock in kHz gives the percentage.
    if (activity !== undefined && activity >= 0) {
      emc.util_pct = Math.min(100, Math.floor(activity / Math.floor(hz / 1000)));
    }
  }
  return emc.freq_mhz === undefined ? undefined : emc;
}

/** One INA3221 channel: where its name and value come from. */
interface RailSource {
  rail: string;
  read(): Promise<number | undefined>;
}

async function findRails(root: string): Promise<RailSource[]> {
  const base = `${root}/sys/bus/i2c/devices`;
  const rails: RailSource[] = [];
  for (const dev of await listDir(base)) {
    const name = await readText(`${base}/${dev}/name`);
    if (!name?.includes("ina3221")) continue;
    for (const sub of await listDir(`${base}/${dev}`)) {
      const dirs = sub === "hwmon"
        ? (await listDir(`${base}/${dev}/hwmon`)).map((h) => `${base}/${dev}/hwmon/${h}`)
        : sub.startsWith("iio:device")
        ? [`${base}/${dev}/${sub}`]
        : [];
      for (const dir of dirs) {
        for (const file of await listDir(dir)) {
          const hw = /^in(\d+)_label$/.exec(file);
          const iio = /^rail_name_(\d+)$/.exec(file);
          if (!hw && !iio) continue;
          const label = (await readText(`${dir}/${file}`)) ?? "";
          const n = Number((hw ?? iio)![1]);
          if (!label || label.includes("NC") || (hw && n === 7)) continue;
          rails.push({
            rail: label.slice(0, 256),
            read: hw
              ? async () => {
                const [mv, ma] = await Promise.all([
                  readNumber(`${dir}/in${n}_input`),
                  readNumber(`${dir}/curr${n}_input`),
                ]);
                return mv === undefined || ma === undefined
                  ? undefined
                  : Math.floor(mv * ma / 1000);
              }
              : () => readNumber(`${dir}/in_power${n}_input`),
          });
        }
      }
    }
  }
  return rails.slice(0, 64);
}

async function readTemps(root: string): Promise<Temp[] | undefined> {
  const dir = `${root}/sys/class/thermal`;
  const zones = (await listDir(dir)).map((n) => /^thermal_zone(\d+)$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined).map(Number).sort((a, b) => a - b);
  const temps: Temp[] = [];
  for (const z of zones) {
    const [type, milli] = await Promise.all([
      readText(`${dir}/thermal_zone${z}/type`),
      readNumber(`${dir}/thermal_zone${z}/temp`),
    ]);
    if (type === undefined || milli === undefined) continue;
    const name = thermalZoneName(type);
    const c = milli / 1000;
    if (!name || c > 250 || isPlaceholderTemp(name, c)) continue;
    if (temps.some((t) => t.name === name)) continue;
    temps.push({ name: name.slice(0, 256), c });
  }
  return temps.length ? temps.slice(0, 256) : undefined;
}

/**
 * Creates the sysfs collector. Rail discovery runs once (on the first collect); readings every
 * collect. On a machine without these files it returns nothing.
 *
 * @example
 * ```ts
 * const m = await createSysfsCollector().collect({ root: "/", now: Date.now() });
 * // m.gpus?.[0].util_pct, m.emc?.freq_mhz, m.power, m.temps
 * ```
 */
export function createSysfsCollector(): Collector {
  let rails: Promise<RailSource[]> | undefined;
  let railsRoot = "";
  const averages = new Map<string, { sum: number; n: number }>();

  async function collect(ctx: CollectContext): Promise<Partial<SampleMetrics>> {
    if (!rails || railsRoot !== ctx.root) {
      railsRoot = ctx.root;
      rails = findRails(ctx.root);
    }
    const [gpus, emc, temps, sources] = await Promise.all([
      readGpu(ctx.root),
      readEmc(ctx.root),
      readTemps(ctx.root),
      rails,
    ]);
    const power: PowerRail[] = [];
    for (const src of sources) {
      const mw = await src.read();
      if (mw === undefined || mw < 0) continue;
      const avg = averages.get(src.rail) ?? { sum: 0, n: 0 };
      avg.sum += mw;
      avg.n++;
      averages.set(src.rail, avg);
      power.push({ rail: src.rail, mw, avg_mw: Math.round(avg.sum / avg.n) });
    }
    const out: Partial<SampleMetrics> = {};
    if (gpus) out.gpus = gpus;
    if (emc) out.emc = emc;
    if (temps) out.temps = temps;
    if (power.length) out.power = power;
    return out;
  }

  return { name: "sysfs", collect };
}
