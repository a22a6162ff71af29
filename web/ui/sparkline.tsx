/**
 * A small inline SVG sparkline. It stretches to its box (the stroke stays crisp through
 * `vector-effect`), and it never draws across missing data: a `null` value, or a pause between
 * two samples much longer than the usual interval, ends the line and starts a new one, so an
 * outage shows as a hole instead of a straight line.
 *
 * @module
 */

/** Width of the drawing in viewBox units (the SVG itself stretches to its container). */
const W = 200;

/** Properties of {@link Sparkline}. */
export interface SparklineProps {
  /** The values, oldest first; `null` is a hole. */
  values: readonly (number | null)[];
  /** Sample times (ms), same length as `values`; a long pause between two is a hole too. */
  ts?: readonly number[];
  /** Fixed bottom of the scale (default: the smallest value, with some room). */
  min?: number;
  /** Fixed top of the scale (default: the largest value, with some room). */
  max?: number;
  /** Height in px. */
  height?: number;
  /** Line colour (any CSS colour); the area under the line uses it faintly. */
  color?: string;
  /**
   * With `ts`: the time span shown (ms), ending at the newest sample; points sit at their time,
   * so a short history fills only the right part. Without it, points are spread evenly.
   */
  windowMs?: number;
  "data-testid"?: string;
}

/** The typical interval of `ts` (the median step); 0 when it cannot be told. */
function typicalStep(ts: readonly number[]): number {
  if (ts.length < 3) return 0;
  const steps: number[] = [];
  for (let i = 1; i < ts.length; i++) steps.push(ts[i] - ts[i - 1]);
  steps.sort((a, b) => a - b);
  return steps[Math.floor(steps.length / 2)];
}

/** The runs of consecutive drawable points: `[x, y]` pairs in viewBox units. */
function segments(p: SparklineProps, h: number): [number, number][][] {
  const { values, ts } = p;
  const n = values.length;
  const timed = ts && ts.length === n && p.windowMs ? p.windowMs : 0;
  const t0 = timed ? ts![n - 1] - timed : 0;
  let lo = p.min, hi = p.max;
  if (lo === undefined || hi === undefined) {
    let a = Infinity, b = -Infinity;
    for (const v of values) {
      if (v === null || !Number.isFinite(v)) continue;
      a = Math.min(a, v);
      b = Math.max(b, v);
    }
    if (a === Infinity) return [];
    const pad = Math.max((b - a) * 0.15, Math.abs(b) * 0.05, 0.5);
    lo ??= a - pad;
    hi ??= b + pad;
  }
  const span = hi - lo || 1;
  const gap = ts && ts.length === n ? Math.max(typicalStep(ts) * 3, 20_000) : 0;
  const out: [number, number][][] = [];
  let run: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    if (timed && ts![i] < t0) continue;
    const v = values[i];
    const broken = gap > 0 && i > 0 && ts![i] - ts![i - 1] > gap;
    if (v === null || !Number.isFinite(v) || broken) {
      if (run.length) out.push(run);
      run = [];
      if (v === null || !Number.isFinite(v)) continue;
    }
    const x = timed ? ((ts![i] - t0) / timed) * W : (i / Math.max(n - 1, 1)) * W;
    const y = 1.5 + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / span) * (h - 3);
    run.push([x, y]);
  }
  if (run.length) out.push(run);
  return out;
}

/** One sparkline; an empty history draws a faint baseline. */
export function Sparkline(props: SparklineProps) {
  const h = props.height ?? 28;
  const color = props.color ?? "var(--cyan)";
  const runs = segments(props, h);
  const f = (v: number) => v.toFixed(1);
  return (
    <svg
      class="sparkline"
      viewBox={`0 0 ${W} ${h}`}
      preserveAspectRatio="none"
      height={h}
      aria-hidden="true"
      data-testid={props["data-testid"]}
      data-runs={runs.length}
    >
      <line class="spark-base" x1="0" x2={W} y1={h - 0.5} y2={h - 0.5} />
      {runs.map((run) => {
        if (run.length === 1) {
          // A lone point between two holes: a short tick, so it is still seen.
          const [x, y] = run[0];
          return (
            <line
              x1={f(Math.max(0, x - 1.5))}
              x2={f(Math.min(W, x + 1.5))}
              y1={f(y)}
              y2={f(y)}
              style={{ stroke: color }}
              stroke-width="2.5"
              stroke-linecap="round"
              vector-effect="non-scaling-stroke"
            />
          );
        }
        const line = run.map(([x, y], i) => `${i ? "L" : "M"}${f(x)} ${f(y)}`).join("");
        const area = `${line}L${f(run[run.length - 1][0])} ${h}L${f(run[0][0])} ${h}Z`;
        return (
          <g>
            <path d={area} style={{ fill: color }} fill-opacity="0.13" stroke="none" />
            <path
              d={line}
              fill="none"
              style={{ stroke: color }}
              stroke-width="1.6"
              stroke-linejoin="round"
              vector-effect="non-scaling-stroke"
            />
          </g>
        );
      })}
    </svg>
  );
}
