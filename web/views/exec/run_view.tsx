/**
 * One batch exec on screen: what ran, by whom and when; a progress line ("7/12 finished", a bar
 * coloured by outcome, counts that filter the panes when clicked); Cancel while it runs (admins);
 * and the per-node panes in a responsive grid. Loading and read errors of a stored run have their
 * own states.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { cancelExec, getRun, loadRun, runAgain, runCounts, runElapsed } from "../../state/exec.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatTime } from "../../state/format.ts";
import { isAdmin } from "../../state/session.ts";
import { act } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { confirmDialog } from "../../ui/modal.tsx";
import { ExecPane } from "./exec_pane.tsx";
import { formatElapsed, KIND_ORDER, kindLabel, kindTone, runTone } from "./exec_format.ts";

/** The run `id`. */
export function RunView({ id }: { id: string }) {
  const filter = useSignal<string | null>(null);
  const cancelling = useSignal(false);
  const run = getRun(id);
  if (!run || (!run.meta.value.known && !run.meta.value.live)) {
    const error = run?.error.value;
    if (error) {
      return (
        <div
          class="card run-card empty-state run-empty"
          data-state="error"
          data-testid="exec-run-view"
        >
          <Icon name="alert" size={26} />
          <h3>Could not load run #{id}</h3>
          <p class="error-text">{error}</p>
          <button type="button" onClick={() => void loadRun(id)}>Try again</button>
        </div>
      );
    }
    return (
      <div
        class="card run-card empty-state run-empty"
        data-state="loading"
        data-testid="exec-run-view"
      >
        <span class="spinner" />
        Loading run #{id}…
      </div>
    );
  }
  const m = run.meta.value;
  const counts = runCounts(run);
  const running = m.state === "running";
  now.value; // the running time ticks with the clock
  const elapsed = runElapsed(m, Date.now());
  const pct = counts.total ? (counts.done / counts.total) * 100 : 0;
  const kinds = run.kinds.value;
  // A filter whose nodes all moved on (running → exited) lets every pane show again.
  const only = filter.value && counts.by[filter.value] ? filter.value : null;
  const shown = m.nodes.filter((n) => !only || (kinds[n] ?? "running") === only);

  const cancel = async () => {
    const ok = await confirmDialog({
      title: `Cancel run #${id}?`,
      body: (
        <p>
          The {counts.total - counts.done} {counts.total - counts.done === 1 ? "node" : "nodes"}
          {" "}
          still running get SIGTERM, then SIGKILL 2 s later, with everything the command started.
        </p>
      ),
      confirm: "Cancel run",
      danger: true,
    });
    if (!ok) return;
    cancelling.value = true;
    await act(`Cancel requested for run #${id}`, () => cancelExec(id));
    cancelling.value = false;
  };

  return (
    <section
      class="card run-card"
      data-testid="exec-run-view"
      data-exec-id={id}
      data-state={m.state}
    >
      <header class="run-head">
        <div class="run-title">
          <span class={`chip state tone-${runTone(m.state, counts.by)}${running ? " moving" : ""}`}>
            <i class="state-dot" />
            {m.state}
          </span>
          <code class="run-command" title={m.command}>{m.command || "…"}</code>
        </div>
        <div class="run-facts mute">
          <span>#{id}</span>
          {m.by.name ? <span>by {m.by.name}</span> : null}
          {m.cluster ? <span>cluster {m.cluster}</span> : null}
          {m.created_at
            ? <span title={formatTime(m.created_at)}>{formatAge(m.created_at)} ago</span>
            : null}
          {m.timeout_s ? <span>timeout {m.timeout_s} s</span> : null}
          {run.loading.value ? <span class="spinner small" /> : null}
        </div>
        {!running && isAdmin.value && m.command
          ? (
            <button
              type="button"
              class="ghost run-again"
              title="Put this command and its nodes back in the command box"
              onClick={() => {
                runAgain(id);
                const field = document.querySelector<HTMLTextAreaElement>(
                  "[data-testid=exec-command]",
                );
                field?.scrollIntoView({ block: "center", behavior: "smooth" });
                field?.focus();
              }}
              data-testid="exec-run-again"
            >
              <Icon name="retry" size={13} /> Run again
            </button>
          )
          : null}
        {running && isAdmin.value
          ? (
            <button
              type="button"
              class="danger run-cancel"
              onClick={() => void cancel()}
              disabled={cancelling.value}
              data-testid="exec-cancel"
            >
              <Icon name="stop" size={13} /> Cancel
            </button>
          )
          : null}
      </header>
      <div
        class="run-progress"
        data-testid="exec-progress"
        data-done={counts.done}
        data-total={counts.total}
      >
        <div class="progress-line">
          <span class="progress-text">
            <b class="num">{counts.done}/{counts.total}</b> finished
          </span>
          <span class="progress-time num mute">{formatElapsed(elapsed, running)}</span>
          <span class="progress-counts">
            {KIND_ORDER.filter((k) => counts.by[k]).map((k) => (
              <button
                type="button"
                key={k}
                class={`count-chip tone-${kindTone(k)}${only === k ? " on" : ""}`}
                onClick={() => (filter.value = only === k ? null : k)}
                title={only === k ? "show every node" : `show only ${kindLabel(k)}`}
                data-testid="exec-count"
                data-kind={k}
              >
                <i /> <b class="num">{counts.by[k]}</b> {kindLabel(k)}
              </button>
            ))}
          </span>
        </div>
        <div class={`progress-bar${running ? " live" : ""}`}>
          {KIND_ORDER.filter((k) => k !== "running" && counts.by[k]).map((k) => (
            <i
              key={k}
              class={`tone-${kindTone(k)}`}
              style={{ width: `${(counts.by[k] / Math.max(1, counts.total)) * 100}%` }}
            />
          ))}
          {running ? <span class="progress-pct" style={{ left: `${pct}%` }} /> : null}
        </div>
      </div>
      {shown.length === 0
        ? <div class="pane-grid-empty mute">This run has no nodes.</div>
        : (
          <div class={`pane-grid${m.nodes.length === 1 ? " single" : ""}`}>
            {shown.map((n) => {
              const pane = run.panes.get(n);
              return pane ? <ExecPane key={n} pane={pane} meta={m} /> : null;
            })}
          </div>
        )}
    </section>
  );
}
