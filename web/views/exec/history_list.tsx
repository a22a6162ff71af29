/**
 * Past batch runs, newest first (`GET /api/v1/exec`, re-read by the exec state on
 * `exec.started` / `exec.finished`): the command, who ran it, when, on how many nodes, and a
 * small bar of outcomes. Runs the page follows live show their counts as they move. A click shows
 * the run's panes; "Load more" pages back.
 *
 * @module
 */
import type { ExecInfo } from "../../../shared/protocol/mod.ts";
import {
  execHistory,
  getRun,
  historyError,
  historyLoading,
  historyNext,
  loadHistory,
  openRun,
  runCounts,
  runsVersion,
  shownExec,
} from "../../state/exec.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatTime } from "../../state/format.ts";
import { Icon } from "../../ui/icon.tsx";
import { KIND_ORDER, kindLabel, kindTone } from "./exec_format.ts";

/** Per-kind counts of a listed run: live from the store when the page follows it. */
function countsOf(r: ExecInfo): { total: number; by: Record<string, number>; state: string } {
  runsVersion.value;
  const live = getRun(r.id);
  if (live && live.meta.value.nodes.length) {
    const c = runCounts(live);
    return { total: c.total, by: c.by, state: live.meta.value.state };
  }
  const by: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.counts)) {
    // The list counts `exited` as one; without exit codes they show as finished.
    by[k === "exited" ? "exited" : k] = v;
  }
  return { total: r.nodes.length, by, state: r.state };
}

/** The dot's tone: red when a node failed, amber when one timed out, green when all ran fine. */
function itemTone(c: { by: Record<string, number>; state: string }): string {
  if (c.state === "running") return "active";
  if (c.state !== "done") return "off";
  if (c.by.failed || c.by.error) return "bad";
  if (c.by.timed_out) return "wait";
  if (c.by.ok) return "ok";
  // The list does not tell exit codes apart: `exited` alone is neutral.
  return c.by.exited ? "done" : "off";
}

function Item({ r, selected }: { r: ExecInfo; selected: boolean }) {
  const c = countsOf(r);
  const kinds = [...KIND_ORDER, "exited"].filter((k) => k !== "running" && c.by[k]);
  return (
    <button
      type="button"
      class={selected ? "hist-item selected" : "hist-item"}
      onClick={() => openRun(r.id)}
      data-testid="exec-history-item"
      data-exec-id={r.id}
      data-state={c.state}
    >
      <div class="hist-top">
        <span
          class={`hist-dot tone-${itemTone(c)}${c.state === "running" ? " moving" : ""}`}
          title={c.state}
        />
        <code class="hist-cmd" title={r.command}>{r.command}</code>
      </div>
      <div class="hist-meta mute">
        <span>#{r.id}</span>
        <span>{r.by.name}</span>
        <span>
          {r.cluster ? `cluster ${r.cluster}` : `${c.total} ${c.total === 1 ? "node" : "nodes"}`}
        </span>
        <span class="hist-age" title={formatTime(r.created_at)}>
          {formatAge(r.created_at, now.value)} ago
        </span>
      </div>
      <div class="hist-bar" title={kinds.map((k) => `${c.by[k]} ${kindLabel(k)}`).join(" · ")}>
        {kinds.map((k) => (
          <i
            key={k}
            class={`tone-${k === "exited" ? "done" : kindTone(k)}`}
            style={{ width: `${(c.by[k] / Math.max(1, c.total)) * 100}%` }}
          />
        ))}
      </div>
    </button>
  );
}

/** The history column. */
export function HistoryList() {
  const list = execHistory.value;
  const shown = shownExec.value;
  let body;
  if (!list.length && historyLoading.value) {
    body = (
      <div class="hist-empty" data-state="loading">
        <span class="spinner" /> Loading history…
      </div>
    );
  } else if (!list.length && historyError.value) {
    body = (
      <div class="hist-empty" data-state="error">
        <Icon name="alert" size={22} />
        <p class="error-text">{historyError.value}</p>
        <button type="button" onClick={() => void loadHistory()}>Try again</button>
      </div>
    );
  } else if (!list.length) {
    body = (
      <div class="hist-empty" data-state="empty">
        <Icon name="clock" size={24} />
        <p>No runs yet. Every batch command run on this hub is kept here with its output.</p>
      </div>
    );
  } else {
    body = (
      <>
        {list.map((r) => <Item key={r.id} r={r} selected={r.id === shown} />)}
        {historyNext.value
          ? (
            <button
              type="button"
              class="ghost hist-more"
              onClick={() => void loadHistory(true)}
              disabled={historyLoading.value}
              data-testid="exec-history-more"
            >
              {historyLoading.value ? <span class="spinner small" /> : null} Load older runs
            </button>
          )
          : <div class="hist-end mute">That is every run.</div>}
      </>
    );
  }
  return (
    <aside class="exec-history" data-testid="exec-history">
      <header class="hist-head">
        <h3>History</h3>
        {list.length && historyLoading.value ? <span class="spinner small" /> : null}
        <button
          type="button"
          class="ghost icon"
          onClick={() => void loadHistory()}
          title="Reload the history"
          aria-label="Reload the history"
        >
          <Icon name="refresh" size={14} />
        </button>
      </header>
      {list.length && historyError.value
        ? <div class="inline-error small">{historyError.value}</div>
        : null}
      <div class="hist-list">{body}</div>
    </aside>
  );
}
