/**
 * Live sparklines of the last ten minutes (CPU, GPU, RAM, temperature, power) with the current
 * value. They draw the browser-side history `sparkHistory(id)` that the stream keeps (the parent
 * re-renders on every sample of the node, which re-reads it). That history only starts when the
 * page loaded, so on open the ten minutes before it are read once from the metrics API and drawn
 * in front of it — one request per opened node, never a poll.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { NodeSummary } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { hubNow } from "../../state/clock.ts";
import { latestSeries, sparkHistory } from "../../state/fleet.ts";
import { Sparkline } from "../../ui/sparkline.tsx";
import { Section } from "./section.tsx";
import { SPARKS } from "./series.ts";

/** The span the sparklines show. */
const WINDOW_MS = 10 * 60_000;
/** Bucket of the seed read from the API (two samples at the agent's default 5 s). */
const SEED_STEP_S = 10;

type Seed = { ts: number[]; values: Record<string, (number | null)[]> };

/** The seed from the API, then the live history after it. */
function joined(seed: Seed | null, live: Seed): Seed {
  if (!seed) return live;
  const first = live.ts[0] ?? Infinity;
  let n = 0;
  // Seed buckets end before the first live sample (a bucket starts at its ts).
  while (n < seed.ts.length && seed.ts[n] + SEED_STEP_S * 1000 <= first) n++;
  // Trailing empty buckets of the seed are the time before the first live sample, not a gap.
  while (n > 0 && SPARKS.every((s) => (seed.values[s.key]?.[n - 1] ?? null) === null)) n--;
  if (!n) return live;
  const values: Seed["values"] = {};
  for (const s of SPARKS) {
    values[s.key] = [
      ...(seed.values[s.key]?.slice(0, n) ?? Array(n).fill(null)),
      ...(live.values[s.key] ?? []),
    ];
  }
  // A bucket's value sits at its middle.
  return { ts: [...seed.ts.slice(0, n).map((t) => t + SEED_STEP_S * 500), ...live.ts], values };
}

/** The sparkline block of a node. */
export function LiveSparks({ node }: { node: NodeSummary }) {
  const [seed, setSeed] = useState<Seed | null>(null);
  const id = node.id;
  useEffect(() => {
    setSeed(null);
    const ctl = new AbortController();
    const to = hubNow();
    api.metrics(id, { from: to - WINDOW_MS, to, step: SEED_STEP_S }, { signal: ctl.signal }).then(
      (r) => {
        const values: Seed["values"] = {};
        for (const s of SPARKS) values[s.key] = r.series[s.key]?.avg ?? r.ts.map(() => null);
        setSeed({ ts: r.ts, values });
      },
    ).catch(() => {/* the live history alone is still right */});
    return () => ctl.abort();
  }, [id]);

  const h = joined(seed, sparkHistory(id));
  const latest = latestSeries(node);
  const stale = node.status === "offline" || node.status === "degraded";
  return (
    <Section title="Live" icon="activity" note="last 10 min" testid="panel-sparks">
      <div class={stale ? "sparks stale" : "sparks"}>
        {SPARKS.map((s) => {
          const values = h.values[s.key] ?? [];
          const has = values.some((v) => v !== null);
          const cur = latest?.[s.key];
          return (
            <div class="spark-row" key={s.id} data-testid={`spark-${s.id}`}>
              <span class="spark-label">
                <i style={{ background: s.color }} />
                {s.label}
              </span>
              {has
                ? (
                  <Sparkline
                    values={values}
                    ts={h.ts}
                    min={s.min}
                    max={s.max}
                    color={s.color}
                    windowMs={WINDOW_MS}
                  />
                )
                : <span class="spark-none">not reported</span>}
              <span class="spark-value" data-testid={`spark-${s.id}-value`}>{s.fmt(cur)}</span>
            </div>
          );
        })}
      </div>
    </Section>
  );
}
