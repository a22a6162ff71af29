/**
 * The numeric series that the hub rolls up and the UI charts, and how each is read from a
 * sample. Defined once here so the hub's rollups, the metrics API and the canvas agree.
 *
 * @module
 */
import type { Sample, SampleMetrics } from "./protocol/mod.ts";

/** Names of the charted series, in display order. */
export const SERIES = [
  "cpu_pct",
  "mem_pct",
  "swap_pct",
  "gpu_pct",
  "temp_c",
  "power_mw",
  "load1",
  "net_rx_bps",
  "net_tx_bps",
  "disk_read_bps",
  "disk_write_bps",
  "disk_pct",
] as const;

/** One charted series name. */
export type SeriesName = typeof SERIES[number];

/** Every charted series' value in one sample (`undefined` where its source is absent). */
export type SampleSeries = Record<SeriesName, number | undefined>;

/** Rails that measure a Jetson module's total input power, in order of preference. */
const TOTAL_RAILS = ["VDD_IN", "POM_5V_IN", "VIN_SYS_5V0", "SYS5V"];

// Loops instead of map/flatMap: the hub reads every ingested sample's series, and the
// intermediate arrays were most of what its rollups allocated.

/** `Math.max` over `pick` of each item (absent values skipped with `skip`); undefined if none. */
function maxOf<T>(
  items: readonly T[] | undefined,
  pick: (item: T) => number | undefined,
  skip = false,
): number | undefined {
  if (!items) return undefined;
  let m = Number.NEGATIVE_INFINITY;
  let any = false;
  for (const item of items) {
    const v = pick(item);
    if (skip && v === undefined) continue;
    m = Math.max(m, v as number);
    any = true;
  }
  return any ? m : undefined;
}

/** The sum of `pick` over `items` (absent values skipped with `skip`); undefined if none. */
function sumOf<T>(
  items: readonly T[] | undefined,
  pick: (item: T) => number | undefined,
  skip = false,
): number | undefined {
  if (!items) return undefined;
  let total = 0;
  let any = false;
  for (const item of items) {
    const v = pick(item);
    if (skip && v === undefined) continue;
    total += v as number;
    any = true;
  }
  return any ? total : undefined;
}

type ListKey = "power" | "gpus" | "temps" | "net" | "disk_io" | "disks";
type Item<K extends ListKey> = NonNullable<SampleMetrics[K]>[number];
const railMw = (r: Item<"power">) => r.mw;
const gpuPowerMw = (g: Item<"gpus">) => g.power_mw;
const gpuUtil = (g: Item<"gpus">) => g.util_pct;
const tempC = (t: Item<"temps">) => t.c;
const rxBps = (n: Item<"net">) => n.rx_bps;
const txBps = (n: Item<"net">) => n.tx_bps;
const readBps = (d: Item<"disk_io">) => d.read_bps;
const writeBps = (d: Item<"disk_io">) => d.write_bps;
const diskPct = (d: Item<"disks">) => d.pct;

/** Total power in mW: the module's input rail when reported, else the sum of rails/GPUs. */
export function totalPowerMw(s: SampleMetrics): number | undefined {
  if (s.power) {
    for (const name of TOTAL_RAILS) {
      for (const rail of s.power) if (rail.rail === name) return rail.mw;
    }
  }
  return sumOf(s.power, railMw) ?? sumOf(s.gpus, gpuPowerMw, true);
}

/**
 * Reads every charted series from a sample; a series whose source is absent is `undefined`.
 *
 * @example
 * ```ts
 * const v = seriesOf(sample);
 * v.cpu_pct; // 37.5
 * ```
 */
export function seriesOf(s: Sample | SampleMetrics): SampleSeries {
  return {
    cpu_pct: s.cpu?.pct,
    mem_pct: s.mem?.pct,
    swap_pct: s.swap?.pct,
    gpu_pct: maxOf(s.gpus, gpuUtil, true),
    temp_c: maxOf(s.temps, tempC),
    power_mw: totalPowerMw(s),
    load1: s.load?.l1,
    net_rx_bps: sumOf(s.net, rxBps),
    net_tx_bps: sumOf(s.net, txBps),
    disk_read_bps: sumOf(s.disk_io, readBps),
    disk_write_bps: sumOf(s.disk_io, writeBps),
    disk_pct: maxOf(s.disks, diskPct),
  };
}
