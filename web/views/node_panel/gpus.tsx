/**
 * The node's GPUs: utilisation, clock, memory (absent on Jetsons, whose memory is shared with
 * the CPU), temperature and power; on a Jetson also the external memory controller (EMC) load.
 *
 * @module
 */
import type { Sample } from "../../../shared/protocol/mod.ts";
import { formatBytes, formatTemp, formatWatts } from "../../state/format.ts";
import { Quiet, Section, UsageBar } from "./section.tsx";

/** The GPU block. */
export function Gpus({ sample }: { sample: Sample }) {
  const gpus = sample.gpus ?? [];
  const emc = sample.emc;
  return (
    <Section
      title={gpus.length > 1 ? "GPUs" : "GPU"}
      icon="gpu"
      note={gpus.length > 1 ? `${gpus.length}` : undefined}
      testid="panel-gpus"
    >
      {gpus.length
        ? gpus.map((g, i) => {
          const memPct = g.mem_total_b ? ((g.mem_used_b ?? 0) / g.mem_total_b) * 100 : null;
          return (
            <div class="gpu" key={i} data-testid="gpu">
              <div class="usage-top">
                <span class="usage-name">{g.name ?? `GPU ${g.index ?? i}`}</span>
                <span class="usage-num">
                  <b>{g.util_pct === undefined ? "—" : `${Math.round(g.util_pct)} %`}</b>
                </span>
              </div>
              <UsageBar pct={g.util_pct} warn={101} crit={101} />
              <div class="gpu-facts">
                {g.freq_mhz !== undefined ? <span>{Math.round(g.freq_mhz)} MHz</span> : null}
                {g.temp_c !== undefined ? <span>{formatTemp(g.temp_c)}</span> : null}
                {g.power_mw !== undefined ? <span>{formatWatts(g.power_mw)}</span> : null}
                {memPct !== null
                  ? (
                    <span>
                      mem {formatBytes(g.mem_used_b)} / {formatBytes(g.mem_total_b)}
                    </span>
                  )
                  : null}
              </div>
              {memPct !== null ? <UsageBar pct={memPct} /> : null}
            </div>
          );
        })
        : <Quiet>No GPU reported.</Quiet>}
      {emc && (emc.util_pct !== undefined || emc.freq_mhz !== undefined)
        ? (
          <div class="kv-line">
            <span>EMC</span>
            <b>{emc.util_pct === undefined ? "—" : `${Math.round(emc.util_pct)} %`}</b>
            {emc.freq_mhz !== undefined
              ? <span class="mute">@ {Math.round(emc.freq_mhz)} MHz</span>
              : null}
          </div>
        )
        : null}
    </Section>
  );
}
