/**
 * The Jobs view: a filter bar, the jobs table (newest first, live through the queue state's
 * `job.state` handling) and a detail drawer for the job in the URL (`#/jobs/<id>`, which is how
 * the node panel links here). An admin submits jobs from a template or a command, and cancels or
 * retries them from the drawer.
 *
 * @module
 */
import { signal, useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { isAdmin } from "../state/session.ts";
import { jobFilter, jobs, jobsLoading, loadJobs, queueError } from "../state/queue.ts";
import { go } from "../state/ui.ts";
import { Icon } from "../ui/icon.tsx";
import { JobFilters } from "./jobs/job_filters.tsx";
import { JobTable } from "./jobs/job_table.tsx";
import { JobDetail } from "./jobs/job_detail.tsx";
import { SubmitDialog } from "./jobs/submit_dialog.tsx";

function jobFromHash(): string | null {
  const [v, id] = location.hash.replace(/^#\/?/, "").split("/");
  return v === "jobs" && id ? decodeURIComponent(id) : null;
}

/** The job whose detail is open (mirrored in the URL as `#/jobs/<id>`). */
export const openJob = signal<string | null>(null);

/** Shows the Jobs view with job `id`'s detail open (from anywhere, e.g. the node panel). */
export function showJob(id: string): void {
  openJob.value = id;
  go("jobs", id);
}

function select(id: string | null): void {
  openJob.value = id;
  const hash = id ? `#/jobs/${encodeURIComponent(id)}` : "#/jobs";
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

function EmptyJobs({ onSubmit }: { onSubmit: (() => void) | null }) {
  const f = jobFilter.value;
  if (f.state || f.cluster || f.node) {
    return (
      <div class="empty-state table-empty" data-state="empty">
        <Icon name="filter" size={26} />
        <h3>No jobs match these filters</h3>
        <button
          type="button"
          onClick={() => {
            jobFilter.value = {};
            void loadJobs();
          }}
        >
          Clear filters
        </button>
      </div>
    );
  }
  return (
    <div class="empty-state table-empty" data-state="empty">
      <Icon name="jobs" size={30} />
      <h3>No jobs yet</h3>
      <p>
        Jobs run a fleet.yml template or a command on a free worker. Submit one here, or from a
        shell:
      </p>
      <pre class="snippet">{`fleet-hub job submit --template sdxl --payload '{"prompt":"…"}'`}</pre>
      {onSubmit
        ? (
          <button type="button" class="primary" onClick={onSubmit}>
            <Icon name="plus" size={14} /> Submit a job
          </button>
        )
        : null}
    </div>
  );
}

/** The jobs view. */
export function JobsView() {
  const submitting = useSignal(false);
  useEffect(() => {
    openJob.value = jobFromHash();
    void loadJobs();
    const onPop = () => (openJob.value = jobFromHash());
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);
  const admin = isAdmin.value;
  // Live patches can move a listed job out of the state filter (pending → claimed): hide it.
  const want = jobFilter.value.state;
  const list = jobs.value.filter((j) => !want || j.state === want).sort((a, b) =>
    b.created_at - a.created_at || Number(b.id) - Number(a.id)
  );
  const open = openJob.value;
  let body;
  if (!list.length && jobsLoading.value) {
    body = (
      <div class="empty-state table-empty" data-state="loading">
        <span class="spinner" />
        Loading jobs…
      </div>
    );
  } else if (!list.length && queueError.value) {
    body = (
      <div class="empty-state table-empty" data-state="error">
        <Icon name="alert" size={26} />
        <h3>Could not load jobs</h3>
        <p class="error-text">{queueError.value}</p>
        <button type="button" onClick={() => void loadJobs()}>Try again</button>
      </div>
    );
  } else if (!list.length) {
    body = <EmptyJobs onSubmit={admin ? () => (submitting.value = true) : null} />;
  } else {
    body = <JobTable list={list} selected={open} onOpen={(id) => select(id)} />;
  }
  return (
    <div class="view jobs-view" data-testid="jobs-view">
      <div class="jobs-main">
        <div class="view-head">
          <div>
            <h2>Jobs</h2>
            <p class="view-sub">Newest first · live as workers claim, run and finish them.</p>
          </div>
          {admin
            ? (
              <button
                type="button"
                class="primary"
                onClick={() => (submitting.value = true)}
                data-testid="submit-job"
              >
                <Icon name="plus" size={14} /> Submit job
              </button>
            )
            : null}
        </div>
        <JobFilters shown={list.length} />
        {list.length && queueError.value
          ? (
            <div class="inline-error" role="alert">
              <Icon name="alert" size={14} /> {queueError.value}
            </div>
          )
          : null}
        <div class="card table-card jobs-table">{body}</div>
      </div>
      {open ? <JobDetail key={open} id={open} onClose={() => select(null)} /> : null}
      {submitting.value && admin
        ? (
          <SubmitDialog
            onClose={() => (submitting.value = false)}
            onSubmitted={(id) => {
              submitting.value = false;
              select(id);
            }}
          />
        )
        : null}
    </div>
  );
}
