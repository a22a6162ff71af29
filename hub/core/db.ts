/**
 * The hub's SQLite database: opening with durable pragmas, versioned migrations and group commit.
 *
 * Durability: a write is acknowledged only after its transaction committed and is on disk. Throughput
 * comes from group commit: callers hand a write to {@link Database.write}, writes that arrive
 * within a few milliseconds run in one transaction (each in its own savepoint, so one failing
 * write does not undo the others), and every caller's promise settles after that single commit.
 *
 * The fsync is the hub's own (`--db-fsync auto`, the default): SQLite commits in WAL mode with
 * `synchronous=NORMAL` (the COMMIT writes the WAL, no fsync), then this class fdatasyncs the WAL
 * file and settles the group's writes when that returns. While fdatasync answers in under a
 * millisecond (a mean of the recent ones) it runs right here, as SQLite's own would; once the disk
 * is slower (SD cards, eMMC, a busy disk: several ms) it runs on a runtime thread and the event
 * loop goes on: the next group commits meanwhile and waits for the next fdatasync, one in flight
 * at a time, each covering every commit made before it started. `--db-fsync thread` always uses
 * the thread; `--db-fsync inline` is SQLite's `synchronous=FULL`. A failed fdatasync fails the
 * writes it covers. SQLite still syncs the WAL before a checkpoint and the database file after
 * it. What is weaker than `synchronous=FULL`: while an fdatasync runs on the thread, another
 * reader on this connection may see a committed write before it is on disk (a power cut then
 * loses it), but nothing that waits for {@link Database.write} (answers, bus events, audit) goes
 * out before it is.
 *
 * With `--db-writer worker` the hub also starts a writer worker ({@link Database.startWriter},
 * `writer.ts`): a second thread with its own connection to the same file that runs the hot writes,
 * named operations with plain-data arguments (`write_ops.ts`: ingest batches, job claim, heartbeat,
 * finish), in its own group commits, so the request thread parses, validates and answers while the
 * disk works. Callers are answered only after the worker's commit is on disk (the same fsync
 * rule on both connections); a claim is still one `BEGIN IMMEDIATE` transaction, on
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

/** `auto` moves the fdatasync to a runtime thread once its recent mean passes this (ms)… */
const FSYNC_THREAD_ABOVE_MS = 2;
/** …and back onto the request thread once it falls under this. */
const FSYNC_INLINE_BELOW_MS = 0.75;

/** Options for {@link openDatabase}. */
export interface OpenOptions {
  /** How long to gather writes before committing them together (ms); 0 (default) = as soon as
   * the event loop has read the requests that are ready. */
  groupCommitMs?: number;
  /** `FULL` (default, durable) or `NORMAL` (bench baselines only: not durable). */
  synchronous?: "FULL" | "NORMAL";
  /**
   * Where a durable commit's fsync runs. `auto` (default for a file) and `thread`: SQLite commits
   * without it and this class fdatasyncs the WAL before settling the writes — `thread` always on
   * a runtime thread (the event loop goes on meanwhile), `auto` on this thread while that takes
   * under a millisecond and on a runtime thread while it takes longer. `inline`: SQLite fsyncs
   * inside the COMMIT (`synchronous=FULL`). All acknowledge a write only once it is on disk.
   */
  fsync?: "auto" | "thread" | "inline";
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
  /** Committed group transactions whose writes wait for the WAL's fdatasync (fsync = thread). */
  #unsynced: (() => void)[] = [];
  #unsyncedFail: ((error: unknown) => void)[] = [];
  #syncing = false;
  /** The writes the fdatasync in flight will settle. */
  #inflight: (() => void)[] = [];
  #wal: Deno.FsFile | undefined;
  #walIno: number | null = null;
  /**
   * Who fsyncs a commit: `inline` SQLite in the COMMIT (synchronous=FULL); else this class, after
   * a COMMIT with synchronous=NORMAL, on a runtime thread (`thread`) or, in `auto`, here while
   * fdatasync takes under a millisecond and on a thread while it takes longer.
   */
  readonly fsync: "auto" | "thread" | "inline";
  /** This class fsyncs the WAL (not SQLite). */
  readonly syncOffThread: boolean;
  #syncInline: boolean;
  #syncMs = 0;
  /** The writer worker running the named hot writes, when started (see the module doc). */
  writer: WriterLink | undefined;
  /** Called after each group commit with its duration (ms) and writes (the hub's /metrics). */
  onCommit: ((ms: number, writes: number) => void) | undefined;
  /** Undo hooks of the write running now; undefined outside a write (see {@link onRollback}). */
  #jobUndo: (() => void)[] | undefined;
  /** Undo hooks of the writes of this group that succeeded, should the COMMIT fail. */
  #groupUndo: (() => void)[] = [];

  constructor(
    raw: DatabaseSync,
    path: string,
    groupCommitMs: number,
    fsync: "auto" | "thread" | "inline" = "inline",
  ) {
    this.raw = raw;
    this.path = path;
    this.#groupCommitMs = groupCommitMs;
    this.fsync = fsync;
    this.syncOffThread = fsync !== "inline";
    this.#syncInline = fsync === "auto";
  }

  /** The WAL file, opened (again, if SQLite replaced it) for fdatasync. */
  #walFile(): Deno.FsFile {
    const path = `${this.path}-wal`;
    const ino = Deno.statSync(path).ino;
    if (!this.#wal || ino !== this.#walIno) {
      this.#wal?.close();
      this.#wal = Deno.openSync(path, { read: true });
      this.#walIno = ino;
    }
    return this.#wal;
  }

  /**
   * Settles committed writes once the WAL is on disk. One fdatasync at a time, each covering
   * every commit made before it started: on this thread while the disk answers fast (`auto`: a
   * thread hop would cost more than the wait), else on a runtime thread while the next group
   * commits.
   */
  #syncWal(): void {
    if (this.#syncing || this.#unsynced.length === 0) return;
    const done = this.#unsynced;
    const failed = this.#unsyncedFail;
    this.#unsynced = [];
    this.#unsyncedFail = [];
    let file: Deno.FsFile;
    try {
      file = this.#walFile();
    } catch (error) {
      logger.error("cannot open the WAL to sync it", { error });
      for (const fail of failed) fail(error);
      return;
    }
    const started = performance.now();
    if (this.#syncInline) {
      try {
        file.syncDataSync();
      } catch (error) {
        logger.error("fdatasync of the WAL failed", { error });
        for (const fail of failed) fail(error);
        return;
      }
      this.#timed(performance.now() - started);
      for (const settle of done) settle();
      return;
    }
    this.#syncing = true;
    this.#inflight = done;
    file.syncData().then(() => {
      this.#timed(performance.now() - started);
      for (const settle of done) settle();
    }, (error) => {
      // Pages that failed to reach the disk may be dropped by the kernel: nothing is acknowledged.
      logger.error("fdatasync of the WAL failed", { error });
      for (const fail of failed) fail(error);
    }).finally(() => {
      this.#syncing = false;
      this.#inflight = [];
      if (!this.#closed) this.#syncWal();
    });
  }

  /** Folds one fdatasync's time into the mean that picks, in `auto`, where the next one runs. */
  #timed(ms: number): void {
    this.#syncMs = this.#syncMs * 0.8 + ms * 0.2;
    if (this.fsync !== "auto") return;
    // Hysteresis, so a mean near the line does not flap.
    if (this.#syncInline && this.#syncMs > FSYNC_THREAD_ABOVE_MS) this.#syncInline = false;
    else if (!this.#syncInline && this.#syncMs < FSYNC_INLINE_BELOW_MS) this.#syncInline = true;
  }

  /** Where the next fdatasync runs (`auto` moves between the two), and the recent mean (ms). */
  get fsyncNow(): { where: "inline" | "thread"; mean_ms: number } {
    return {
      where: this.fsync === "inline" || this.#syncInline ? "inline" : "thread",
      mean_ms: Math.round(this.#syncMs * 1000) / 1000,
    };
  }

  /** fdatasync of the WAL on this thread, for the synchronous paths (CLI, migrations, close). */
  #syncWalNow(): void {
    if (!this.syncOffThread) return;
    this.#walFile().syncDataSync();
  }

  /** Resolves once every write committed so far is on disk. */
  synced(): Promise<void> {
    if (!this.syncOffThread || (!this.#syncing && this.#unsynced.length === 0)) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.#unsynced.push(resolve);
      this.#unsyncedFail.push(reject);
      this.#syncWal();
    });
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
    this.writer = await WriterLink.start(this.path, synchronous, this.fsync);
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

  /**
   * Runs `fn` in a write every `everyMs` and once more on `stop()` (which waits for a round in
   * progress first): for state held in memory between writes, such as the minute rollups. A
   * failed round goes to `failed`; the next one writes what is held by then.
   */
  writeEvery(
    everyMs: number,
    fn: (tx: Database) => unknown,
    failed: (error: unknown) => void,
  ): { stop(): Promise<void> } {
    const write = () => this.write(fn);
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = write().catch(failed);
    }, everyMs);
    return {
      async stop() {
        clearInterval(timer);
        await running;
        await write();
      },
    };
  }

  /**
   * Registers `undo` to run if what the write in progress did is rolled back (its savepoint, or
   * the whole group when the COMMIT fails), after the rollback: for state a write keeps beside
   * the database, such as the ingest's in-memory rollups. Hooks run newest first, so each can
   * put back what was there before its own change. Outside a write it does nothing.
   */
  onRollback(undo: () => void): void {
    this.#jobUndo?.push(undo);
  }

  /** Runs undo hooks, each once; one that throws is logged and does not stop the others. */
  #undo(hooks: (() => void)[]): void {
    for (const undo of [...new Set(hooks)].reverse()) {
      try {
        undo();
      } catch (error) {
        logger.error("rollback hook failed", { error });
      }
    }
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
        const undo: (() => void)[] = this.#jobUndo = [];
        try {
          const value = job.fn(this);
          release.run();
          results.push({ ok: true, value });
          this.#groupUndo.push(...undo);
        } catch (error) {
          // Also the group's: should the rollback itself fail, the whole group is undone.
          this.#groupUndo.push(...undo);
          this.prepare("ROLLBACK TO w").run();
          release.run();
          results.push({ ok: false, value: error });
          this.#undo(undo);
        } finally {
          this.#jobUndo = undefined;
        }
      }
      this.prepare("COMMIT").run();
      this.#groupUndo = [];
      this.#commits++;
      this.onCommit?.(performance.now() - started, jobs.length);
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in this batch is durable.
      try {
        this.raw.exec("ROLLBACK");
      } catch { /* already rolled back by SQLite */ }
      this.#jobUndo = undefined;
      const undo = this.#groupUndo;
      this.#groupUndo = [];
      this.#undo(undo);
      logger.error("group commit failed", { error, writes: jobs.length });
      for (const job of jobs) job.reject(error);
      return;
    }
    const settle = () => {
      for (let i = 0; i < jobs.length; i++) {
        const r = results[i];
        if (r.ok) jobs[i].resolve(r.value);
        else jobs[i].reject(r.value);
      }
    };
    if (!this.syncOffThread) return settle();
    this.#unsynced.push(settle);
    this.#unsyncedFail.push((error) => {
      for (const job of jobs) job.reject(error);
    });
    this.#syncWal();
  }

  /** Runs `fn` in its own immediate transaction right away (CLI, migrations, tests). */
  transaction<T>(fn: (db: Database) => T): T {
    this.raw.exec("BEGIN IMMEDIATE");
    const undo: (() => void)[] = this.#jobUndo = [];
    try {
      const value = fn(this);
      this.raw.exec("COMMIT");
      this.#syncWalNow();
      return value;
    } catch (error) {
      try {
        this.raw.exec("ROLLBACK");
      } finally {
        this.#jobUndo = undefined;
        this.#undo(undo);
      }
      throw error;
    } finally {
      this.#jobUndo = undefined;
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
    if (this.syncOffThread && (this.#syncing || this.#unsynced.length)) {
      // Settle what waits for the disk now, after one fdatasync here (settling twice is a no-op
      // for a promise, so the sync in flight may still finish).
      this.#syncWalNow();
      const done = [...this.#inflight, ...this.#unsynced];
      this.#unsynced = [];
      this.#unsyncedFail = [];
      for (const settle of done) settle();
    }
    if (!this.#syncing) this.#wal?.close();
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
  const synchronous = options.synchronous ?? "FULL";
  const inMemory = path === "" || path === ":memory:" || path.startsWith("file:");
  // FULL on a file with the fsync off-thread: SQLite commits without fsync (NORMAL), and the
  // Database fdatasyncs the WAL before any write is settled.
  // Only a WAL can be synced this way: where SQLite could not switch to it, it fsyncs itself.
  const wal = (raw.prepare("PRAGMA journal_mode").get() as { journal_mode: string })
    .journal_mode === "wal";
  const fsync = synchronous === "FULL" && !inMemory && wal ? options.fsync ?? "auto" : "inline";
  raw.exec(`PRAGMA synchronous = ${fsync === "inline" ? synchronous : "NORMAL"}`);
  raw.exec("PRAGMA foreign_keys = ON");
  raw.exec("PRAGMA temp_store = MEMORY");
  const db = new Database(raw, path, options.groupCommitMs ?? 0, fsync);
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
