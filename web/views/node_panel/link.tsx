/**
 * The node's link to the hub in its details panel: grade, control-channel round trip (last and
 * mean), ping loss, the agent's own probe of the hub, and a sparkline of the round trip (the last
 * hour by minute, then every live reading) — the same numbers as its row in the Network view.
 *
 * @module
 */
import { useEffect } from "preact/hooks";
import { linkGrade } from "../../../shared/link_rank.ts";
import { linkOf, linkSeries, linksVersion, loadLinkHistory } from "../../state/network.ts";
import { Sparkline } from "../../ui/sparkline.tsx";
import { Quiet, Section } from "./section.tsx";

function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`;
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined
    ? "—"
    : `${v < 10 && v > 0 ? v.toFixed(1) : Math.round(v)} %`;
}

/** The link section of a node. */
export function LinkSection({ id }: { id: string }) {
  void linksVersion.value;
  useEffect(() => void loadLinkHistory([id]), [id]);
  const l = linkOf(id);
  const s = linkSeries(id);
  const grade = l ? linkGrade(l) : undefined;
  return (
    <Section
      title="Link to the hub"
      icon="network"
      note={grade
        ? <span class={`grade ${grade}`} data-testid="panel-link-grade">{grade}</span>
        : undefined}
      testid="panel-link"
    >
      {!l ? <Quiet>No link readings yet.</Quiet> : (
        <>
          <div class="link-facts">
            <span title="control-channel round trip: last ping · mean of the window">
              <b>RTT</b> {l.connected ? `${ms(l.rtt_ms)} · avg ${ms(l.rtt_avg_ms)}` : "down"}
            </span>
            <span title={`pings not answered within the ping timeout, of the last ${l.pings}`}>
              <b>loss</b> {l.connected ? pct(l.loss_pct) : "—"}
            </span>
            <span title="the agent's own probe of the hub">
              <b>agent → hub</b> {ms(l.probe_rtt_ms)} · {pct(l.probe_loss_pct)} lost
            </span>
          </div>
          {s && s.rtt.some((v) => v !== null)
            ? (
              <Sparkline
                values={s.rtt}
                ts={s.minutes ? s.ts : undefined}
                windowMs={s.minutes ? 3600_000 : undefined}
                min={0}
                height={34}
                color="var(--cyan)"
                data-testid="panel-link-spark"
              />
            )
            : null}
        </>
      )}
    </Section>
  );
}
