/**
 * History of a node over 1 h / 24 h / 7 d from `GET /api/v1/nodes/:id/metrics`, drawn by
 * {@link HistoryChart} with the series the operator toggles on. The last hour keeps itself
 * current from the node's `node.sample` events (appended into the buckets, never polled) and
 * slides its window with the hub clock, so a node that stops reporting shows a growing gap at
 * the right. A resync of the stream re-fetches, since samples may have been missed.
 *
 * @module
 */
import { useComputed } from "@preact/signals";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { MetricsResponse, Sample } from "../../../shared/protocol/mod.ts";
import { seriesOf } from "../../../shared/metrics.ts";
import { api } from "../../state/api.ts";
import { hubNow, now } from "../../state/clock.ts";
import { onEvent, onResync } from "../../state/stream.ts";
import { type ChartLine, HistoryChart } from "../../ui/history_chart.tsx";
import { Section } from "./section.tsx";
import { HISTORY_SCALES, HISTORY_TOGGLES } from "./series.ts";

/** The ranges offered, each with a step giving ~360–500 buckets. */
const RANGES = [
  { id: "1h", label: "1 h", ms: 3_600_000, step: 10 },
  { id: "24h", label: "24 h", ms: 86_400_000, step: 180 },
  { id: "7d", label: "7 d", ms: 7 * 86_400_000, step: 1200 },
] as const;
type RangeId = typeof RANGES[number]["id"];

type Series = MetricsResponse["series"][string];

/** The chart's data, mutable so live samples can be folded in. */
interface Loaded {
  from: number;
  to: number;
  stepMs: number;
  ts: number[];
  series: Record<string, Series>;
  /** How many live samples went into each bucket (0 or absent: the server's average). */
  counts: number[];
}

function emptySeries(n: number): Series {
  return { avg: Array(n).fill(null), min: Array(n).fill(null), max: Array(n).fill(null) };
}

/** Folds one sample into the buckets; returns whether anything changed. */
function appendSample(d: Loaded, s: Sample, windowMs: number): boolean {
  if (s.ts < d.to) return false; // already in the fetched answer
  const values = seriesOf(s);
  const first = d.ts[0] ?? Math.floor(s.ts / d.stepMs) * d.stepMs;
  const i = Math.floor((s.ts - first) / d.stepMs);
  if (i < 0) return false;
  // New buckets up to the sample's, empty (null) in between: a pause stays a gap.
  while (d.ts.length <= i) {
    d.ts.push(first + d.ts.length * d.stepMs);
    d.counts.push(0);
    for (const v of Object.values(d.series)) {
      v.avg.push(null);
      v.min.push(null);
      v.max.push(null);
    }
  }
  const n = d.counts[i] || (d.series.cpu_pct?.avg[i] != null ? 1 : 0);
  for (const [key, raw] of Object.entries(values)) {
    if (raw === undefined) continue;
    const v = (d.series[key] ??= emptySeries(d.ts.length));
    const avg = v.avg[i];
    v.avg[i] = avg === null || n === 0 ? raw : (avg * n + raw) / (n + 1);
    v.min[i] = v.min[i] === null ? raw : Math.min(v.min[i]!, raw);
    v.max[i] = v.max[i] === null ? raw : Math.max(v.max[i]!, raw);
  }
  d.counts[i] = n + 1;
  // Keep the window bounded.
  const cut = hubNow() - windowMs;
  let drop = 0;
  while (drop < d.ts.length - 1 && d.ts[drop] + d.stepMs < cut) drop++;
  if (drop) {
    d.ts.splice(0, drop);
    d.counts.splice(0, drop);
    for (const v of Object.values(d.series)) {
      v.avg.splice(0, drop);
      v.min.splice(0, drop);
      v.max.splice(0, drop);
    }
  }
  return true;
}

/** The history block of a node. */
export function History({ id }: { id: string }) {
  const [range, setRange] = useState<RangeId>("1h");
  const [on, setOn] = useState<ReadonlySet<string>>(() => new Set(["cpu", "gpu"]));
  const [data, setData] = useState<Loaded | null>(null);
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<"loading" | "ready" | "error">("loading");
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const live = useRef<Loaded | null>(null);
  const spec = RANGES.find((r) => r.id === range)!;
  // The 1-hour window slides every 10 s of hub time (not on every tick).
  const slide = useComputed(() => Math.floor(now.value / 10_000));

  // Fetch on open, on another node, on range change and after a stream resync.
  useEffect(() => {
    const ctl = new AbortController();
    setStatus("loading");
    setError(null);
    setData(null);
    live.current = null;
    const to = hubNow();
    const from = to - spec.ms;
    api.metrics(id, { from, to, step: spec.step }, { signal: ctl.signal }).then((r) => {
      const d: Loaded = {
        from,
        to: r.to,
        stepMs: r.step_s * 1000,
        ts: r.ts.slice(),
        series: structuredClone(r.series),
        counts: r.ts.map(() => 0),
      };
      live.current = d;
      setData(d);
      setStatus("ready");
    }).catch((err: Error) => {
      if (ctl.signal.aborted) return;
      setError(err.message);
      setStatus("error");
    });
    return () => ctl.abort();
  }, [id, range, reload]);

  useEffect(() => onResync(() => setReload((n) => n + 1)), []);

  // The last hour follows the node's samples.
  useEffect(() => {
    if (range !== "1h") return;
    return onEvent("node.sample", (e) => {
      if (e.node_id !== id || !live.current) return;
      if (appendSample(live.current, e.sample, spec.ms)) setVersion((v) => v + 1);
    });
  }, [id, range]);

  const lines = useMemo<ChartLine[]>(() => {
    const out: ChartLine[] = [];
    for (const t of HISTORY_TOGGLES) {
      if (!on.has(t.id)) continue;
      for (const l of t.lines) {
        const s = data?.series[l.key];
        const n = data?.ts.length ?? 0;
        out.push({
          ...l,
          avg: s?.avg.slice() ?? Array(n).fill(null),
          min: s?.min.slice(),
          max: s?.max.slice(),
        });
      }
    }
    return out;
  }, [data, version, on]);
  const ts = useMemo(() => data?.ts.slice() ?? [], [data, version]);

  // The last hour ends at the next 10-s mark of hub time; longer ranges at the fetch time.
  const end = range === "1h" ? (slide.value + 1) * 10_000 : data?.to ?? 0;
  const xRange: [number, number] | undefined = data ? [end - spec.ms, end] : undefined;
  const empty = status === "ready" && !lines.some((l) => l.avg.some((v) => v !== null));

  const toggle = (t: string) => {
    const next = new Set(on);
    if (next.has(t)) {
      if (next.size > 1) next.delete(t);
    } else next.add(t);
    setOn(next);
  };

  return (
    <Section
      title="History"
      icon="chart"
      testid="panel-history"
      tools={
        <span class="seg" role="tablist">
          {RANGES.map((r) => (
            <button
              key={r.id}
              type="button"
              role="tab"
              aria-selected={r.id === range}
              class={r.id === range ? "active" : ""}
              onClick={() => setRange(r.id)}
              data-testid={`range-${r.id}`}
            >
              {r.label}
            </button>
          ))}
        </span>
      }
    >
      <div class="series-toggles">
        {HISTORY_TOGGLES.map((t) => (
          <button
            key={t.id}
            type="button"
            class={on.has(t.id) ? "stoggle on" : "stoggle"}
            aria-pressed={on.has(t.id)}
            onClick={() => toggle(t.id)}
            data-testid={`series-${t.id}`}
          >
            {t.lines.map((l) => <i key={l.key} style={{ background: l.color }} />)}
            {t.label}
          </button>
        ))}
      </div>
      <HistoryChart ts={ts} lines={lines} scales={HISTORY_SCALES} xRange={xRange} state={status}>
        {status === "loading"
          ? (
            <div class="chart-overlay">
              <span class="spinner" /> Loading {spec.label} of history…
            </div>
          )
          : status === "error"
          ? (
            <div class="chart-overlay error" role="alert">
              <span>Could not load history: {error}</span>
              <button type="button" class="ghost" onClick={() => setReload((n) => n + 1)}>
                Retry
              </button>
            </div>
          )
          : empty
          ? <div class="chart-overlay quiet">No data in this range</div>
          : null}
      </HistoryChart>
    </Section>
  );
}
