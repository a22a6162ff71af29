/**
 * The bare baseline of the performance targets: Hono + `node:sqlite`, WAL, one sample per request inserted in its
 * own transaction (so with `synchronous=FULL` one fsync per request), no auth, no validation, no
 * rollups, no fan-out. Same route and ack shape as the hub, so the same load client drives both.
 *
 * `deno run --allow-all tests/bench/baseline_server.ts --db PATH --synchronous FULL|NORMAL`
 * prints `{"msg":"listening","port":N}` once it listens on 127.0.0.1.
 *
 * @module
 */
import { Hono } from "hono";
import { DatabaseSync } from "node:sqlite";
import { flagHelp, type FlagSpec, parseCli } from "./common.ts";

const USAGE = "deno run --allow-all tests/bench/baseline_server.ts --db PATH [flags]";
const FLAGS = {
  db: { type: "string", arg: "PATH", help: "database file (required)" },
  synchronous: { type: "string", arg: "FULL|NORMAL", default: "FULL", help: "SQLite synchronous" },
} satisfies Record<string, FlagSpec>;
const flags = parseCli(USAGE, FLAGS);
const path = flags.db;
const sync = flags.synchronous;
if (!path || !["FULL", "NORMAL"].includes(sync)) {
  console.error(flagHelp(USAGE, FLAGS));
  Deno.exit(2);
}

const db = new DatabaseSync(path);
db.exec("PRAGMA journal_mode = WAL");
db.exec(`PRAGMA synchronous = ${sync}`);
// A plain rowid table, as one would write it: WITHOUT ROWID keeps 2 KB rows inside the key's
// b-tree and measured ~40 % slower here, which flattered every ratio to this baseline.
db.exec(`CREATE TABLE IF NOT EXISTS samples (
  node_id TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (node_id, seq))`);
const insert = db.prepare(
  "INSERT OR IGNORE INTO samples (node_id, seq, ts, data) VALUES (?, ?, ?, ?)",
);

type Body = { node_id: string; samples: { seq: number; ts: number }[] };

const app = new Hono();
app.post("/api/v1/ingest", async (c) => {
  const body = await c.req.json<Body>();
  const s = body.samples[0];
  db.exec("BEGIN IMMEDIATE");
  try {
    insert.run(body.node_id, s.seq, s.ts, JSON.stringify(s));
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
  return c.json({ node_id: body.node_id, acked_seq: s.seq, stored: 1 });
});

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: (addr) => console.log(JSON.stringify({ msg: "listening", port: addr.port, sync })),
}, app.fetch);

Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  db.close();
  Deno.exit(0);
});
