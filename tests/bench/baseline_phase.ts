/**
 * The bench's `baseline` phase (bare baseline), driven by `main.ts` after `ingest` or on
 * its own: `baseline_server.ts` (bare Hono + `node:sqlite`, one transaction per sample) with
 * synchronous=FULL and then NORMAL, saturated by the same load client as the hub, same node count
 * and concurrency.
 *
 * @module
 */
import { join } from "node:path";
import type { Json } from "./common.ts";
import type { PhaseContext } from "./context.ts";
import { compact, nodeIds, runLoad } from "./load_run.ts";

/** Runs the phase; fills `out.baseline.full` and `out.baseline.normal`. */
export async function baselinePhase(ctx: PhaseContext, out: Json): Promise<void> {
  out.baseline = {};
  for (const sync of ["FULL", "NORMAL"] as const) {
    const dir = await ctx.tempDir("fleet-bench-base-");
    const server = ctx.script("baseline_server.ts", [
      "--db",
      join(dir, "base.db"),
      "--synchronous",
      sync,
    ]);
    try {
      const line = await server.waitForLine((l) => l.includes('"msg":"listening"'), 30_000);
      const port = JSON.parse(line).port as number;
      // Fresh seqs per baseline: its database is empty.
      const nodes = nodeIds(ctx.nodes).map((id) => ({ id, token: "none", seq: 0 }));
      const run = await runLoad(
        ctx,
        `bare Hono+node:sqlite ${sync}`,
        `http://127.0.0.1:${port}`,
        server.proc.pid,
        nodes,
        {
          batch: 1,
          mode: "saturate",
          concurrency: ctx.concurrency,
          warmMs: ctx.durations.ingestWarmMs,
          ms: ctx.durations.ingestMs,
        },
      );
      compact(run.result);
      out.baseline[sync.toLowerCase()] = run;
    } finally {
      await server.stop();
    }
  }
}
