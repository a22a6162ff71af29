/**
 * The jobs table, newest first: id, state, what it runs, cluster, node, attempts, age and run
 * time. A row's state follows `job.state` events (patched into `jobs` by the queue state);
 * clicking it opens the detail drawer.
 *
 * @module
 */
import type { JobInfo } from "../../../shared/protocol/mod.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatTime } from "../../state/format.ts";
import { JobStateChip } from "../../ui/state_chip.tsx";
import { formatDuration, jobDuration, jobWhat } from "./job_format.ts";

function JobRow({ j, selected, onOpen }: {
  j: JobInfo;
  selected: boolean;
  onOpen: (id: string) => void;
}) {
  const what = jobWhat(j);
  const ran = jobDuration(j, now.value);
  const node = j.claimed_by ?? j.node;
  return (
    <tr
      data-testid="job-row"
      data-job-id={j.id}
      data-state={j.state}
      class={selected ? "selected clickable" : "clickable"}
      onClick={() => onOpen(j.id)}
      tabIndex={0}
      onKeyDown={(e) => {
        if (e.key === "Enter") onOpen(j.id);
      }}
    >
      <td class="num id">#{j.id}</td>
      <td>
        <JobStateChip state={j.state} />
      </td>
      <td class="what">
        <span class="job-name">{what.name}</span>
        {what.runs ? <code class="runs" title={what.runs}>{what.runs}</code> : null}
      </td>
      <td>{j.cluster ?? <span class="mute">any</span>}</td>
      <td>
        {node
          ? (
            <span class={j.node && !j.claimed_by ? "pinned" : ""}>
              {node}
            </span>
          )
          : <span class="mute">—</span>}
      </td>
      <td class={`num right${j.attempts > 1 ? " warn-text" : ""}`}>
        {j.attempts}/{j.max_attempts}
      </td>
      <td class="num right" title={formatTime(j.created_at)}>
        {formatAge(j.created_at)} ago
      </td>
      <td class="num right">
        {ran === null ? <span class="mute">—</span> : formatDuration(ran, !j.finished_at)}
      </td>
    </tr>
  );
}

/** The table of `list`; `selected` is the open job's id. */
export function JobTable({ list, selected, onOpen }: {
  list: JobInfo[];
  selected: string | null;
  onOpen: (id: string) => void;
}) {
  return (
    <table class="grid job-table">
      <thead>
        <tr>
          <th>Job</th>
          <th>State</th>
          <th>Runs</th>
          <th>Cluster</th>
          <th>Node</th>
          <th class="right">Attempts</th>
          <th class="right">Created</th>
          <th class="right">Duration</th>
        </tr>
      </thead>
      <tbody>
        {list.map((j) => <JobRow key={j.id} j={j} selected={j.id === selected} onOpen={onOpen} />)}
      </tbody>
    </table>
  );
}
