/**
 * The bench's `ingest` phase ("ingest"), driven by `main.ts`: the real hub subprocess
 * (WAL + synchronous=FULL + group commit), `--nodes` node tokens, and `load_client.ts` saturating
 * `POST /api/v1/ingest` with `--concurrency` requests in flight, one sample per request and then
 * batches of 10. Every node's seq increases, and afterwards the hub must hold exactly the highest
 * seq it acknowledged for every node. The bare baselines run next (baseline_phase.ts).
 *
 * @module
 */
import { type Json, type LoadResult, mb, round } from "./common.ts";
import type { PhaseContext } from "./context.ts";
import { checkSeqs, compact, createNodes, runLoad } from "./load_run.ts";

/** Runs the phase; fills `out.ingest`. */
export async function ingestPhase(ctx: PhaseContext, out: Json): Promise<void> {
  const D = ctx.durations;
  ctx.log(`ingest: starting hub, ${ctx.nodes} nodes, ${ctx.concurrency} in flight`);
  const hub = await ctx.startHub();
  const pid = hub.child.proc.pid;
  try {
    const nodes = await createNodes(ctx, hub, ctx.nodes);
    const statsBefore = await hub.admin.stats();
    const heap = (
      when: string,
      st: { heap_used_b?: number; heap_total_b?: number; external_b?: number },
    ) =>
      ctx.log(
        `ingest: hub JS heap ${when}: used ${mb(st.heap_used_b ?? 0)} MB of ${
          mb(st.heap_total_b ?? 0)
        } MB, external ${mb(st.external_b ?? 0)} MB`,
      );
    heap("before the load", statsBefore);
    const single = await runLoad(ctx, "hub, 1 sample/request", hub.url, pid, nodes, {
      batch: 1,
      mode: "saturate",
      concurrency: ctx.concurrency,
      warmMs: D.ingestWarmMs,
      ms: D.ingestMs,
    });
    const statsMid = await hub.admin.stats();
    heap("after 1 sample/request", statsMid);
    const singleSeq = await checkSeqs(hub, single.result);
    for (const n of nodes) n.seq = single.result.sent[n.id];
    const batch = await runLoad(ctx, "hub, 10 samples/request", hub.url, pid, nodes, {
      batch: 10,
      mode: "saturate",
      concurrency: ctx.concurrency,
      warmMs: D.ingestWarmMs,
      ms: D.ingestMs,
    });
    const statsAfter = await hub.admin.stats();
    heap("after 10 samples/request", statsAfter);
    const batchSeq = await checkSeqs(hub, batch.result);
    for (const n of nodes) n.seq = batch.result.sent[n.id];
    // A replay storm: 8× the connections with 100-sample batches (~200 KB each) offer far more
    // than the hub's in-flight bound (--ingest-max-pending); the rest must get 503 + Retry-After
    // while RSS stays bounded and every acknowledged seq is held.
    const flood = await runLoad(ctx, "hub, flood: 100 samples/request", hub.url, pid, nodes, {
      batch: 100,
      mode: "saturate",
      concurrency: ctx.concurrency * 8,
      warmMs: D.ingestWarmMs,
      ms: D.ingestMs,
    });
    // A node whose every flood batch was refused holds what it held before the flood.
    for (const n of nodes) {
      if (flood.result.acked[n.id] === n.seq) flood.result.acked[n.id] = batch.result.acked[n.id];
    }
    heap("after the flood", await hub.admin.stats());
    const floodSeq = await checkSeqs(hub, flood.result);
    const refused = Object.entries(flood.result.error_kinds)
      .filter(([k]) => k.startsWith("http 503")).reduce((a, [, n]) => a + n, 0);
    const perCommit = (r: LoadResult, c0: number, c1: number) =>
      round((r.requests + r.unmeasured_requests) / Math.max(1, c1 - c0), 1);
    out.ingest = {
      nodes: ctx.nodes,
      single: {
        ...single,
        seq_check: singleSeq,
        commit_batches: statsMid.commit_batches - statsBefore.commit_batches,
        writes_per_commit: perCommit(
          single.result,
          statsBefore.commit_batches,
          statsMid.commit_batches,
        ),
      },
      batch10: {
        ...batch,
        seq_check: batchSeq,
        commit_batches: statsAfter.commit_batches - statsMid.commit_batches,
        writes_per_commit: perCommit(
          batch.result,
          statsMid.commit_batches,
          statsAfter.commit_batches,
        ),
      },
      flood: {
        ...flood,
        concurrency: ctx.concurrency * 8,
        seq_check: floodSeq,
        refused,
        other_errors: flood.result.errors - refused,
      },
      samples_stored: statsAfter.samples_stored,
      sse_dropped: statsAfter.sse_dropped,
    };
    for (
      const [name, check] of [
        ["1/request", singleSeq],
        ["10/request", batchSeq],
        ["flood", floodSeq],
      ] as const
    ) {
      if (check.mismatches > 0) {
        ctx.log(`ingest ${name}: SEQ CHECK FAILED on ${check.mismatches} nodes: ${check.examples}`);
      }
    }
    // The per-node seq maps were only needed for the check.
    compact(single.result);
    compact(batch.result);
    compact(flood.result);
  } finally {
    await ctx.stopHub(hub);
  }
}
