/**
 * The bench's `sse` phase ("sample → SSE", hub RSS), driven by `main.ts`: a fresh hub
 * with `--nodes` nodes. Its replay ring is filled first at the nominal rate (a hub that has run
 * for a minute holds a full ring), then the nodes push every 5 s (≈200 samples/s at 1,000, evenly
 * spread) to `--sse-clients` SSE clients in their own subprocess (`sse_client.ts`), which measure
 * sample → event latency. Hub RSS is read during the run and 3 s after it ends.
 *
 * @module
 */
import { join } from "node:path";
import { type Json, mb, readRss, round, sleep, type SseConfig, type SseResult } from "./common.ts";
import type { PhaseContext } from "./context.ts";
import { checkSeqs, compact, createNodes, runLoad } from "./load_run.ts";

/** Runs the phase; fills `out.sse`. */
export async function ssePhase(ctx: PhaseContext, out: Json): Promise<void> {
  const D = ctx.durations;
  ctx.log(`sse: starting hub, ${ctx.nodes} nodes at 5 s, ${ctx.sseClients} SSE clients`);
  const hub = await ctx.startHub();
  const pid = hub.child.proc.pid;
  try {
    const nodes = await createNodes(ctx, hub, ctx.nodes);
    const rssIdle = readRss(pid) ?? 0;
    // Steady state first: fill the hub's replay ring (bounded to 8 MB, ~3,500 events of these
    // 2 KB samples) at the nominal rate itself, 1,000 nodes every 5 s, for 18 s. (A faster fill
    // inflates RSS with V8 young-generation growth that the nominal load never causes.)
    const fill = await runLoad(ctx, "fill replay ring (nominal rate)", hub.url, pid, nodes, {
      batch: 1,
      mode: "paced",
      concurrency: 16,
      warmMs: 0,
      ms: 18_000,
      intervalMs: 5000,
      measureServer: false,
    });
    for (const n of nodes) n.seq = fill.result.sent[n.id];
    const statsFilled = await hub.admin.stats();
    await sleep(1000);
    const rssFilled = readRss(pid) ?? 0;
    const startAt = Date.now() + 3000;
    const measureFrom = startAt + D.sseWarmMs;
    const endAt = measureFrom + D.sseMs;
    const sseCfg: SseConfig = {
      url: hub.url,
      token: hub.adminToken,
      clients: ctx.sseClients,
      measureFrom,
      endAt,
      stopAt: endAt + 1500,
    };
    const file = join(await ctx.tempDir("fleet-bench-sse-"), "sse.json");
    await Deno.writeTextFile(file, JSON.stringify(sseCfg));
    const sse = ctx.script("sse_client.ts", [file]);
    const ready = JSON.parse(
      await sse.waitForLine((l) => l.startsWith('{"kind":"sse-ready"'), 20_000),
    ) as { connected: number };
    const readyInTime = Date.now() < startAt;
    ctx.log(`sse: ${ready.connected} SSE clients connected${readyInTime ? "" : " (LATE)"}`);
    const stats0 = await hub.admin.stats();
    const load = await runLoad(ctx, "hub, 1,000 nodes at 5 s", hub.url, pid, nodes, {
      batch: 1,
      mode: "paced",
      concurrency: 16,
      warmMs: D.sseWarmMs,
      ms: D.sseMs,
      startAt,
    });
    const stats1 = await hub.admin.stats();
    const result = await ctx.resultOf<SseResult>(sse, "sse-result", 30_000);
    await sleep(3000);
    const rssAfter = readRss(pid) ?? 0;
    const expected = load.result.requests * ctx.sseClients;
    const seq = await checkSeqs(hub, load.result);
    compact(load.result);
    out.sse = {
      nodes: ctx.nodes,
      sse_clients: ctx.sseClients,
      connected: ready.connected,
      ready_before_load: readyInTime,
      load,
      seq_check: seq,
      sse: result,
      expected_events: expected,
      delivered_ratio: expected ? round(result.measured / expected, 4) : null,
      sse_clients_reported_by_hub: stats1.sse_clients,
      sse_dropped_by_hub: stats1.sse_dropped - stats0.sse_dropped,
      replay_ring_fill: {
        requests: fill.result.requests,
        errors: fill.result.errors,
        samples_per_s: fill.result.samples_per_s,
        latency_ms: fill.result.latency_ms,
        events_published: Number(statsFilled.last_event_id.split("-").at(-1)),
      },
      hub_rss_mb: {
        idle_1000_nodes: mb(rssIdle),
        after_ring_fill: mb(rssFilled),
        during_max: load.server_rss_mb.max_mb,
        during_mean: load.server_rss_mb.mean_mb,
        after: mb(rssAfter),
      },
    };
    const l = result.latency_ms;
    ctx.log(
      `sse: ${result.measured}/${expected} events measured, p50 ${l.p50} ms, p99 ${l.p99} ms, ` +
        `hub RSS max ${load.server_rss_mb.max_mb} MB, after ${mb(rssAfter)} MB`,
    );
  } finally {
    await ctx.stopHub(hub);
  }
}
