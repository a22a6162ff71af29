/**
 * The bench's `floor` phase (in the default list; `--only floor` alone): what the hub's ingest
 * targets leave room for, measured on bare servers (`baseline_server.ts --store …`, NORMAL: no
 * fsync, unless a floor says durable) with the same load client, node count and concurrency as
 * the hub:
 * - HTTP + JSON alone (Hono, parse, answer), at 1 and 10 samples per request;
 * - the hub's samples table (its columns and both indexes) with the hub's group commit (the
 *   requests of one event-loop turn in one transaction), at 1 and 10 samples per request, and at 1
 *   durable (the WAL synced with each commit, as the hub acknowledges);
 * - the same with a batch of 10 as one row.
 *
 * No auth, validation, rollups or fan-out (nor durability, but in the durable floor): a hub doing
 * all of that cannot go faster than its floor, so a target above a floor needs a design step, not
 * tuning. Every floor runs with the hub's V8 flags and the hub's modules loaded (not run), so its
 * RSS is the memory floor of the hub at that load: the runtime, the hub's code and the bare work,
 * nothing else.
 *
 * @module
 */
import { join } from "node:path";
import type { Json } from "./common.ts";
import type { PhaseContext } from "./context.ts";
import { HUB_V8_FLAGS } from "../../shared/runtime_flags.ts";
import { compact, nodeIds, runLoad } from "./load_run.ts";

const FLOORS = [
  { name: "http_json_1", store: "none", batch: 1, label: "bare HTTP + JSON, 1/request" },
  { name: "http_json_10", store: "none", batch: 10, label: "bare HTTP + JSON, 10/request" },
  { name: "hub_table_1", store: "all", batch: 1, label: "bare, hub's table, 1/request" },
  {
    name: "hub_table_1_durable",
    store: "all",
    batch: 1,
    label: "bare, hub's table, 1/request, durable",
    durable: true,
  },
  { name: "hub_table_10", store: "all", batch: 10, label: "bare, hub's table, 10/request" },
  { name: "block_10", store: "block", batch: 10, label: "bare, a batch of 10 as one row" },
] as const;

/** Runs the phase; fills `out.floor`. */
export async function floorPhase(ctx: PhaseContext, out: Json): Promise<void> {
  out.floor = {};
  for (const f of FLOORS) {
    const dir = await ctx.tempDir("fleet-bench-floor-");
    const server = ctx.script("baseline_server.ts", [
      "--db",
      join(dir, "floor.db"),
      "--synchronous",
      "durable" in f ? "FULL" : "NORMAL",
      "--store",
      f.store,
      "--group",
      "--hub-code",
    ], [`--v8-flags=${HUB_V8_FLAGS}`]);
    try {
      const line = await server.waitForLine((l) => l.includes('"msg":"listening"'), 30_000);
      const port = JSON.parse(line).port as number;
      const nodes = nodeIds(ctx.nodes).map((id) => ({ id, token: "none", seq: 0 }));
      const run = await runLoad(ctx, f.label, `http://127.0.0.1:${port}`, server.proc.pid, nodes, {
        batch: f.batch,
        mode: "saturate",
        concurrency: ctx.concurrency,
        warmMs: ctx.durations.ingestWarmMs,
        ms: ctx.durations.ingestMs,
      });
      compact(run.result);
      out.floor[f.name] = { ...run, durable: "durable" in f };
    } finally {
      await server.stop();
    }
  }
}
