/**
 * The hub's SQLite database: opening with durable pragmas, versioned migrations and group commit.
 *
 * Durability is `journal_mode=WAL` + `synchronous=FULL`: a write is acknowledged only after its
 * transaction committed and was fsynced. Throughput comes from group commit: callers hand a
 * write to {@link Database.write}, writes that arrive within a few milliseconds run in one
 * transaction (each in its own savepoint, so one failing write does not undo the others), and
 * every caller's promise settles after that single commit.
 *
 * With `--db-writer worker` the hub also starts a writer worker ({@link Database.startWriter},
 * `writer.ts`): a second thread with its own connection to the same file that runs the hot writes,
 * named operations with plain-data arguments (`write_ops.ts`: ingest batches, job claim, heartbeat,
 * finish), in its own group commits, so the request thread parses, validates and answers while the
 * disk works. Callers are answered only after the worker's COMMIT returned, i.e. after its fsync
 * (`synchronous=FULL` on both connections); a claim is still one `BEGIN IMMEDIATE` transaction, on
 * the worker. Reads stay on this thread's connection (WAL: they see every committed write and never
 * wait for the writer).
 *
 * Closures cannot cross a Worker, so the generic {@link Database.write} keeps running here, on
 * this connection, with the same group commit. There is still one writer at a time: before
 * committing, this thread takes the write lock from the worker (`lock()`: the worker commits
 * everything it was sent before, then holds new operations until `unlock()`). Chosen over
 * letting both connections race for SQLite's lock because a losing `BEGIN IMMEDIATE` on this
 * thread would sleep in SQLite's busy handler and stall every request (SQLITE_BUSY), and
 * because the lock keeps the order: a write issued after an operation commits after it.
 *
 * The request thread stays the default writer: on 2 cores the worker measured slower (structured
 * clone of batches and answers, a second isolate's heap) than the fsync overlap it buys; see
 * docs/benchmarks.md.
 *
 * @module
 */
import { backoffDelay, sleep } from "../../shared/backoff.ts";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { clearImmediate, setImmediate } from "node:timers";
import { MIGRATIONS } from "./migrations.ts";
import { getLogger } from "../../shared/log.ts";
import { WriterLink } from "./writer.ts";

const logger = getLogger("store");

/** Options for {@link openDatabase}. */
export interface OpenOptions {
  /** How long to gather writes before committing them together (ms); 0 (default) = as soon as
   * the event loop has read the requests that are ready. */
  groupCommitMs?: number;
  /** `FULL` (default, durable) or `NORMAL` (bench baselines only). */
  synchronous?: "FULL" | "NORMAL";
  /** For second processes (CLI): wait for the hub's write lock this long (ms). */
  busyTimeoutMs?: number;
}

/** A pending write: runs inside the group transaction. */
type WriteJob<T> = {
  fn: (db: Database) => T;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
};

/** The database handle the stores use. One per process; the only writer connection. */
export class Database {
  readonly raw: DatabaseSync;
  readonly path: string;
  #queue: WriteJob<unknown>[] = [];
  #timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  #groupCommitMs: number;
  #statements = new Map<string, StatementSync>();
  #closed = false;
  #commits = 0;
  /** The writer worker running the named hot writes, when started (see the module doc). */
  writer: WriterLink | undefined;
  /** Called after each group commit with its duration (ms) and writes (the hub's /metrics). */
  onCommit: ((ms: number, writes: number) => void) | undefined;

  constructor(raw: DatabaseSync, path: string, groupCommitMs: number) {
    this.raw = raw;
    this.path = path;
    this.#groupCommitMs = groupCommitMs;
  }

  /** Number of group transactions committed, here and on the writer worker (stats, bench). */
  get commitBatches(): number {
    return this.#commits + (this.writer?.commits ?? 0);
  }

  /**
   * Starts the writer worker on this database's file (after migrations): from now on the named
   * hot writes (`write_ops.ts`) run there. Not for `:memory:` databases.
   */
  async startWriter(synchronous?: "FULL" | "NORMAL"): Promise<void> {
    if (this.writer) return;
    this.writer = await WriterLink.start(this.path, synchronous);
  }

  /** The group-commit timer fired: commit, first taking the write lock from the worker. */
  #commitDue(): void {
    const writer = this.writer;
    if (!writer) return this.flush();
    writer.lock().then(() => {
      try {
        this.flush();
      } finally {
        writer.unlock();
      }
    });
  }

  /** A cached prepared statement for `sql`. */
  prepare(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) {
      st = this.raw.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  /** Throws when the database does not answer (the health check). */
  ping(): void {
    this.get("SELECT 1");
  }

  /**
   * Changes whenever another connection (another process) commits: caches of this process
   * compare it to know when to re-read.
   */
  dataVersion(): number {
    return this.get<{ data_version: number }>("PRAGMA data_version")!.data_version;
  }

  /** Runs a read query and returns all rows. */
  all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.prepare(sql).all(...params) as T[];
  }

  /** Runs a read query and returns the first row, if any. */
  get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.prepare(sql).get(...params) as T | undefined;
  }

  /** Runs a statement that changes data (inside {@link write} or {@link transaction}). */
  run(sql: string, ...params: SQLInputValue[]): { changes: number } {
    return { changes: Number(this.prepare(sql).run(...params).changes) };
  }

  /**
   * Queues `fn` to run in the next group transaction; resolves with its result once that
   * transaction is committed and fsynced, rejects with its error (its savepoint rolled back).
   *
   * @example
   * ```ts
   * await db.write((tx) => tx.run("DELETE FROM tokens WHERE id = ?", id));
   * ```
   */
  write<T>(fn: (db: Database) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("database is closed"));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve, reject } as WriteJob<unknown>);
      if (this.#timer === undefined) {
        // Commit right after the event loop has taken in what is ready: every request that
        // arrived meanwhile joins this transaction. (A 0 ms setTimeout costs ~2 ms per hop in
        // Deno, which capped claims at ~4,000/s; setImmediate runs after pending I/O.)
        this.#timer = this.#groupCommitMs > 0
          ? setTimeout(() => this.#commitDue(), this.#groupCommitMs)
          : setImmediate(() => this.#commitDue());
      }
    });
  }

  /** Commits everything queued now (also called on close). */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as ReturnType<typeof setTimeout>);
      clearImmediate(this.#timer as ReturnType<typeof setImmediate>);
    }
    this.#timer = undefined;
    const jobs = this.#queue;
    if (jobs.length === 0) return;
    this.#queue = [];
    const results: { ok: boolean; value: unknown }[] = [];
    const started = performance.now();
    try {
      this.prepare("BEGIN IMMEDIATE").run();
      // Prepared once and reused: parsing these on every write cost measurable ingest time.
      const savepoint = this.prepare("SAVEPOINT w");
      const release = this.prepare("RELEASE w");
      for (const job of jobs) {
        savepoint.run();
        try {
          const value = job.fn(this);
          release.run();
          results.push({ ok: true, value });
        } catch (error) {
          this.prepare("ROLLBACK TO w").run();
          release.run();
          results.push({ ok: false, value: error });
        }
      }
      this.prepare("COMMIT").run();
      this.#commits++;
      this.onCommit?.(performance.now() - started, jobs.length);
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in this batch is durable.
      try {
        this.raw.exec("ROLLBACK");
      } catch { /* already rolled back by SQLite */ }
      logger.error("group commit failed", { error, writes: jobs.length });
      for (const job of jobs) job.reject(error);
      return;
    }
    for (let i = 0; i < jobs.length; i++) {
      const r = results[i];
      if (r.ok) jobs[i].resolve(r.value);
      else jobs[i].reject(r.value);
    }
  }

  /** Runs `fn` in its own immediate transaction right away (CLI, migrations, tests). */
  transaction<T>(fn: (db: Database) => T): T {
    this.raw.exec("BEGIN IMMEDIATE");
    try {
      const value = fn(this);
      this.raw.exec("COMMIT");
      return value;
    } catch (error) {
      this.raw.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * Commits pending writes and closes the connection. The writer worker, if any, is told to
   * commit what it holds and end; {@link closeAsync} also waits for that.
   */
  close(): void {
    if (this.#closed) return;
    // The worker may be mid-commit: this connection waits for its lock (busy_timeout).
    this.flush();
    this.#closed = true;
    this.#statements.clear();
    this.raw.close();
    void this.writer?.close();
  }

  /** {@link close}, resolving once the writer worker has committed and ended. */
  async closeAsync(): Promise<void> {
    const writer = this.writer;
    if (writer) await writer.close();
    this.close();
  }
}

/** Schema version this build expects (`PRAGMA user_version`). */
export const SCHEMA_VERSION = MIGRATIONS.length;

function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is locked|SQLITE_BUSY/i.test(error.message);
}

/**
 * Runs `fn`, retrying with bounded backoff while another process holds the write lock. For the
 * CLI and tests, which share the file with a running hub.
 */
export async function retryBusy<T>(fn: () => T, attempts = 20): Promise<T> {
  for (let i = 1;; i++) {
    try {
      return fn();
    } catch (error) {
      if (!isBusy(error) || i >= attempts) throw error;
      await sleep(backoffDelay(i, { baseMs: 25, capMs: 1000 }));
    }
  }
}

/** Mode of the database files: they hold token hashes, job payloads and the audit log. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates the database file owner-only before SQLite opens it (SQLite gives `-wal` and `-shm` the
 * database file's mode) and tightens an existing database and its `-wal`/`-shm` to owner-only.
 * A file that cannot be tightened (another owner) is logged, not fatal.
 */
export function privateDatabaseFiles(path: string): void {
  if (path === "" || path === ":memory:" || path.startsWith("file:")) return;
  try {
    Deno.openSync(path, { createNew: true, write: true, mode: PRIVATE_FILE_MODE }).close();
  } catch (error) {
    // Anything but "exists" is left to SQLite's own open to report (missing directory, …).
    if (!(error instanceof Deno.errors.AlreadyExists)) return;
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let mode: number | null;
    try {
      mode = Deno.statSync(file).mode;
    } catch {
      continue; // -wal/-shm exist only while a connection has the database open.
    }
    if (mode === null || (mode & 0o077) === 0) continue;
    try {
      Deno.chmodSync(file, PRIVATE_FILE_MODE);
    } catch (error) {
      logger.warn("database file is readable by others and cannot be made owner-only", {
        path: file,
        mode: (mode & 0o777).toString(8),
        error,
      });
    }
  }
}

/**
 * Opens (creating if needed, owner-only) the database at `path` and migrates it to
 * {@link SCHEMA_VERSION}.
 *
 * @example
 * ```ts
 * const db = await openDatabase("./data/fleet.db");
 * ```
 */
export async function openDatabase(path: string, options: OpenOptions = {}): Promise<Database> {
  privateDatabaseFiles(path);
  const raw = new DatabaseSync(path);
  raw.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  await retryBusy(() => raw.exec("PRAGMA journal_mode = WAL"));
  raw.exec(`PRAGMA synchronous = ${options.synchronous ?? "FULL"}`);
  raw.exec("PRAGMA foreign_keys = ON");
  raw.exec("PRAGMA temp_store = MEMORY");
  const db = new Database(raw, path, options.groupCommitMs ?? 0);
  await retryBusy(() => migrate(db));
  return db;
}

function migrate(db: Database): void {
  const current = (db.raw.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `database schema version ${current} is newer than this build (${SCHEMA_VERSION}); ` +
        "run a newer fleet-hub or restore a backup",
    );
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction((tx) => {
      tx.raw.exec(MIGRATIONS[v]);
      tx.raw.exec(`PRAGMA user_version = ${v + 1}`);
    });
    logger.info("migrated database", { version: v + 1 });
  }
}
