/**
 * Temperatures (every sensor, hottest first, amber from 70 °C and red from 85 °C) and power
 * rails (current and average draw) of a node.
 *
 * @module
 */
import type { Sample } from "../../../shared/protocol/mod.ts";
import { formatTemp, formatWatts } from "../../state/format.ts";
import { Section } from "./section.tsx";

function heat(c: number): string {
  return c >= 85 ? "crit" : c >= 70 ? "warn" : "";
}

/** Temperatures; nothing when the node reports none. */
export function Temps({ sample }: { sample: Sample }) {
  const temps = (sample.temps ?? []).slice().sort((a, b) => b.c - a.c);
  if (!temps.length) return null;
  return (
    <Section
      title="Temperatures"
      icon="temp"
      note={`max ${formatTemp(temps[0].c)}`}
      testid="panel-temps"
    >
      <div class="temps">
        {temps.map((t) => (
          <span class={`temp ${heat(t.c)}`} key={t.name} data-testid="temp">
            <span class="temp-name">{t.name}</span>
            <b>{formatTemp(t.c)}</b>
          </span>
        ))}
      </div>
    </Section>
  );
}

/** Power rails; nothing when the node reports none. */
export function PowerRails({ sample }: { sample: Sample }) {
  const rails = sample.power ?? [];
  if (!rails.length) return null;
  const top = Math.max(...rails.map((r) => r.mw), 1);
  return (
    <Section title="Power rails" icon="bolt" testid="panel-power">
      <div class="rails">
        {rails.map((r) => (
          <div class="rail" key={r.rail} data-testid="rail">
            <span class="mono rail-name">{r.rail}</span>
            <span class="rail-bar">
              <i style={{ width: `${(r.mw / top) * 100}%` }} />
            </span>
            <b>{formatWatts(r.mw)}</b>
            <span class="mute" title="average">
              {r.avg_mw !== undefined ? `avg ${formatWatts(r.avg_mw)}` : ""}
            </span>
          </div>
        ))}
      </div>
    </Section>
  );
}
