/**
 * How the Jobs view names and times a job, and its two actions (cancel, retry) — shared by the
 * table, the detail drawer and the submit dialog.
 *
 * @module
 */
import type { JobCommand, JobInfo, JobState, TemplateInfo } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { act } from "../../state/ui.ts";
import { confirmDialog } from "../../ui/modal.tsx";

/** States a job can be cancelled from. */
export const CANCELLABLE: ReadonlySet<JobState> = new Set(["pending", "claimed", "running"]);
/** States a job can be retried from. */
export const RETRYABLE: ReadonlySet<JobState> = new Set(["failed", "cancelled"]);

/** A command as one line. */
export function commandText(c: JobCommand | null | undefined): string {
  if (c === null || c === undefined) return "";
  return Array.isArray(c) ? c.join(" ") : c;
}

/** What a template runs, in one line: its image, else its command. */
export function templateRuns(t: TemplateInfo | undefined): string {
  if (!t) return "no template";
  return t.image ?? (commandText(t.command) || t.executor);
}

/** The job's name (template, or executor) and what it runs (image and/or command). */
export function jobWhat(j: JobInfo): { name: string; runs: string } {
  const runs = [j.image, commandText(j.command)].filter(Boolean).join(" · ");
  return { name: j.template ?? j.executor, runs };
}

/** "850 ms", "42 s", "3 min 05 s", "2 h 10 min"; `live` counts whole seconds (a ticking clock). */
export function formatDuration(ms: number, live = false): string {
  if (ms < 1000 && !live) return `${Math.max(0, Math.round(ms))} ms`;
  const s = live ? Math.max(0, Math.floor(ms / 1000)) : Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** Run time: start to finish, or start to now while it runs; null before it started. */
export function jobDuration(j: JobInfo, at: number): number | null {
  if (!j.started_at) return null;
  return (j.finished_at ?? (j.state === "running" || j.state === "claimed" ? at : j.started_at)) -
    j.started_at;
}

/** Cancels a job (asks first when it is already on a node); toasts the outcome. */
export async function cancelJob(j: Pick<JobInfo, "id" | "state" | "claimed_by">): Promise<void> {
  if (j.state !== "pending") {
    const ok = await confirmDialog({
      title: `Cancel job ${j.id}?`,
      body: `It is ${j.state}${
        j.claimed_by ? ` on ${j.claimed_by}` : ""
      }; the worker stops it and its work so far is lost.`,
      confirm: "Cancel job",
      danger: true,
    });
    if (!ok) return;
  }
  await act(`Job ${j.id} cancelled`, () => api.jobAction(j.id, "cancel"));
}

/** Puts a failed or cancelled job back in the queue; toasts the outcome. */
export async function retryJob(id: string): Promise<void> {
  await act(`Job ${id} queued again`, () => api.jobAction(id, "retry"));
}
