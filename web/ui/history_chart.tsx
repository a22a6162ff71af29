/**
 * A time-series chart over `uplot`: one line per series (its bucket averages) with a faint
 * min–max band around it, up to two y axes (left and right) for series of different units, a
 * legend row that doubles as the cursor read-out, and a size that follows its container
 * (ResizeObserver). `null` values are gaps — uPlot's `spanGaps` stays off — so an outage never
 * turns into a straight line.
 *
 * The root element carries `data-testid="history-chart"` (unless told otherwise) and
 * `data-points`: how many non-null values the first series holds, for tests.
 *
 * @module
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import uPlot from "uplot";
import { formatTime } from "../state/format.ts";

/** How one unit is scaled and printed. */
export interface ChartScale {
  /** Prints a value of this unit (axis ticks and the read-out). */
  fmt: (v: number) => string;
  /** `[min, max]` fixed, or `zero`: from 0 (or below) to the data's top, or `pad`: around it. */
  range: [number, number] | "zero" | "pad";
}

/** One plotted series. */
export interface ChartLine {
  key: string;
  label: string;
  /** A CSS colour in hex (`#22d3ee`): the band uses it with transparency. */
  color: string;
  /** Key into the chart's `scales`. */
  scale: string;
  avg: (number | null)[];
  min?: (number | null)[];
  max?: (number | null)[];
}

/** Properties of {@link HistoryChart}. */
export interface HistoryChartProps {
  /** Bucket times in ms, ascending. */
  ts: number[];
  lines: ChartLine[];
  scales: Record<string, ChartScale>;
  /** The x extent in ms (default: the data's). */
  xRange?: [number, number];
  height?: number;
  /** Loading/empty/error overlays, drawn over the plot. */
  children?: ComponentChildren;
  /** `data-state` of the root, for tests. */
  state?: string;
  "data-testid"?: string;
}

const AXIS_FONT = '11px Inter, "Segoe UI", system-ui, sans-serif';
const AXIS_STROKE = "#8391bd";
const GRID = "rgba(42, 58, 106, 0.55)";

/** `#rrggbb` → `rgba(r, g, b, a)`. */
function alpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

/** x tick labels: "14:30" within a day; "Wed 26" at midnight or for day steps. */
function timeTicks(u: uPlot, splits: number[], _axis: number, _space: number, incr: number) {
  const span = (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0);
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const midnight = d.getHours() === 0 && d.getMinutes() === 0;
    if (incr >= 86_400 || (span > 86_400 && midnight)) {
      return d.toLocaleDateString([], { weekday: "short", day: "numeric" });
    }
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  });
}

/** Indices of values with a gap on both sides (drawn as dots). */
function isolated(u: uPlot, si: number): number[] | null {
  const d = u.data[si];
  const out: number[] = [];
  for (let i = 0; i < d.length; i++) {
    if (d[i] == null) continue;
    if ((i === 0 || d[i - 1] == null) && (i === d.length - 1 || d[i + 1] == null)) out.push(i);
  }
  return out.length ? out : null;
}

/** The non-null count of a series. */
function countPoints(values: readonly (number | null)[] | undefined): number {
  let n = 0;
  for (const v of values ?? []) if (v !== null && v !== undefined) n++;
  return n;
}

/** The index of the newest non-null value of a line, or -1. */
function lastIndex(values: readonly (number | null)[]): number {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return i;
  return -1;
}

/** The scale keys in order of first use; the first two get an axis. */
function usedScales(lines: ChartLine[]): string[] {
  return [...new Set(lines.map((l) => l.scale))];
}

function buildOptions(
  p: HistoryChartProps,
  width: number,
  height: number,
  xRange: { current: [number, number] | undefined },
  onCursor: (idx: number | null) => void,
): uPlot.Options {
  const keys = usedScales(p.lines);
  const scales: uPlot.Scales = {
    x: {
      time: true,
      range: (_u, min, max) => {
        const r = xRange.current;
        return r ? [r[0] / 1000, r[1] / 1000] : [min, max];
      },
    },
  };
  for (const k of keys) {
    const spec = p.scales[k];
    scales[k] = {
      auto: true,
      range: (_u, min, max): uPlot.Range.MinMax => {
        if (Array.isArray(spec.range)) return [spec.range[0], spec.range[1]];
        if (min === null || max === null || !Number.isFinite(min)) return [0, 1];
        if (spec.range === "zero") return [Math.min(0, min), max > 0 ? max * 1.12 : 1];
        const pad = Math.max((max - min) * 0.15, 2);
        return [Math.floor(min - pad), Math.ceil(max + pad)];
      },
    };
  }
  const axes: uPlot.Axis[] = [{
    stroke: AXIS_STROKE,
    font: AXIS_FONT,
    grid: { stroke: GRID, width: 1 },
    ticks: { stroke: GRID, width: 1, size: 4 },
    space: 64,
    size: 30,
    values: timeTicks,
  }];
  keys.slice(0, 2).forEach((k, i) => {
    const fmt = p.scales[k].fmt;
    axes.push({
      scale: k,
      side: i === 0 ? 3 : 1,
      stroke: AXIS_STROKE,
      font: AXIS_FONT,
      size: 52,
      gap: 4,
      space: 28,
      grid: { show: i === 0, stroke: GRID, width: 1 },
      ticks: { show: false },
      values: (_u, splits) => splits.map((v) => (v === null ? "" : fmt(v))),
    });
  });
  const series: uPlot.Series[] = [{}];
  const bands: uPlot.Band[] = [];
  for (const l of p.lines) {
    const at = series.length;
    series.push({
      label: l.label,
      scale: l.scale,
      stroke: l.color,
      width: 1.75,
      spanGaps: false,
      // No dots along the line; a lone value between two gaps is a dot, or it would not show.
      points: { show: false, size: 5, width: 1, fill: l.color, stroke: l.color, filter: isolated },
    });
    if (l.min && l.max) {
      const edge = {
        scale: l.scale,
        stroke: alpha(l.color, 0.22),
        width: 1,
        spanGaps: false,
        points: { show: false, size: 0 },
      };
      series.push({ ...edge, label: `${l.label} max` }, { ...edge, label: `${l.label} min` });
      bands.push({ series: [at + 1, at + 2], fill: alpha(l.color, 0.12) });
    }
  }
  return {
    width,
    height,
    scales,
    axes,
    series,
    bands,
    legend: { show: false },
    // Room at the right for the last time label when no axis sits there.
    padding: [10, keys.length > 1 ? 0 : 16, 0, 0],
    cursor: {
      drag: { x: false, y: false },
      points: {
        size: (u, i) => (u.series[i].points?.size ? 8 : 0),
        width: 2,
        stroke: () => "#070c1a",
      },
      y: false,
    },
    hooks: {
      setCursor: [(u) => onCursor(u.cursor.idx ?? null)],
    },
  };
}

function toData(p: HistoryChartProps): uPlot.AlignedData {
  const cols: (number | null)[][] = [];
  for (const l of p.lines) {
    cols.push(l.avg);
    if (l.min && l.max) cols.push(l.max, l.min);
  }
  return [p.ts.map((t) => t / 1000), ...cols] as uPlot.AlignedData;
}

/** A uPlot chart of `lines` over `ts`, with a legend/read-out row. */
export function HistoryChart(props: HistoryChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const xRange = useRef<[number, number] | undefined>(props.xRange);
  const [cursor, setCursor] = useState<number | null>(null);
  const height = props.height ?? 190;
  const shape = props.lines.map((l) => `${l.key}:${l.scale}:${l.min ? 1 : 0}`).join(",");
  xRange.current = props.xRange;

  // (Re)build when the set of series changes; otherwise only swap the data.
  useLayoutEffect(() => {
    const el = box.current!;
    const u = new uPlot(
      buildOptions(props, Math.max(el.clientWidth, 100), height, xRange, setCursor),
      toData(props),
      el,
    );
    plot.current = u;
    return () => {
      u.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(toData(props));
  }, [props.ts, props.lines, props.xRange?.[0], props.xRange?.[1]]);

  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => {
      const w = Math.floor(el.clientWidth);
      if (plot.current && w > 0 && w !== plot.current.width) {
        plot.current.setSize({ width: w, height });
      }
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [height]);

  const idx = cursor !== null && cursor < props.ts.length ? cursor : null;
  return (
    <div
      class="history-chart"
      data-testid={props["data-testid"] ?? "history-chart"}
      data-points={countPoints(props.lines[0]?.avg)}
      data-state={props.state}
    >
      <div class="chart-legend">
        <span class="chart-time">
          {idx !== null ? formatTime(props.ts[idx]) : props.ts.length ? "latest" : ""}
        </span>
        {props.lines.map((l) => {
          const i = idx ?? lastIndex(l.avg);
          const v = i >= 0 ? l.avg[i] : null;
          return (
            <span class="chart-key" key={l.key}>
              <i style={{ background: l.color }} />
              {l.label}
              <b>{v === null || v === undefined ? "—" : props.scales[l.scale].fmt(v)}</b>
            </span>
          );
        })}
      </div>
      <div class="chart-plot" style={{ height: `${height}px` }}>
        <div class="chart-canvas" ref={box} />
        {props.children}
      </div>
    </div>
  );
}
