/**
 * The job detail drawer: `GET /api/v1/jobs/:id` with its history timeline, result, error, exit
 * code and log tail; re-read whenever a `job.state` event for the job arrives (no polling). An
 * admin gets Cancel and Retry.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { ComponentChildren } from "preact";
import type { JobInfo } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { onEvent } from "../../state/stream.ts";
import { isAdmin } from "../../state/session.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatBytes, formatTime } from "../../state/format.ts";
import { selectedNode } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { JobStateChip, jobTone } from "../../ui/state_chip.tsx";
import {
  cancelJob,
  CANCELLABLE,
  commandText,
  formatDuration,
  jobDuration,
  RETRYABLE,
  retryJob,
} from "./job_format.ts";

function json(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

function NodeLink({ id }: { id: string | null }) {
  if (!id) return <span class="mute">—</span>;
  return (
    <button type="button" class="link" onClick={() => (selectedNode.value = id)}>
      {id}
    </button>
  );
}

function Timeline({ j }: { j: JobInfo }) {
  const h = j.history ?? [];
  if (!h.length) return <p class="mute">No transitions recorded.</p>;
  return (
    <ol class="timeline" data-testid="job-history">
      {h.map((t, i) => (
        <li key={i} class={`tone-${jobTone(t.state)}`}>
          <i class="tl-dot" />
          <div class="tl-main">
            <span class="tl-state">{t.state}</span>
            {t.node ? <span class="mute">on {t.node}</span> : null}
            <span class="tl-time num" title={new Date(t.at).toLocaleString()}>
              {formatTime(t.at)}
            </span>
          </div>
          {t.detail ? <div class="tl-detail">{t.detail}</div> : null}
        </li>
      ))}
    </ol>
  );
}

function LogTail({ text }: { text: string }) {
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [text]);
  return <pre class="log" ref={box} data-testid="job-log">{text}</pre>;
}

function Body({ j }: { j: JobInfo }) {
  const ran = jobDuration(j, now.value);
  const hasResult = j.result !== null && j.result !== undefined;
  const hasPayload = j.payload !== null && j.payload !== undefined;
  return (
    <>
      {j.error
        ? (
          <div class="job-error" data-testid="job-error">
            <Icon name="alert" size={15} />
            <div>
              <b>Error{j.exit_code !== null ? ` (exit ${j.exit_code})` : ""}</b>
              <p>{j.error}</p>
            </div>
          </div>
        )
        : null}
      <dl class="facts">
        <Fact label="Template">{j.template ?? <span class="mute">none</span>}</Fact>
        <Fact label="Executor">{j.executor}</Fact>
        {j.image
          ? (
            <Fact label="Image">
              <code>{j.image}</code>
            </Fact>
          )
          : null}
        {j.command
          ? (
            <Fact label="Command">
              <code>{commandText(j.command)}</code>
            </Fact>
          )
          : null}
        <Fact label="Cluster">{j.cluster ?? <span class="mute">any</span>}</Fact>
        {j.node
          ? (
            <Fact label="Pinned to">
              <NodeLink id={j.node} />
            </Fact>
          )
          : null}
        <Fact label="Worker">
          <NodeLink id={j.claimed_by} />
        </Fact>
        <Fact label="Attempts">
          <span class="num">{j.attempts}/{j.max_attempts}</span>
        </Fact>
        <Fact label="Priority">
          <span class="num">{j.priority}</span>
        </Fact>
        <Fact label="Timeout">
          <span class="num">{formatDuration(j.timeout_s * 1000)}</span>
        </Fact>
        <Fact label="Limits">
          <span class="num" data-testid="job-limits">
            {[
              j.memory_b ? `memory ${formatBytes(j.memory_b)}` : "",
              j.cpus ? `${j.cpus} CPU${j.cpus === 1 ? "" : "s"}` : "",
              j.gpu ? "GPU" : "",
            ].filter(Boolean).join(" · ") || <span class="mute">none</span>}
          </span>
        </Fact>
        <Fact label="Created">
          <span class="num">{formatTime(j.created_at)}</span>{" "}
          <span class="mute">({formatAge(j.created_at)} ago)</span>
        </Fact>
        <Fact label="Started">
          <span class="num">{formatTime(j.started_at)}</span>
        </Fact>
        <Fact label="Finished">
          <span class="num">{formatTime(j.finished_at)}</span>
        </Fact>
        <Fact label="Duration">
          <span class="num">{ran === null ? "—" : formatDuration(ran, !j.finished_at)}</span>
        </Fact>
        <Fact label="Exit code">
          <span class={`num${j.exit_code ? " bad-text" : ""}`} data-testid="job-exit-code">
            {j.exit_code ?? "—"}
          </span>
        </Fact>
      </dl>
      {hasResult
        ? (
          <section>
            <h3>Result</h3>
            <pre class="json" data-testid="job-result">{json(j.result)}</pre>
          </section>
        )
        : null}
      <section>
        <h3>Log tail</h3>
        {j.log_tail ? <LogTail text={j.log_tail} /> : <p class="mute">No output reported yet.</p>}
      </section>
      {hasPayload
        ? (
          <section>
            <h3>Payload</h3>
            <pre class="json">{json(j.payload)}</pre>
          </section>
        )
        : null}
      <section>
        <h3>History</h3>
        <Timeline j={j} />
      </section>
    </>
  );
}

/** The drawer for job `id`. */
export function JobDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const job = useSignal<JobInfo | null>(null);
  const error = useSignal<string | null>(null);
  useEffect(() => {
    job.value = null;
    error.value = null;
    let ctl: AbortController | null = null;
    const load = () => {
      ctl?.abort();
      const mine = ctl = new AbortController();
      api.job(id, { signal: mine.signal })
        .then((j) => {
          if (!mine.signal.aborted) {
            job.value = j;
            error.value = null;
          }
        })
        .catch((err) => {
          if (!mine.signal.aborted) error.value = (err as Error).message;
        });
    };
    load();
    const off = onEvent("job.state", (e) => {
      if (e.job_id === id) load();
    });
    return () => {
      off();
      ctl?.abort();
    };
  }, [id]);
  const j = job.value;
  return (
    <aside class="job-detail" data-testid="job-detail" data-job-id={id} data-state={j?.state}>
      <header class="detail-head">
        <div class="detail-title">
          <h2 class="num">Job #{id}</h2>
          {j ? <JobStateChip state={j.state} /> : null}
        </div>
        <button type="button" class="ghost icon" onClick={onClose} aria-label="Close">
          <Icon name="close" size={16} />
        </button>
      </header>
      {j && isAdmin.value && (CANCELLABLE.has(j.state) || RETRYABLE.has(j.state))
        ? (
          <div class="detail-actions">
            {CANCELLABLE.has(j.state)
              ? (
                <button
                  type="button"
                  class="danger"
                  onClick={() => void cancelJob(j)}
                  data-testid="job-cancel"
                >
                  <Icon name="stop" size={14} /> Cancel
                </button>
              )
              : null}
            {RETRYABLE.has(j.state)
              ? (
                <button type="button" onClick={() => void retryJob(j.id)} data-testid="job-retry">
                  <Icon name="retry" size={14} /> Retry
                </button>
              )
              : null}
          </div>
        )
        : null}
      <div class="detail-body">
        {j ? <Body j={j} /> : error.value
          ? (
            <div class="empty-state" data-state="error">
              <Icon name="alert" size={24} />
              <h3>Could not load job {id}</h3>
              <p class="error-text">{error.value}</p>
            </div>
          )
          : (
            <div class="empty-state" data-state="loading">
              <span class="spinner" />
              Loading job…
            </div>
          )}
      </div>
    </aside>
  );
}
