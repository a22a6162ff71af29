/**
 * Batch exec as the UI sees it: every run this browser has heard of, keyed by `exec_id`, with one
 * signal per node pane (so a chunk of output re-renders one pane, not the grid), the history list,
 * the run on screen and where the next command goes (the canvas selection or a cluster).
 *
 * Stream events (`exec.started`, `exec.output`, `exec.exit`, `exec.finished`) and HTTP answers
 * (`POST /api/v1/exec`, `GET /api/v1/exec/:id`) are merged in whatever order they arrive — the
 * events of a run often come before the POST's answer. A node's final state wins over `running`;
 * output comes from the events when this page saw the run start, otherwise from the stored run.
 * The history is re-read on `exec.started` / `exec.finished`; nothing polls.
 *
 * @module
 */
import { batch, type Signal, signal } from "@preact/signals";
import type {
  ExecInfo,
  ExecNodeResult,
  ExecNodeState,
  ExecRunState,
  OutputStream,
} from "../../shared/protocol/mod.ts";
import { EXEC_NODE_STATES } from "../../shared/protocol/enums.ts";
import { api } from "./api.ts";
import { onEvent, onResync } from "./stream.ts";
import { go, selection } from "./ui.ts";
import { hubNow } from "./clock.ts";

/** One node's pane. */
export interface PaneState {
  node_id: string;
  state: ExecNodeState;
  exit_code: number | null;
  /** Output in arrival order, consecutive pieces of one stream merged. */
  chunks: { stream: OutputStream; data: string }[];
  truncated: boolean;
  /** Bytes written in total (known once the node finished and the run was read back). */
  output_bytes: number | null;
  /** The last bytes of a truncated output. */
  tail: string | null;
  error: string | null;
  started_at: number | null;
  finished_at: number | null;
  /** This browser's clock when the node's exit event came (see {@link RunMeta.local_start}). */
  local_end: number | null;
}

/** What a run is, apart from its panes. */
export interface RunMeta {
  id: string;
  command: string;
  nodes: string[];
  cluster: string | null;
  by: { name: string; kind: string | null };
  state: ExecRunState;
  timeout_s: number | null;
  created_at: number | null;
  finished_at: number | null;
  /** This page saw `exec.started`: the panes' output from events is complete. */
  live: boolean;
  /** The stored run was read (or the POST answered): timeout and times are known. */
  known: boolean;
  /**
   * This browser's clock when the run started / finished, for runs followed live: durations
   * measured on one clock (the hub's stored times arrive only with a read).
   */
  local_start: number | null;
  local_end: number | null;
}

/** A run in the store. */
export interface Run {
  meta: Signal<RunMeta>;
  panes: Map<string, Signal<PaneState>>;
  /** Each node's pane kind (see {@link paneKind}), apart from the output: counts and filters. */
  kinds: Signal<Record<string, string>>;
  /** `GET /api/v1/exec/:id` in flight. */
  loading: Signal<boolean>;
  /** Why the last read failed. */
  error: Signal<string | null>;
}

/** States in which a node is done: every state but `running`. */
export const FINAL_STATES: ReadonlySet<ExecNodeState> = new Set(
  EXEC_NODE_STATES.filter((s) => s !== "running"),
);

/** How many runs (with their output) the page keeps; older ones are read again when opened. */
const KEEP_RUNS = 24;

const runs = new Map<string, Run>();

/** The run shown in the exec view (mirrored in the URL as `#/exec/<id>`). */
export const shownExec = signal<string | null>(null);

/** Where the composer sends the next command: the canvas selection, or a cluster. */
export const execTarget = signal<{ mode: "nodes" } | { mode: "cluster"; cluster: string }>({
  mode: "nodes",
});

/** The command in the composer (kept across views, and filled by "Run again"). */
export const execDraft = signal("");

/** The history list, newest first (no output). */
export const execHistory = signal<ExecInfo[]>([]);
export const historyLoading = signal(false);
export const historyError = signal<string | null>(null);
/** Cursor of the next history page, `null` at the end. */
export const historyNext = signal<string | null>(null);
/** Bumped whenever a run changes, for lists that summarise runs (history rows). */
export const runsVersion = signal(0);

function emptyPane(node_id: string): PaneState {
  return {
    node_id,
    state: "running",
    exit_code: null,
    chunks: [],
    truncated: false,
    output_bytes: null,
    tail: null,
    error: null,
    started_at: null,
    finished_at: null,
    local_end: null,
  };
}

function newRun(id: string): Run {
  const run: Run = {
    meta: signal<RunMeta>({
      id,
      command: "",
      nodes: [],
      cluster: null,
      by: { name: "", kind: null },
      state: "running",
      timeout_s: null,
      created_at: null,
      finished_at: null,
      live: false,
      known: false,
      local_start: null,
      local_end: null,
    }),
    panes: new Map(),
    kinds: signal({}),
    loading: signal(false),
    error: signal(null),
  };
  runs.set(id, run);
  evict();
  return run;
}

/** Forgets the oldest runs beyond {@link KEEP_RUNS}, never the one on screen or still running. */
function evict(): void {
  if (runs.size <= KEEP_RUNS) return;
  for (const [id, run] of runs) {
    if (runs.size <= KEEP_RUNS) break;
    if (id === shownExec.peek() || run.meta.peek().state === "running") continue;
    runs.delete(id);
  }
}

/** The run `id` if the page holds it. */
export function getRun(id: string): Run | undefined {
  return runs.get(id);
}

/** The run `id`, created empty when the page has not heard of it yet. */
export function ensureRun(id: string): Run {
  return runs.get(id) ?? newRun(id);
}

/** The pane of `node` in `run`, created (and added to the run's nodes) when missing. */
export function ensurePane(run: Run, node: string): Signal<PaneState> {
  let pane = run.panes.get(node);
  if (!pane) {
    pane = signal(emptyPane(node));
    run.panes.set(node, pane);
    const m = run.meta.peek();
    if (!m.nodes.includes(node)) run.meta.value = { ...m, nodes: [...m.nodes, node] };
  }
  return pane;
}

/** Writes a pane, and its kind when that changed. */
function writePane(run: Run, pane: Signal<PaneState>, next: PaneState): void {
  pane.value = next;
  const kind = paneKind(next);
  if (run.kinds.peek()[next.node_id] !== kind) {
    run.kinds.value = { ...run.kinds.peek(), [next.node_id]: kind };
  }
}

/** Counts of a run's panes per kind, plus how many are finished (reactive). */
export function runCounts(run: Run): { total: number; done: number; by: Record<string, number> } {
  const by: Record<string, number> = {};
  const kinds = run.kinds.value;
  let done = 0;
  for (const node of run.meta.value.nodes) {
    const s = kinds[node] ?? "running";
    by[s] = (by[s] ?? 0) + 1;
    if (s !== "running") done++;
  }
  return { total: run.meta.value.nodes.length, done, by };
}

/** A pane's state for colour and counts: `ok` / `failed` for exited nodes, else the state. */
export function paneKind(p: Pick<PaneState, "state" | "exit_code">): string {
  if (p.state === "exited") return p.exit_code === 0 ? "ok" : "failed";
  return p.state;
}

/**
 * How long a node ran (ms): on this browser's clock for runs followed live, else from the hub's
 * stored times; `null` when unknown. `nowLocal` is `Date.now()` for nodes still running.
 */
export function paneElapsed(m: RunMeta, p: PaneState, nowLocal: number): number | null {
  if (m.local_start !== null) {
    if (p.state === "running") return nowLocal - m.local_start;
    if (p.local_end !== null) return p.local_end - m.local_start;
  }
  const from = p.started_at ?? m.created_at;
  if (from === null) return null;
  if (p.state === "running") return hubNow() - from;
  return p.finished_at === null ? null : p.finished_at - from;
}

/** How long the whole run took (or has been running), like {@link paneElapsed}. */
export function runElapsed(m: RunMeta, nowLocal: number): number | null {
  if (m.local_start !== null) {
    return (m.state === "running" ? nowLocal : m.local_end ?? nowLocal) - m.local_start;
  }
  if (m.created_at === null) return null;
  if (m.state === "running") return hubNow() - m.created_at;
  return m.finished_at === null ? null : m.finished_at - m.created_at;
}

/** Merges a stored or answered run into the store. */
function mergeInfo(info: ExecInfo, fromRead: boolean): Run {
  const run = ensureRun(info.id);
  batch(() => {
    const m = run.meta.peek();
    const nodes = [...info.nodes, ...m.nodes.filter((n) => !info.nodes.includes(n))];
    run.meta.value = {
      ...m,
      command: info.command,
      nodes,
      cluster: info.cluster,
      by: { name: info.by.name, kind: info.by.kind },
      // A finished state from an event is newer than a `running` in an answer.
      state: info.state === "running" && m.state !== "running" ? m.state : info.state,
      timeout_s: info.timeout_s,
      created_at: info.created_at,
      finished_at: info.finished_at ?? m.finished_at,
      known: true,
    };
    for (const r of info.results ?? []) mergeResult(run, r, fromRead, m.live);
  });
  runsVersion.value++;
  return run;
}

function mergeResult(run: Run, r: ExecNodeResult, fromRead: boolean, live: boolean): void {
  const pane = ensurePane(run, r.node_id);
  const p = pane.peek();
  const final = FINAL_STATES.has(r.state);
  const next: PaneState = { ...p, started_at: r.started_at ?? p.started_at };
  if (final || !FINAL_STATES.has(p.state)) {
    next.state = final || p.state === "running" ? r.state : p.state;
    next.exit_code = r.exit_code;
    next.error = r.error;
    next.truncated = r.truncated || p.truncated;
    next.finished_at = r.finished_at;
    if (final) {
      next.output_bytes = r.output_bytes;
      next.tail = r.tail;
    }
  }
  // Stored output of a finished node is complete; a running node's is only taken when the page
  // did not follow the run from its start (events then continue it).
  if (fromRead && (final || !live)) next.chunks = r.output.map((c) => ({ ...c }));
  writePane(run, pane, next);
}

/** Reads the stored run (output so far) into the store. */
export async function loadRun(id: string): Promise<void> {
  const run = ensureRun(id);
  run.loading.value = true;
  try {
    mergeInfo(await api.execRun(id), true);
    run.error.value = null;
  } catch (err) {
    run.error.value = (err as Error).message;
  } finally {
    run.loading.value = false;
  }
}

/** Shows run `id` in the exec view, reading it when the page does not hold all of it. */
export function openRun(id: string, navigate = true): void {
  shownExec.value = id;
  if (navigate) go("exec", id);
  const run = runs.get(id);
  const m = run?.meta.peek();
  if (run?.loading.peek()) return;
  if (!run || !m!.known || (!m!.live && m!.state === "running")) void loadRun(id);
}

/**
 * Starts a run (admin): `POST /api/v1/exec`. Resolves with its id once the hub answered; the
 * run is on screen from then on (events that came first are already in it).
 */
export async function startExec(
  req: { nodes: string[] } | { cluster: string },
  command: string,
  timeout_s: number,
): Promise<string> {
  const info = await api.exec({ ...req, command, timeout_s });
  mergeInfo(info, false);
  rememberCommand(command);
  shownExec.value = info.id;
  const hash = `#/exec/${info.id}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
  reloadHistory();
  return info.id;
}

/** Asks the hub to kill every process group of run `id` still running (admin). */
export async function cancelExec(id: string): Promise<void> {
  mergeInfo(await api.cancelExec(id), false);
}

/** Re-reads the first page of history (or appends the next page when `more`). */
export async function loadHistory(more = false): Promise<void> {
  historyWanted = true;
  const cursor = more ? historyNext.peek() : null;
  if (more && !cursor) return;
  historyLoading.value = true;
  try {
    const page = await api.execRuns({ limit: 40, cursor: cursor ?? undefined });
    if (more) {
      const seen = new Set(execHistory.peek().map((r) => r.id));
      execHistory.value = [...execHistory.peek(), ...page.runs.filter((r) => !seen.has(r.id))];
      historyNext.value = page.next_cursor;
    } else {
      // Keep the pages read further down.
      const ids = new Set(page.runs.map((r) => r.id));
      const last = Number(page.runs.at(-1)?.id ?? 0);
      const older = execHistory.peek().filter((r) => !ids.has(r.id) && Number(r.id) < last);
      execHistory.value = [...page.runs, ...older];
      if (!older.length) historyNext.value = page.next_cursor;
    }
    historyError.value = null;
  } catch (err) {
    historyError.value = (err as Error).message;
  } finally {
    historyLoading.value = false;
  }
}

let historyTimer: ReturnType<typeof setTimeout> | undefined;
/** Set once something showed the history: until then events need not re-read it. */
let historyWanted = false;
/** Re-reads the history soon (several events in a burst make one request). */
function reloadHistory(): void {
  if (!historyWanted) return;
  clearTimeout(historyTimer);
  historyTimer = setTimeout(() => void loadHistory(), 250);
}

// --- recent commands (this browser's, in localStorage)

const RECENT_KEY = "fleet.exec.recent";
/** Commands this browser ran, newest first (at most 20). */
export const recentCommands = signal<string[]>(readRecent());

function readRecent(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(RECENT_KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string").slice(0, 20) : [];
  } catch {
    return [];
  }
}

function rememberCommand(command: string): void {
  const list = [command, ...recentCommands.peek().filter((c) => c !== command)].slice(0, 20);
  recentCommands.value = list;
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(list));
  } catch { /* storage full or off */ }
}

// --- entry points from other views

/** Opens the exec view aimed at `nodes` (they become the canvas selection). */
export function runCommandOn(nodes: Iterable<string>): void {
  selection.value = new Set(nodes);
  execTarget.value = { mode: "nodes" };
  shownExec.value = null;
  go("exec");
}

/** Puts a run's command and targets back in the composer. */
export function runAgain(id: string): void {
  const m = runs.get(id)?.meta.peek();
  if (!m) return;
  if (m.cluster) execTarget.value = { mode: "cluster", cluster: m.cluster };
  else {
    selection.value = new Set(m.nodes);
    execTarget.value = { mode: "nodes" };
  }
  execDraft.value = m.command;
}

/** Opens the exec view aimed at a cluster. */
export function runCommandOnCluster(cluster: string): void {
  execTarget.value = { mode: "cluster", cluster };
  shownExec.value = null;
  go("exec");
}

// --- stream events

onEvent("exec.started", (e) => {
  const run = ensureRun(e.exec_id);
  batch(() => {
    const m = run.meta.peek();
    run.meta.value = {
      ...m,
      command: e.command,
      nodes: [...e.nodes, ...m.nodes.filter((n) => !e.nodes.includes(n))],
      by: { name: e.by, kind: m.by.kind },
      // The hub publishes this before any output of the run: from here the events are complete.
      live: true,
      created_at: m.created_at ?? hubNow(),
      local_start: m.local_start ?? Date.now(),
    };
    for (const n of e.nodes) ensurePane(run, n);
  });
  runsVersion.value++;
  reloadHistory();
});

onEvent("exec.output", (e) => {
  const run = runs.get(e.exec_id);
  if (!run) return; // a run that started before this page: read when opened
  const pane = ensurePane(run, e.node_id);
  const p = pane.peek();
  const chunks = p.chunks.slice();
  const last = chunks.at(-1);
  if (last && last.stream === e.stream) {
    chunks[chunks.length - 1] = { stream: e.stream, data: last.data + e.data };
  } else chunks.push({ stream: e.stream, data: e.data });
  pane.value = { ...p, chunks };
});

onEvent("exec.exit", (e) => {
  const run = runs.get(e.exec_id);
  if (!run) return;
  const pane = ensurePane(run, e.node_id);
  writePane(run, pane, {
    ...pane.peek(),
    state: e.state,
    exit_code: e.exit_code,
    truncated: e.truncated,
    error: e.error,
    finished_at: hubNow(),
    local_end: Date.now(),
  });
  runsVersion.value++;
});

onEvent("exec.finished", (e) => {
  const run = runs.get(e.exec_id);
  if (run) {
    const m = run.meta.peek();
    run.meta.value = {
      ...m,
      state: e.state,
      finished_at: m.finished_at ?? hubNow(),
      local_end: m.local_end ?? Date.now(),
    };
    // Read back what the events do not carry: the tail of truncated output, stored times.
    const truncated = [...run.panes.values()].some((p) => p.peek().truncated);
    if (truncated || !m.live || !m.known) void loadRun(e.exec_id);
    runsVersion.value++;
  }
  reloadHistory();
});

onResync(() => {
  reloadHistory();
  const id = shownExec.peek();
  if (id && runs.get(id)?.meta.peek().state === "running") void loadRun(id);
});
