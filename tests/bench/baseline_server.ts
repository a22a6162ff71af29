/**
 * The bare baseline of the performance targets: Hono + `node:sqlite`, WAL, one sample per request
 * inserted in its own transaction (so with `synchronous=FULL` one fsync per request), no auth, no
 * validation, no rollups, no fan-out. Same route and ack shape as the hub, so the same load client
 * drives both.
 *
 * `--store` turns it into the floors of the `floor` phase (floor_phase.ts): `none` parses and
 * answers without a database (HTTP + JSON alone), `all` stores every sample of a batch into the
 * hub's own samples table (its columns and both indexes) in one transaction per request, `block`
 * stores a batch as one row of that table; `--group` commits the requests of one event-loop turn
 * in one transaction, as the hub's group commit does; `--hub-code` loads the hub's modules first.
 *
 * `deno run --allow-all tests/bench/baseline_server.ts --db PATH --synchronous FULL|NORMAL`
 * prints `{"msg":"listening","port":N}` once it listens on 127.0.0.1.
 *
 * @module
 */
import { Hono } from "hono";
import { DatabaseSync } from "node:sqlite";
import { setImmediate } from "node:timers";
import { flagHelp, type FlagSpec, parseCli } from "./common.ts";

const USAGE = "deno run --allow-all tests/bench/baseline_server.ts --db PATH [flags]";
const FLAGS = {
  db: { type: "string", arg: "PATH", help: "database file (required unless --store none)" },
  synchronous: { type: "string", arg: "FULL|NORMAL", default: "FULL", help: "SQLite synchronous" },
  store: {
    type: "string",
    arg: "first|all|block|none",
    default: "first",
    help: "the batch's first sample (the baseline), every sample or the batch as one row into " +
      "the hub's table, or nothing",
  },
  "hub-code": {
    type: "boolean",
    help: "load the hub's modules first (not run), so the RSS includes what its code takes",
  },
  group: {
    type: "boolean",
    help: "commit the requests of one event-loop turn together (group commit, as the hub does)",
  },
} satisfies Record<string, FlagSpec>;
const flags = parseCli(USAGE, FLAGS);
const { db: path, synchronous: sync, store, group } = flags;
if (flags["hub-code"]) await import("../../hub/core/serve.ts");
if (
  (!path && store !== "none") || !["FULL", "NORMAL"].includes(sync) ||
  !["first", "all", "block", "none"].includes(store)
) {
  console.error(flagHelp(USAGE, FLAGS));
  Deno.exit(2);
}

type Sample = { seq: number; ts: number };
type Body = { node_id: string; samples: Sample[] };

/** Stores a parsed batch in one transaction (with `--group`, shared with the turn's others). */
function openStore(file: string): { save: (b: Body) => void | Promise<void>; close: () => void } {
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${sync}`);
  let save: (b: Body) => void;
  if (store === "first") {
    // A plain rowid table, as one would write it: WITHOUT ROWID keeps 2 KB rows inside the key's
    // b-tree and measured ~40 % slower here, which flattered every ratio to this baseline.
    db.exec(`CREATE TABLE samples (
      node_id TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, data TEXT NOT NULL,
      PRIMARY KEY (node_id, seq))`);
    const insert = db.prepare(
      "INSERT OR IGNORE INTO samples (node_id, seq, ts, data) VALUES (?, ?, ?, ?)",
    );
    save = (b) =>
      void insert.run(b.node_id, b.samples[0].seq, b.samples[0].ts, JSON.stringify(b.samples[0]));
  } else {
    // The hub's samples table (hub/core/migrations.ts) as it stands.
    db.exec(`CREATE TABLE samples (
      id INTEGER PRIMARY KEY, node_id TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
      data TEXT NOT NULL, recv_ts INTEGER, agent_ts INTEGER, UNIQUE (node_id, seq))`);
    db.exec("CREATE INDEX samples_node_ts ON samples (node_id, ts)");
    const insert = db.prepare(
      "INSERT OR IGNORE INTO samples (node_id, seq, ts, data, recv_ts, agent_ts) " +
        "VALUES (?, ?, ?, ?, ?, ?)",
    );
    save = store === "all"
      ? (b) => {
        const now = Date.now();
        for (const s of b.samples) insert.run(b.node_id, s.seq, s.ts, JSON.stringify(s), now, s.ts);
      }
      : (b) => {
        // One row per batch: keyed by its newest seq, placed at its oldest ts.
        const s = b.samples;
        const newest = s[s.length - 1];
        insert.run(b.node_id, newest.seq, s[0].ts, JSON.stringify(s), Date.now(), newest.ts);
      };
  }
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const inTransaction = (batches: Body[]) => {
    begin.run();
    try {
      for (const b of batches) save(b);
      commit.run();
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  };
  if (!group) return { save: (b) => inTransaction([b]), close: () => db.close() };
  // Group commit: the batches parsed in one event-loop turn share a transaction.
  let queued: { body: Body; done: (error?: unknown) => void }[] = [];
  const flush = () => {
    const jobs = queued;
    queued = [];
    let failure: unknown;
    try {
      inTransaction(jobs.map((j) => j.body));
    } catch (error) {
      failure = error;
    }
    for (const j of jobs) j.done(failure);
  };
  return {
    save: (body) =>
      new Promise<void>((resolve, reject) => {
        if (queued.length === 0) setImmediate(flush);
        queued.push({ body, done: (error) => error ? reject(error) : resolve() });
      }),
    close: () => db.close(),
  };
}

const db = store === "none" ? undefined : openStore(path!);

const app = new Hono();
app.post("/api/v1/ingest", async (c) => {
  const body = await c.req.json<Body>();
  await db?.save(body);
  const newest = body.samples[body.samples.length - 1];
  return c.json({ node_id: body.node_id, acked_seq: newest.seq, stored: body.samples.length });
});

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: (addr) => console.log(JSON.stringify({ msg: "listening", port: addr.port, sync })),
}, app.fetch);

Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  db?.close();
  Deno.exit(0);
});
