/**
 * The main thread's side of the writer worker (`writer_worker.ts`): sends it named writes and
 * settles each caller's promise with the worker's answer, which comes after the group commit's
 * fsync. It also lends the write lock to the main thread: `lock()` resolves once the worker has
 * committed everything it was sent before and holds further writes until `unlock()`, so a
 * generic `db.write(fn)` runs on the main connection without ever meeting SQLITE_BUSY.
 *
 * @module
 */
import { clearImmediate, setImmediate } from "node:timers";
import { BadInput, Conflict, Forbidden, HttpProblem, NotFound } from "./errors.ts";
import type { Problem } from "../../shared/protocol/mod.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("store");

/** What crosses from the worker for a failed write. */
export interface WireError {
  message: string;
  problem?: { status: number; type: string; title: string; errors?: Problem["errors"] };
}

/** An error as the worker sends it (typed problems keep their status, type and fields). */
export function toWire(error: unknown): WireError {
  if (error instanceof HttpProblem) {
    const { status, type, title, errors } = error;
    return { message: error.message, problem: { status, type, title, errors } };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

/** The error the caller sees: the same typed problem class it would have seen in-process. */
export function fromWire(w: WireError): Error {
  const p = w.problem;
  if (!p) return new Error(w.message);
  switch (p.status) {
    case 400:
      return new BadInput(w.message, p.errors);
    case 403:
      return new Forbidden(w.message);
    case 404:
      return new NotFound(w.message);
    case 409:
      return new Conflict(w.message);
  }
  return new HttpProblem(p.status, p.type, p.title, w.message, p.errors);
}

/** One named write sent to the worker. */
export interface WriterOp {
  id: number;
  name: string;
  args: unknown[];
}

/** Messages to the worker. */
export type ToWriter =
  | {
    kind: "open";
    path: string;
    synchronous?: "FULL" | "NORMAL";
    fsync?: "auto" | "thread" | "inline";
  }
  | { kind: "ops"; ops: WriterOp[] }
  | { kind: "lock" }
  | { kind: "unlock" }
  | { kind: "close" };

/** Messages from the worker. */
export type FromWriter =
  | { kind: "ready" }
  | { kind: "failed"; error: string }
  | { kind: "result"; id: number; ok: true; value: unknown; commits: number }
  | { kind: "result"; id: number; ok: false; error: WireError; commits: number }
  | { kind: "locked" }
  | { kind: "closed" };

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };

/** A running writer worker. */
export class WriterLink {
  #worker: Worker;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #lockWaiters: (() => void)[] = [];
  #closed: (() => void) | undefined;
  #outbox: WriterOp[] = [];
  #sendTimer: ReturnType<typeof setImmediate> | undefined;
  #broken: Error | undefined;
  /** Group commits the worker has made. */
  commits = 0;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /** Starts the worker on the (already migrated) database at `path`. */
  static async start(
    path: string,
    synchronous?: "FULL" | "NORMAL",
    fsync?: "auto" | "thread" | "inline",
  ): Promise<WriterLink> {
    const worker = new Worker(new URL("./writer_worker.ts", import.meta.url), { type: "module" });
    const link = new WriterLink(worker);
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<FromWriter>) => {
        if (e.data.kind === "ready") resolve();
        else if (e.data.kind === "failed") reject(new Error(`writer worker: ${e.data.error}`));
      };
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`writer worker: ${e.message}`));
      };
      worker.postMessage({ kind: "open", path, synchronous, fsync } satisfies ToWriter);
    });
    worker.onmessage = (e: MessageEvent<FromWriter>) => link.#receive(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      link.#fail(new Error(`writer worker failed: ${e.message}`));
    };
    return link;
  }

  /** The worker died: every write waiting on it fails (not durable), and so does every new one. */
  #fail(error: Error): void {
    if (this.#broken) return;
    this.#broken = error;
    logger.error("writer worker failed; hot writes are refused", { error: error.message });
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
    for (const resolve of this.#lockWaiters.splice(0)) resolve();
    this.#closed?.();
  }

  #receive(m: FromWriter): void {
    if (m.kind === "result") {
      this.commits = m.commits;
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(fromWire(m.error));
    } else if (m.kind === "locked") {
      this.#lockWaiters.shift()?.();
    } else if (m.kind === "closed") {
      this.#closed?.();
    }
  }

  /**
   * Runs the named write on the worker; settles after its commit's fsync. The writes of one
   * event-loop turn go in one message, so the worker sees them together and commits them as one
   * group (one message each made groups small: more fsyncs, fewer writes per second).
   */
  call(name: string, args: unknown[]): Promise<unknown> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#closed) return Promise.reject(new Error("database is closed"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#outbox.push({ id, name, args });
      this.#sendTimer ??= setImmediate(() => this.#send());
    });
  }

  #send(): void {
    if (this.#sendTimer !== undefined) clearImmediate(this.#sendTimer);
    this.#sendTimer = undefined;
    if (this.#outbox.length === 0) return;
    const ops = this.#outbox;
    this.#outbox = [];
    this.#worker.postMessage({ kind: "ops", ops } satisfies ToWriter);
  }

  /** Resolves when the worker has committed all it was sent and holds the rest for us. */
  lock(): Promise<void> {
    // A dead worker holds no lock: the main connection writes alone.
    if (this.#broken) return Promise.resolve();
    this.#send();
    return new Promise((resolve) => {
      this.#lockWaiters.push(resolve);
      this.#worker.postMessage({ kind: "lock" } satisfies ToWriter);
    });
  }

  /** Lets the worker write again. */
  unlock(): void {
    this.#worker.postMessage({ kind: "unlock" } satisfies ToWriter);
  }

  /** Commits what the worker holds, closes its connection and ends it. */
  close(): Promise<void> {
    if (this.#broken) {
      this.#worker.terminate();
      return Promise.resolve();
    }
    if (this.#closed) return Promise.resolve();
    this.#send();
    const done = new Promise<void>((resolve) => (this.#closed = resolve));
    this.#worker.postMessage({ kind: "close" } satisfies ToWriter);
    return done.then(() => this.#worker.terminate());
  }
}
