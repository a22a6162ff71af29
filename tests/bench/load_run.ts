/**
 * One `load_client.ts` run seen from the orchestrator (server CPU and RSS over the same window),
 * the node tokens it pushes as, and the seq check afterwards; shared by the ingest, baseline and
 * sse phases.
 *
 * @module
 */
import { join } from "node:path";
import type { HubProcess } from "../helpers/hub.ts";
import type { PhaseContext } from "./context.ts";
import {
  type BenchNode,
  CpuMeter,
  createNodeTokens,
  type LoadConfig,
  type LoadResult,
  numberedIds,
  RssSampler,
  sleep,
} from "./common.ts";

/** A load run: the client's result next to the server's CPU and RSS. */
export interface LoadRun {
  target: string;
  batch: number;
  concurrency: number;
  result: LoadResult;
  server_cpu_pct: number;
  server_rss_mb: { max_mb: number; mean_mb: number; last_mb: number };
}

/** Ids of the bench's ingest nodes: `bench-0001`, … */
export function nodeIds(count: number): string[] {
  return numberedIds("bench-", count, 4);
}

/** Creates `count` node tokens through the admin API (bounded concurrency). */
export async function createNodes(
  ctx: PhaseContext,
  hub: HubProcess,
  count: number,
): Promise<BenchNode[]> {
  const t0 = performance.now();
  const ids = nodeIds(count);
  const tokens = await createNodeTokens(hub, ids);
  ctx.log(`created ${count} node tokens in ${Math.round(performance.now() - t0)} ms`);
  return ids.map((id, i) => ({ id, token: tokens[i], seq: 0 }));
}

/** Runs `load_client.ts` against `url` and measures the server `serverPid` meanwhile. */
export async function runLoad(
  ctx: PhaseContext,
  target: string,
  url: string,
  serverPid: number,
  nodes: BenchNode[],
  opts: {
    batch: number;
    mode: LoadConfig["mode"];
    concurrency: number;
    warmMs: number;
    ms: number;
    startAt?: number;
    /** Paced mode: each node once per this interval (default 5 s). */
    intervalMs?: number;
    /** Measure the server's CPU over the window (default true); false just awaits the client. */
    measureServer?: boolean;
  },
): Promise<LoadRun> {
  const startAt = opts.startAt ?? Date.now() + 1500;
  const cfg: LoadConfig = {
    url,
    path: "/api/v1/ingest",
    nodes,
    mode: opts.mode,
    batch: opts.batch,
    concurrency: opts.concurrency,
    startAt,
    measureFrom: startAt + opts.warmMs,
    endAt: startAt + opts.warmMs + opts.ms,
    intervalMs: opts.intervalMs ?? 5000,
    batchSpacingMs: 5000,
  };
  const file = join(await ctx.tempDir("fleet-bench-load-"), "load.json");
  await Deno.writeTextFile(file, JSON.stringify(cfg));
  const client = ctx.script("load_client.ts", [file]);
  const rss = new RssSampler(serverPid, 500);
  const cpu = new CpuMeter(serverPid);
  let serverCpu = NaN;
  if (opts.measureServer !== false) {
    await sleep(cfg.measureFrom - Date.now());
    cpu.start();
    await sleep(cfg.endAt - Date.now());
    serverCpu = cpu.read().pct;
  }
  const result = await ctx.resultOf<LoadResult>(
    client,
    "load-result",
    opts.ms + opts.warmMs + 30_000,
  );
  const rssOut = rss.stop();
  const run: LoadRun = {
    target,
    batch: opts.batch,
    concurrency: opts.concurrency,
    result,
    server_cpu_pct: serverCpu,
    server_rss_mb: rssOut,
  };
  const l = result.latency_ms;
  ctx.log(
    `${target}: ${result.samples_per_s} samples/s, ${result.requests_per_s} req/s, ` +
      `p50 ${l.p50} ms, p99 ${l.p99} ms, errors ${result.errors}, ` +
      `server CPU ${Number.isNaN(serverCpu) ? "-" : serverCpu}%, ` +
      `client CPU ${result.client_cpu_pct}%`,
  );
  if (result.errors > 0) ctx.log(`  errors: ${JSON.stringify(result.error_kinds)}`);
  return run;
}

/** Checks that the hub holds, for every node, exactly the highest seq it acknowledged. */
export async function checkSeqs(hub: HubProcess, result: LoadResult): Promise<{
  nodes: number;
  mismatches: number;
  examples: string[];
}> {
  const fleet = await hub.admin.fleet();
  const bySeq = new Map(fleet.nodes.map((n) => [n.id, n.last_seq]));
  let mismatches = 0;
  const examples: string[] = [];
  for (const [id, acked] of Object.entries(result.acked)) {
    const held = bySeq.get(id);
    if (held !== acked) {
      mismatches++;
      if (examples.length < 5) examples.push(`${id}: acked ${acked}, hub holds ${held}`);
    }
  }
  return { nodes: Object.keys(result.acked).length, mismatches, examples };
}

/** Drops the per-node seq maps from a result: only the seq check needs them. */
export function compact(result: LoadResult): void {
  delete (result as Partial<LoadResult>).acked;
  delete (result as Partial<LoadResult>).sent;
}
