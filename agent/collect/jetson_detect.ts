/**
 * Whether a node has Jetson sysfs (an integrated GPU's devfreq device or an INA3221 power
 * monitor), apart from the sysfs collector so the sampler loads that only where it is used.
 *
 * @module
 */

/** `of_node/name` of Jetson integrated GPUs. */
export const IGPU_NAMES: ReadonlySet<string> = new Set(["gv11b", "ga10b", "gp10b", "gpu"]);

/**
 * Whether `root` looks like a Jetson's sysfs (an integrated-GPU devfreq device or an INA3221
 * power monitor): the sampler adds the sysfs collector only there.
 */
export function hasJetsonSysfs(root: string): boolean {
  const names = (dir: string): string[] => {
    try {
      return [...Deno.readDirSync(dir)].map((e) => e.name);
    } catch {
      return [];
    }
  };
  const read = (path: string): string => {
    try {
      return Deno.readTextFileSync(path).replace(/\0/g, "").trim();
    } catch {
      return "";
    }
  };
  const devfreq = `${root}/sys/class/devfreq`;
  if (names(devfreq).some((d) => IGPU_NAMES.has(read(`${devfreq}/${d}/device/of_node/name`)))) {
    return true;
  }
  const i2c = `${root}/sys/bus/i2c/devices`;
  return names(i2c).some((d) => read(`${i2c}/${d}/name`).includes("ina3221"));
}
