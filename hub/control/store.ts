/**
 * Batch exec history: `exec_runs` (the command, its targets, who ran it, its state) and
 * `exec_results` (one row per target node: state, exit code, capped output). Output is held in
 * memory while a node runs and written once when it ends, so a chatty command costs one write
 * per node, not one per chunk.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type {
  ExecInfo,
  ExecNodeResult,
  ExecNodeState,
  ExecRunState,
  TokenKind,
} from "../../shared/protocol/mod.ts";

interface RunRow {
  id: number;
  command: string;
  cluster: string | null;
  timeout_s: number;
  state: ExecRunState;
  by_name: string;
  by_kind: TokenKind;
  created_at: number;
  finished_at: number | null;
}

interface ResultRow {
  exec_id: number;
  node_id: string;
  state: ExecNodeState;
  exit_code: number | null;
  output: string;
  truncated: number;
  output_bytes: number;
  tail: string | null;
  error: string | null;
  started_at: number | null;
  finished_at: number | null;
}

/** A new run and the initial state of each target. */
export interface NewExecRun {
  command: string;
  cluster: string | null;
  timeout_s: number;
  by: { name: string; kind: TokenKind };
  created_at: number;
  /** Every target: `running` (sent to its agent) or already final (`offline`, `error`). */
  nodes: { node_id: string; state: ExecNodeState; error: string | null }[];
}

/** Inserts a run with its result rows (inside a write); returns the run id. */
export function insertExecRun(db: Database, run: NewExecRun): number {
  const allFinal = run.nodes.every((n) => n.state !== "running");
  const id = db.get<{ id: number }>(
    `INSERT INTO exec_runs (command, cluster, timeout_s, state, by_name, by_kind, created_at,
                            finished_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    run.command,
    run.cluster,
    run.timeout_s,
    allFinal ? "done" : "running",
    run.by.name,
    run.by.kind,
    run.created_at,
    allFinal ? run.created_at : null,
  )!.id;
  for (const n of run.nodes) {
    const running = n.state === "running";
    db.run(
      `INSERT INTO exec_results (exec_id, node_id, state, error, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      id,
      n.node_id,
      n.state,
      n.error,
      running ? run.created_at : null,
      running ? null : run.created_at,
    );
  }
  return id;
}

/** The final form of one node's result. */
export interface FinishedResult {
  state: ExecNodeState;
  exit_code: number | null;
  output: ExecNodeResult["output"];
  truncated: boolean;
  output_bytes: number;
  tail: string | null;
  error: string | null;
  finished_at: number;
}

/** Stores one node's end (only if it is still running); true if it changed. */
export function finishExecResult(
  db: Database,
  execId: number,
  nodeId: string,
  r: FinishedResult,
): boolean {
  return db.run(
    `UPDATE exec_results SET state = ?, exit_code = ?, output = ?, truncated = ?,
       output_bytes = ?, tail = ?, error = ?, finished_at = ?
     WHERE exec_id = ? AND node_id = ? AND state = 'running'`,
    r.state,
    r.exit_code,
    JSON.stringify(r.output),
    r.truncated ? 1 : 0,
    r.output_bytes,
    r.tail,
    r.error,
    r.finished_at,
    execId,
    nodeId,
  ).changes > 0;
}

/** Marks a run finished with `state` (only if still running); true if it changed. */
export function finishExecRun(
  db: Database,
  execId: number,
  state: ExecRunState,
  now: number,
): boolean {
  return db.run(
    "UPDATE exec_runs SET state = ?, finished_at = ? WHERE id = ? AND state = 'running'",
    state,
    now,
    execId,
  ).changes > 0;
}

/**
 * At hub start: every run and node result still `running` lost its hub mid-way; marks them
 * `interrupted`. Returns the run ids changed.
 */
export function interruptRunningExecs(db: Database, now: number): number[] {
  const ids = db.all<{ id: number }>("SELECT id FROM exec_runs WHERE state = 'running'").map((
    r,
  ) => r.id);
  db.run(
    `UPDATE exec_results SET state = 'interrupted', finished_at = ?,
       error = coalesce(error, 'the hub stopped while this ran')
     WHERE state = 'running'`,
    now,
  );
  db.run(
    "UPDATE exec_runs SET state = 'interrupted', finished_at = ? WHERE state = 'running'",
    now,
  );
  return ids;
}

function counts(results: { state: string }[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of results) c[r.state] = (c[r.state] ?? 0) + 1;
  return c;
}

function resultInfo(r: ResultRow): ExecNodeResult {
  return {
    node_id: r.node_id,
    state: r.state,
    exit_code: r.exit_code,
    output: JSON.parse(r.output),
    truncated: r.truncated === 1,
    output_bytes: r.output_bytes,
    tail: r.tail,
    error: r.error,
    started_at: r.started_at,
    finished_at: r.finished_at,
  };
}

function runInfo(run: RunRow, results: ResultRow[], withResults: boolean): ExecInfo {
  return {
    id: String(run.id),
    command: run.command,
    cluster: run.cluster,
    nodes: results.map((r) => r.node_id),
    timeout_s: run.timeout_s,
    state: run.state,
    by: { name: run.by_name, kind: run.by_kind },
    created_at: run.created_at,
    finished_at: run.finished_at,
    counts: counts(results),
    ...(withResults ? { results: results.map(resultInfo) } : {}),
  };
}

/** One run with every node's result, or undefined. */
export function getExecRun(db: Database, id: number): ExecInfo | undefined {
  const run = db.get<RunRow>("SELECT * FROM exec_runs WHERE id = ?", id);
  if (!run) return undefined;
  const results = db.all<ResultRow>(
    "SELECT * FROM exec_results WHERE exec_id = ? ORDER BY node_id",
    id,
  );
  return runInfo(run, results, true);
}

/** Runs newest first, without output; `before` pages. */
export function listExecRuns(
  db: Database,
  q: { limit: number; before?: number; node?: string },
): ExecInfo[] {
  const runs = q.node === undefined
    ? db.all<RunRow>(
      "SELECT * FROM exec_runs WHERE id < ? ORDER BY id DESC LIMIT ?",
      q.before ?? Number.MAX_SAFE_INTEGER,
      q.limit,
    )
    : db.all<RunRow>(
      `SELECT r.* FROM exec_runs r
       WHERE r.id < ? AND EXISTS (SELECT 1 FROM exec_results x WHERE x.exec_id = r.id AND x.node_id = ?)
       ORDER BY r.id DESC LIMIT ?`,
      q.before ?? Number.MAX_SAFE_INTEGER,
      q.node,
      q.limit,
    );
  return runs.map((run) => {
    const results = db.all<ResultRow>(
      `SELECT exec_id, node_id, state, exit_code, '[]' AS output, truncated, output_bytes,
              NULL AS tail, error, started_at, finished_at
       FROM exec_results WHERE exec_id = ? ORDER BY node_id`,
      run.id,
    );
    return runInfo(run, results, false);
  });
}
