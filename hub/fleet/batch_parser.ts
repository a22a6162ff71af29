/**
 * The request thread's side of the parse thread (`parse_worker.ts`). Batches of many samples
 * (agents replaying their spools after an outage) spend most of the request thread on
 * `JSON.parse`, the check and the text cut of every sample; on the parse thread that work
 * overlaps the request thread's SQLite writes. A body takes the round trip only from `minBytes`
 * up: a one-sample body is cheaper to parse here than to send.
 *
 * The thread starts with the first such body, so a fleet that sends one sample at a time never
 * pays its memory (~18 MB; ending it when idle gave back only ~4 MB, the C allocator keeps the
 * rest). If it dies, the batches it held fail with 503 (the agents send them again) and every
 * later body is parsed on the request thread.
 *
 * @module
 */
import { IngestBatch, SAMPLE_KEYS } from "../../shared/protocol/mod.ts";
import { BadInput, Unavailable } from "../core/errors.ts";
import { describeSchema, type Shape } from "../core/fast_check.ts";
import { getLogger } from "../../shared/log.ts";
import type { DigestedBatch } from "./batch_digest.ts";

const logger = getLogger("ingest");

/** Messages to the parse thread: its check (first), then bodies. */
export type ToParser =
  | { kind: "init"; shape: Shape; sampleKeys: string[] }
  | { kind: "body"; id: number; body: ArrayBuffer };

/** The parse thread's answer to a body. */
export type FromParser =
  | { id: number; kind: "digest"; batch: DigestedBatch }
  /** The fast check did not pass it: the request thread parses it and zod decides. */
  | { id: number; kind: "text"; text: string }
  | { id: number; kind: "refused" | "failed"; message: string };

/** A body parsed on the thread: its digest, or its text for the request thread to check. */
export type Parsed = { batch: DigestedBatch } | { text: string };

type Pending = { resolve: (p: Parsed) => void; reject: (e: unknown) => void };

/** The parse thread's handle, made with the hub (the thread itself starts when needed). */
export class BatchParser {
  /** Bodies of at least this many bytes are parsed on the thread. */
  readonly minBytes: number;
  readonly #shape: Shape | null = describeSchema(IngestBatch);
  #worker: Worker | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #failed = false;
  #closed = false;
  readonly #workerUrl: URL;

  /** `workerUrl` is the thread's module (the tests give one that fails). */
  constructor(minBytes: number, workerUrl = new URL("./parse_worker.ts", import.meta.url)) {
    this.minBytes = minBytes;
    this.#workerUrl = workerUrl;
  }

  /** Whether a body of `bytes` goes to the thread (never once it failed or was closed). */
  takes(bytes: number): boolean {
    return bytes >= this.minBytes && this.#usable();
  }

  #usable(): boolean {
    return this.#shape !== null && !this.#failed && !this.#closed;
  }

  /** Whether the thread is running now. */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** For the hub's stats: not started yet, running, failed (bodies parsed here), or closed. */
  get state(): "idle" | "running" | "failed" | "closed" {
    if (this.#failed) return "failed";
    if (this.#closed) return "closed";
    return this.#worker ? "running" : "idle";
  }

  /**
   * Parses, checks and digests `body` on the thread; its bytes move there (`body` is detached).
   * Rejects with {@link BadInput} for a body that is not JSON, 503 if the thread stops (or
   * cannot start) first, and a plain error (500) for a failure of the thread's own code.
   */
  parse(body: ArrayBuffer): Promise<Parsed> {
    if (!this.#usable()) return Promise.reject(stopped());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        (this.#worker ?? this.#start()).postMessage(
          { kind: "body", id, body } satisfies ToParser,
          [body],
        );
      } catch (error) {
        this.#fail(error instanceof Error ? error.message : String(error));
      }
    });
  }

  #start(): Worker {
    const worker = new Worker(this.#workerUrl, { type: "module" });
    this.#worker = worker;
    worker.onmessage = (e: MessageEvent<FromParser>) => this.#receive(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      this.#fail(e.message);
    };
    // An answer that cannot be read would otherwise leave its request waiting for good.
    worker.onmessageerror = () => this.#fail("an answer could not be read");
    worker.postMessage({ kind: "init", shape: this.#shape!, sampleKeys: [...SAMPLE_KEYS] });
    return worker;
  }

  /** The thread failed: what it held fails with 503, and later bodies are parsed here. */
  #fail(error: string): void {
    this.#failed = true;
    logger.error("ingest parse thread failed; bodies are parsed on the request thread now", {
      error,
    });
    this.#stop();
  }

  #receive(m: FromParser): void {
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if (m.kind === "digest") p.resolve({ batch: m.batch });
    else if (m.kind === "text") p.resolve({ text: m.text });
    else if (m.kind === "refused") p.reject(new BadInput(m.message));
    else p.reject(new Error(`ingest parse thread: ${m.message}`));
  }

  /** Ends the thread; what it held fails with 503. */
  #stop(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const p of this.#pending.values()) p.reject(stopped());
    this.#pending.clear();
  }

  /** Ends the thread for good (the hub stops; its server has answered every request by then). */
  close(): void {
    this.#closed = true;
    this.#stop();
  }
}

function stopped(): Unavailable {
  return new Unavailable("the hub stopped parsing this batch: send it again");
}
