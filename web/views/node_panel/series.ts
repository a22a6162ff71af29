/**
 * The series the details panel shows — label, colour, unit — shared by the live sparklines and
 * the history chart so a metric looks the same in both.
 *
 * @module
 */
import type { ChartScale } from "../../ui/history_chart.tsx";
import { formatBitRate, formatPct, formatTemp, formatWatts } from "../../state/format.ts";

/** One live sparkline. */
export interface SparkSpec {
  key: "cpu_pct" | "gpu_pct" | "mem_pct" | "temp_c" | "power_mw";
  /** Short name, also the `spark-<id>` test id. */
  id: string;
  label: string;
  color: string;
  fmt: (v: number | null | undefined) => string;
  min?: number;
  max?: number;
}

/** The sparklines, top to bottom. */
export const SPARKS: SparkSpec[] = [
  { key: "cpu_pct", id: "cpu", label: "CPU", color: "#22d3ee", fmt: formatPct, min: 0, max: 100 },
  { key: "gpu_pct", id: "gpu", label: "GPU", color: "#a78bfa", fmt: formatPct, min: 0, max: 100 },
  { key: "mem_pct", id: "ram", label: "RAM", color: "#60a5fa", fmt: formatPct, min: 0, max: 100 },
  { key: "temp_c", id: "temp", label: "Temp", color: "#fbbf24", fmt: formatTemp },
  { key: "power_mw", id: "power", label: "Power", color: "#34d399", fmt: formatWatts, min: 0 },
];

/** A toggle of the history chart: one or more series of the metrics API. */
export interface HistoryToggle {
  id: string;
  label: string;
  lines: { key: string; label: string; color: string; scale: string }[];
}

/** The history chart's toggles, in legend order. */
export const HISTORY_TOGGLES: HistoryToggle[] = [
  {
    id: "cpu",
    label: "CPU",
    lines: [{ key: "cpu_pct", label: "CPU", color: "#22d3ee", scale: "pct" }],
  },
  {
    id: "gpu",
    label: "GPU",
    lines: [{ key: "gpu_pct", label: "GPU", color: "#a78bfa", scale: "pct" }],
  },
  {
    id: "ram",
    label: "RAM",
    lines: [{ key: "mem_pct", label: "RAM", color: "#60a5fa", scale: "pct" }],
  },
  {
    id: "temp",
    label: "Temp",
    lines: [{ key: "temp_c", label: "Temp", color: "#fbbf24", scale: "c" }],
  },
  {
    id: "power",
    label: "Power",
    lines: [{ key: "power_mw", label: "Power", color: "#34d399", scale: "mw" }],
  },
  {
    id: "net",
    label: "Net",
    lines: [
      { key: "net_rx_bps", label: "rx", color: "#2dd4bf", scale: "bps" },
      { key: "net_tx_bps", label: "tx", color: "#f472b6", scale: "bps" },
    ],
  },
];

/** Units of the history chart. */
export const HISTORY_SCALES: Record<string, ChartScale> = {
  pct: { fmt: (v) => `${Math.round(v)} %`, range: [0, 100] },
  c: { fmt: (v) => `${Math.round(v)} °C`, range: "pad" },
  mw: { fmt: (v) => formatWatts(v), range: "zero" },
  bps: { fmt: (v) => formatBitRate(v), range: "zero" },
};
