/**
 * The last jobs on this node (`GET /api/v1/jobs?node=<id>&limit=10`: pinned to it or claimed by
 * it), re-read when a `job.state` event names the node or a listed job. A row opens the job in
 * the Jobs view; "All" shows the Jobs view filtered on the node.
 *
 * @module
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { JobInfo } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { formatAge, now } from "../../state/clock.ts";
import { jobFilter } from "../../state/queue.ts";
import { onEvent, onResync } from "../../state/stream.ts";
import { go } from "../../state/ui.ts";
import { JobStateChip } from "../../ui/state_chip.tsx";
import { Quiet, Section } from "./section.tsx";

const LIMIT = 10;

/** What a job runs, in a few words. */
function what(j: JobInfo): string {
  if (j.template) return j.template;
  if (j.image) return j.image;
  if (j.command) return Array.isArray(j.command) ? j.command.join(" ") : j.command;
  return j.executor;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60
    ? `${s} s`
    : s < 3600
    ? `${Math.floor(s / 60)} min ${s % 60} s`
    : `${Math.floor(s / 3600)} h`;
}

/** One row; its age ticks with the hub clock. */
function JobRow({ j }: { j: JobInfo }) {
  const at = j.finished_at ?? j.started_at ?? j.created_at;
  const took = j.finished_at && j.started_at ? duration(j.finished_at - j.started_at) : null;
  return (
    <button
      type="button"
      class="job-row"
      onClick={() => go("jobs", j.id)}
      title={[j.error, took ? `ran ${took}` : null, `open job ${j.id}`].filter(Boolean).join(" · ")}
      data-testid="panel-job"
      data-job-id={j.id}
    >
      <span class="job-id mono">#{j.id}</span>
      <span class="job-what">{what(j)}</span>
      <JobStateChip state={j.state} />
      <span class="job-age mono">{formatAge(at, now.value)} ago</span>
    </button>
  );
}

/** The recent-jobs block. */
export function RecentJobs({ id }: { id: string }) {
  const [list, setList] = useState<JobInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const shown = useRef<ReadonlySet<string>>(new Set());
  shown.current = new Set((list ?? []).map((j) => j.id));

  useEffect(() => {
    setList(null);
    setError(null);
  }, [id]);

  useEffect(() => {
    const ctl = new AbortController();
    api.jobs({ node: id, limit: LIMIT }, { signal: ctl.signal }).then((r) => {
      setList(r.jobs);
      setError(null);
    }).catch((err: Error) => {
      if (!ctl.signal.aborted) setError(err.message);
    });
    return () => ctl.abort();
  }, [id, tick]);

  // Re-read (debounced) when a job of this node moves.
  useEffect(() => {
    let t: ReturnType<typeof setTimeout> | undefined;
    const later = () => {
      clearTimeout(t);
      t = setTimeout(() => setTick((n) => n + 1), 300);
    };
    const offJob = onEvent("job.state", (e) => {
      if (e.node === id || shown.current.has(e.job_id)) later();
    });
    const offResync = onResync(later);
    return () => {
      clearTimeout(t);
      offJob();
      offResync();
    };
  }, [id]);

  const all = () => {
    jobFilter.value = { node: id };
    go("jobs");
  };
  return (
    <Section
      title="Recent jobs"
      icon="jobs"
      testid="panel-jobs"
      tools={
        <button type="button" class="ghost small" onClick={all} data-testid="panel-all-jobs">
          All →
        </button>
      }
    >
      {error
        ? <p class="psec-quiet error" role="alert">Could not load jobs: {error}</p>
        : list === null
        ? (
          <p class="psec-quiet">
            <span class="spinner" /> Loading jobs…
          </p>
        )
        : list.length === 0
        ? <Quiet>No jobs have run on this node yet.</Quiet>
        : <div class="job-list">{list.map((j) => <JobRow key={j.id} j={j} />)}</div>}
    </Section>
  );
}
