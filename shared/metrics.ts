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

/** Rails that measure a Jetson module's total input power, in order of preference. */
const TOTAL_RAILS = ["VDD_IN", "POM_5V_IN", "VIN_SYS_5V0", "SYS5V"];

function sum(values: number[]): number | undefined {
  return values.length ? values.reduce((a, b) => a + b, 0) : undefined;
}

function max(values: number[]): number | undefined {
  return values.length ? Math.max(...values) : undefined;
}

/** Total power in mW: the module's input rail when reported, else the sum of rails/GPUs. */
export function totalPowerMw(s: SampleMetrics): number | undefined {
  for (const name of TOTAL_RAILS) {
    const rail = s.power?.find((r) => r.rail === name);
    if (rail) return rail.mw;
  }
  return sum((s.power ?? []).map((r) => r.mw)) ??
    sum((s.gpus ?? []).flatMap((g) => (g.power_mw === undefined ? [] : [g.power_mw])));
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
export function seriesOf(s: Sample | SampleMetrics): Record<SeriesName, number | undefined> {
  return {
    cpu_pct: s.cpu?.pct,
    mem_pct: s.mem?.pct,
    swap_pct: s.swap?.pct,
    gpu_pct: max((s.gpus ?? []).flatMap((g) => (g.util_pct === undefined ? [] : [g.util_pct]))),
    temp_c: max((s.temps ?? []).map((t) => t.c)),
    power_mw: totalPowerMw(s),
    load1: s.load?.l1,
    net_rx_bps: sum((s.net ?? []).map((n) => n.rx_bps)),
    net_tx_bps: sum((s.net ?? []).map((n) => n.tx_bps)),
    disk_read_bps: sum((s.disk_io ?? []).map((d) => d.read_bps)),
    disk_write_bps: sum((s.disk_io ?? []).map((d) => d.write_bps)),
    disk_pct: max((s.disks ?? []).map((d) => d.pct)),
  };
}
