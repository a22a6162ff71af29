/**
 * Per-core CPU load as a compact grid of small vertical bars (one per core; cores the kernel
 * has taken offline, as Jetsons do, are greyed), with the load averages and clock range.
 *
 * @module
 */
import type { Sample } from "../../../shared/protocol/mod.ts";
import { Section } from "./section.tsx";

function tone(pct: number): string {
  return pct >= 90 ? "crit" : pct >= 75 ? "warn" : "";
}

/** Columns of the grid: one row up to 16 cores, then rows of at most 16 of equal length. */
function columns(n: number): number {
  return n <= 16 ? Math.max(n, 8) : Math.ceil(n / Math.ceil(n / 16));
}

function ghz(mhz: number): string {
  return `${(mhz / 1000).toFixed(1)} GHz`;
}

/** The per-core block. */
export function CpuCores({ sample }: { sample: Sample }) {
  const cores = sample.cpu?.cores ?? [];
  const load = sample.load;
  const online = cores.filter((c) => c.online !== false);
  const mhz = online.flatMap((c) => (c.mhz === undefined ? [] : [c.mhz]));
  const note = cores.length
    ? `${online.length}/${cores.length} online${
      mhz.length ? ` · ${ghz(Math.min(...mhz))}–${ghz(Math.max(...mhz))}` : ""
    }`
    : undefined;
  return (
    <Section title="CPU cores" icon="chip" note={note} testid="panel-cores">
      {cores.length
        ? (
          <div
            class={cores.length > 32 ? "cores dense" : "cores"}
            style={{ gridTemplateColumns: `repeat(${columns(cores.length)}, 1fr)` }}
          >
            {cores.map((c, i) => {
              const off = c.online === false;
              const pct = c.pct ?? 0;
              return (
                <div
                  key={i}
                  class={off ? "core off" : `core ${tone(pct)}`}
                  title={off
                    ? `core ${i}: offline`
                    : `core ${i}: ${Math.round(pct)} %${c.mhz ? ` @ ${ghz(c.mhz)}` : ""}`}
                  data-testid="core"
                >
                  <span class="core-bar">
                    <i style={{ height: off ? "0%" : `${Math.max(2, Math.min(100, pct))}%` }} />
                  </span>
                  <span class="core-num">{off ? "off" : i}</span>
                </div>
              );
            })}
          </div>
        )
        : (
          <p class="psec-quiet">
            Total {sample.cpu ? `${Math.round(sample.cpu.pct)} %` : "—"}; no per-core figures.
          </p>
        )}
      {load
        ? (
          <div class="kv-line">
            <span>load</span>
            <b>{load.l1.toFixed(2)}</b>
            <b>{load.l5.toFixed(2)}</b>
            <b>{load.l15.toFixed(2)}</b>
            <span class="mute">1 · 5 · 15 min</span>
          </div>
        )
        : null}
    </Section>
  );
}
