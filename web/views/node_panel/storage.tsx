/**
 * Memory and storage of a node: RAM and swap, each mounted filesystem (used of total, with a
 * bar that turns amber then red as it fills), and the block devices' read/write rates.
 *
 * @module
 */
import type { Sample } from "../../../shared/protocol/mod.ts";
import { formatBytes } from "../../state/format.ts";
import { Quiet, Section, UsageBar } from "./section.tsx";

/** Bytes per second, as storage people say it (MB/s). */
function byteRate(bps: number): string {
  return `${formatBytes(bps)}/s`;
}

/** RAM and swap. */
export function Memory({ sample }: { sample: Sample }) {
  const rows = [
    { name: "RAM", m: sample.mem },
    { name: "Swap", m: sample.swap },
  ].filter((r) => r.m && r.m.total_b > 0);
  return (
    <Section title="Memory" icon="memory" testid="panel-memory">
      {rows.length
        ? rows.map(({ name, m }) => (
          <div class="usage-row" key={name}>
            <div class="usage-top">
              <span class="usage-name">{name}</span>
              <span class="usage-num">
                {formatBytes(m!.used_b)} <span class="mute">/ {formatBytes(m!.total_b)}</span>
                <b>{Math.round(m!.pct)} %</b>
              </span>
            </div>
            <UsageBar pct={m!.pct} />
          </div>
        ))
        : <Quiet>No memory figures reported.</Quiet>}
    </Section>
  );
}

/** Filesystems and disk I/O. */
export function Disks({ sample }: { sample: Sample }) {
  const disks = sample.disks ?? [];
  const io = sample.disk_io ?? [];
  return (
    <Section
      title="Disks"
      icon="disk"
      note={disks.length ? `${disks.length} mounted` : undefined}
      testid="panel-disks"
    >
      {disks.length
        ? disks.map((d) => (
          <div class="usage-row" key={d.mount} data-testid="disk">
            <div class="usage-top">
              <span class="usage-name mono" title={`${d.device ?? ""} ${d.fs ?? ""}`}>
                {d.mount}
                {d.device ? <span class="dev">{d.device.replace(/^\/dev\//, "")}</span> : null}
              </span>
              <span class="usage-num">
                {formatBytes(d.used_b)} <span class="mute">/ {formatBytes(d.total_b)}</span>
                <b>{Math.round(d.pct)} %</b>
              </span>
            </div>
            <UsageBar pct={d.pct} warn={80} crit={92} />
          </div>
        ))
        : <Quiet>No filesystems reported.</Quiet>}
      {io.length
        ? (
          <div class="rate-list" data-testid="disk-io">
            {io.map((d) => (
              <div class="rate-row" key={d.device}>
                <span class="mono">{d.device}</span>
                <span class="rate rx" title="read">
                  <i>R</i>
                  {byteRate(d.read_bps)}
                </span>
                <span class="rate tx" title="write">
                  <i>W</i>
                  {byteRate(d.write_bps)}
                </span>
              </div>
            ))}
          </div>
        )
        : null}
    </Section>
  );
}
