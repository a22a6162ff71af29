/**
 * The containers of a node as its latest sample lists them (from the local Docker socket):
 * name, image, state, CPU and memory. Running ones first.
 *
 * @module
 */
import type { Sample } from "../../../shared/protocol.ts";
import { formatBytes } from "../../state/format.ts";
import { Quiet, Section } from "./section.tsx";

function stateTone(state: string): string {
  if (state === "running") return "ok";
  if (state === "restarting" || state === "paused" || state === "created") return "wait";
  if (state === "dead") return "bad";
  return "off";
}

/** The container list. */
export function Containers({ sample }: { sample: Sample }) {
  const list = (sample.containers ?? []).slice().sort((a, b) =>
    Number(b.state === "running") - Number(a.state === "running") || a.name.localeCompare(b.name)
  );
  const running = list.filter((c) => c.state === "running").length;
  return (
    <Section
      title="Containers"
      icon="box"
      note={list.length ? `${running} running / ${list.length}` : undefined}
      testid="panel-containers"
    >
      {sample.containers === undefined
        ? <Quiet>No container runtime reported.</Quiet>
        : list.length === 0
        ? <Quiet>No containers on this node.</Quiet>
        : (
          <div class="ctr-list">
            {list.map((c) => (
              <div class="ctr" key={c.id ?? c.name} data-testid="container">
                <span class={`ctr-state tone-${stateTone(c.state)}`} title={c.status ?? c.state}>
                  <i class="state-dot" />
                  {c.state}
                </span>
                <div class="ctr-main">
                  <b class="ctr-name">{c.name}</b>
                  <code class="ctr-image" title={c.image}>{c.image}</code>
                </div>
                <div class="ctr-use">
                  <span>{c.cpu_pct === undefined ? "—" : `${c.cpu_pct.toFixed(1)} %`}</span>
                  <span class="mute">
                    {c.mem_b === undefined ? "" : formatBytes(c.mem_b)}
                  </span>
                </div>
              </div>
            ))}
          </div>
        )}
      {/* Issue 6 adds per-container actions (restart, logs) here. */}
    </Section>
  );
}
