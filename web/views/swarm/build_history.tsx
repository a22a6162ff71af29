/**
 * A definition's builds, newest first (`GET /swarm/builds?service=`): state, the image built and
 * pushed, digest, who, when and how long; one opens to its stored output (`GET /swarm/builds/:id`)
 * — what last night's build said, after the dialog that streamed it is gone.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { SwarmBuildRun } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatTime } from "../../state/format.ts";

const TONE: Record<SwarmBuildRun["state"], string> = {
  running: "active",
  succeeded: "ok",
  failed: "bad",
  cancelled: "off",
};

function took(r: SwarmBuildRun): string {
  if (!r.finished_at) return "running";
  const s = Math.max(0, Math.round((r.finished_at - r.started_at) / 1000));
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

function Output({ id }: { id: string }) {
  const run = useSignal<SwarmBuildRun | null>(null);
  const error = useSignal<string | null>(null);
  useEffect(() => {
    let gone = false;
    api.swarmBuildRun(id).then(
      (r) => !gone && (run.value = r),
      (e) => !gone && (error.value = (e as Error).message),
    );
    return () => void (gone = true);
  }, [id]);
  if (error.value) return <p class="error-text">{error.value}</p>;
  if (!run.value) {
    return (
      <p class="mute">
        <span class="spinner small" /> Reading the output…
      </p>
    );
  }
  return (
    <pre class="logs-box sw-build-stored" data-testid="build-stored-output">
      {run.value.output || "(no output stored)"}
    </pre>
  );
}

/** The builds of catalog entry `name`; `tick` re-reads them. */
export function BuildHistory({ name, tick }: { name: string; tick: number }) {
  const list = useSignal<SwarmBuildRun[] | null>(null);
  const error = useSignal<string | null>(null);
  const open = useSignal<string | null>(null);
  useEffect(() => {
    let gone = false;
    api.swarmBuilds({ service: name, limit: 20 }).then(
      (b) => !gone && (list.value = b),
      (e) => !gone && (error.value = (e as Error).message),
    );
    return () => void (gone = true);
  }, [name, tick]);
  if (error.value) return <p class="error-text">{error.value}</p>;
  if (!list.value) {
    return (
      <p class="mute">
        <span class="spinner small" /> Reading builds…
      </p>
    );
  }
  if (!list.value.length) {
    return (
      <p class="mute">No builds yet: Build makes the image from its build context and pushes it.</p>
    );
  }
  return (
    <ol class="sw-versions" data-testid="builds">
      {list.value.map((r) => (
        <li key={r.id} class={open.value === r.id ? "open" : ""} data-state={r.state}>
          <div class="sw-version-head">
            <span class={`chip state tone-${TONE[r.state]}`}>
              <i class="state-dot" />
              {r.state}
            </span>
            <code class="sw-note" title={r.image}>{r.image}</code>
            {r.digest
              ? <code class="mute">{r.digest.replace(/^sha256:/, "").slice(0, 12)}</code>
              : null}
            <span class="mute" title={formatTime(r.started_at)}>
              {formatAge(r.started_at, now.value)} ago · {r.started_by} · {took(r)}
            </span>
            <span class="sw-version-actions">
              <button
                type="button"
                class="small"
                onClick={() => (open.value = open.value === r.id ? null : r.id)}
              >
                {open.value === r.id ? "Hide output" : "Output"}
              </button>
            </span>
          </div>
          {r.error ? <p class="bad-text sw-build-error">{r.error}</p> : null}
          {open.value === r.id ? <Output id={r.id} /> : null}
        </li>
      ))}
    </ol>
  );
}
