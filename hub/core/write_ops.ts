/**
 * The hub's hot writes as named operations with serialisable arguments: storing an ingest batch
 * and a job's claim, heartbeat and finish. With a writer worker attached to the database they run
 * there (its own connection, group commit, fsync off the request thread); without one (CLI,
 * tests, the bench's in-process runs) they run through `db.write` on the caller's connection.
 * Either way the caller's promise settles after the commit's fsync.
 *
 * @module
 */
import type { Database } from "./db.ts";
import { storeBatch } from "../fleet/store.ts";
import { claimJob, finishJob, finishJobClaimNext, heartbeatJob } from "../jobs/store.ts";

/** Every named write: `(tx, ...args)`, args and result plain data (they cross a Worker). */
export const WRITE_OPS = {
  // Its answer holds one sample (the newest), so it stays small when it crosses back.
  ingestBatch: storeBatch,
  claimJob,
  heartbeatJob,
  finishJob,
  finishJobClaimNext,
} as const;

/** Name of a {@link WRITE_OPS} entry. */
export type WriteOpName = keyof typeof WRITE_OPS;

type Rest<F> = F extends (db: Database, ...args: infer A) => unknown ? A : never;

/** Arguments of a named write (without the transaction). */
export type WriteOpArgs<K extends WriteOpName> = Rest<(typeof WRITE_OPS)[K]>;

/** Result of a named write. */
export type WriteOpResult<K extends WriteOpName> = ReturnType<(typeof WRITE_OPS)[K]>;

/** Runs one named write inside a transaction of `tx` (the worker and the fallback both call it). */
export function runWriteOp(tx: Database, name: string, args: unknown[]): unknown {
  const op = WRITE_OPS[name as WriteOpName] as (db: Database, ...a: unknown[]) => unknown;
  if (!op) throw new Error(`unknown write operation ${name}`);
  return op(tx, ...args);
}

/**
 * Runs the named write `name(tx, ...args)` in the next group commit: on the writer worker when
 * one is attached, else through {@link Database.write}. Resolves after the commit's fsync.
 */
export function writeOp<K extends WriteOpName>(
  db: Database,
  name: K,
  ...args: WriteOpArgs<K>
): Promise<WriteOpResult<K>> {
  if (db.writer) return db.writer.call(name, args) as Promise<WriteOpResult<K>>;
  return db.write((tx) => runWriteOp(tx, name, args) as WriteOpResult<K>);
}
