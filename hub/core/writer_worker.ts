/**
 * The writer worker: owns the hub's write connection for the hot writes (ingest batches, job
 * claims, heartbeats, finishes). Ops that arrive together run in one group transaction (each in
 * its own savepoint) and are answered after its COMMIT's fsync, on this thread, so the request
 * thread keeps serving meanwhile. See `writer.ts` for the protocol and `db.ts` for the design.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { type Database, openDatabase } from "./db.ts";
import { runWriteOp } from "./write_ops.ts";
import { type FromWriter, toWire, type ToWriter, type WriterOp } from "./writer.ts";

let db: Database | undefined;
let locked = false;
let held: WriterOp[] = [];

function post(m: FromWriter): void {
  self.postMessage(m);
}

function run(m: WriterOp): void {
  db!.write((tx) => runWriteOp(tx, m.name, m.args)).then(
    (value) => post({ kind: "result", id: m.id, ok: true, value, commits: db!.commitBatches }),
    (error) =>
      post({
        kind: "result",
        id: m.id,
        ok: false,
        error: toWire(error),
        commits: db!.commitBatches,
      }),
  );
}

self.onmessage = async (e: MessageEvent<ToWriter>) => {
  const m = e.data;
  switch (m.kind) {
    case "open":
      try {
        db = await openDatabase(m.path, { synchronous: m.synchronous, fsync: m.fsync });
        post({ kind: "ready" });
      } catch (error) {
        post({ kind: "failed", error: error instanceof Error ? error.message : String(error) });
      }
      return;
    case "ops":
      if (locked) held.push(...m.ops);
      else for (const op of m.ops) run(op);
      return;
    case "lock":
      // Everything sent before the lock commits first: the main thread's write comes after it.
      db!.flush();
      locked = true;
      post({ kind: "locked" });
      return;
    case "unlock": {
      locked = false;
      const ops = held;
      held = [];
      for (const op of ops) run(op);
      return;
    }
    case "close":
      db?.close();
      post({ kind: "closed" });
      self.close();
      return;
  }
};
