/**
 * The bench's `metrics` phase: `/metrics` scraped from a real hub holding 1,000 nodes (each with
 * one realistic Jetson or x86 sample), over HTTP with a `metrics` token: time per scrape, bytes
 * (plain and gzipped) and series. In the same run, in this process, the same fleet rendered by
 * the hub's own text writer and by `prom-client` (a registry of labelled gauges reset and set per
 * scrape, then `registry.metrics()`), which is how the writer was chosen; and, as the floor,
 * `GET /healthz` over the same HTTP path.
 *
 * @module
 */
import { ApiClient } from "../../shared/api_client.ts";
import type { NodeSummary } from "../../shared/protocol/mod.ts";
import { scrape } from "../../hub/metrics/service.ts";
import { HubMetrics } from "../../hub/metrics/hub_metrics.ts";
import {
  createNodeTokens,
  type Json,
  numberedIds,
  type Row,
  type RowFormat,
  sampleJson,
  sampleTemplates,
  summarize,
} from "./common.ts";
import type { PhaseContext } from "./context.ts";

/** Scrapes (and renders) measured after the warm-up. */
const ROUNDS = 30;
const QUICK_ROUNDS = 10;

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/**
 * The same fleet rendered by prom-client, in a subprocess run without the lockfile: `deno compile`
 * embeds every npm package of deno.lock, and prom-client's graph overflows its stack, so the
 * package must never enter the lock (see prom_client_run.ts).
 */
async function promClientTimes(
  fleet: NodeSummary[],
  rounds: number,
): Promise<{ ms: number[]; bytes: number }> {
  const script = new URL("./prom_client_run.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-lock", "--allow-read", "--allow-env", script, String(rounds)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(fleet)));
  await w.close();
  const out = await child.output();
  if (!out.success) throw new Error("prom_client_run.ts failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function timed(rounds: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < 3; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** Runs the phase; fills `out.metrics`. */
export async function metricsPhase(ctx: PhaseContext, out: Json): Promise<void> {
  const rounds = ctx.quick ? QUICK_ROUNDS : ROUNDS;
  ctx.log(`metrics: /metrics at ${ctx.nodes} nodes, ${rounds} scrapes; own writer vs prom-client`);
  const hub = await ctx.startHub();
  try {
    const ids = numberedIds("m", ctx.nodes, 4);
    const tokens = await createNodeTokens(hub, ids);
    const templates = await sampleTemplates();
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < ids.length) {
        const i = next++;
        const body = `{"node_id":"${ids[i]}","samples":[${
          sampleJson(templates[i % templates.length], 1, Date.now())
        }]}`;
        const res = await fetch(`${hub.url}/api/v1/ingest`, {
          method: "POST",
          headers: { authorization: `Bearer ${tokens[i]}`, "content-type": "application/json" },
          body,
        });
        if (!res.ok) throw new Error(`ingest ${ids[i]}: ${res.status} ${await res.text()}`);
        await res.body?.cancel();
      }
    }));
    const token = (await hub.admin.createToken({ kind: "metrics", name: "bench" })).token;
    const headers = { authorization: `Bearer ${token}` };
    let text = "";
    const scrapeMs = await timed(rounds, async () => {
      const res = await fetch(`${hub.url}/metrics`, { headers });
      text = await res.text();
      if (!res.ok) throw new Error(`/metrics answered ${res.status}: ${text.slice(0, 200)}`);
    });
    const healthMs = await timed(rounds, async () => {
      const res = await fetch(`${hub.url}/healthz`);
      await res.text();
    });
    const series = text.split("\n").filter((l) => l && !l.startsWith("#")).length;
    const nodesSeen = new Set(
      [...text.matchAll(/^fleet_node_up\{node="([^"]+)"/gm)].map((m) => m[1]),
    ).size;

    // The same fleet, rendered in this process by both writers.
    const fleet = (await new ApiClient({ hub: hub.url, token: hub.adminToken }).fleet()).nodes;
    const metrics = new HubMetrics();
    const sources = {
      metrics,
      startedAt: Date.now(),
      nodes: () => fleet,
      sseClients: () => 0,
      sseDropped: () => 0,
      agentSessions: () => 0,
      terminals: () => 0,
      jobs: () => ({ pending: 0, claimed: 0, running: 0 }),
      alertsFiring: () => 0,
      ingestRefused: () => 0,
    };
    let own = "";
    const ownMs = await timed(rounds, () => (own = scrape(sources, "prometheus")));
    const { ms: promMs, bytes: promBytes } = await promClientTimes(fleet, rounds);

    out.metrics = {
      nodes: ctx.nodes,
      nodes_in_scrape: nodesSeen,
      series,
      bytes: new TextEncoder().encode(text).byteLength,
      gzip_bytes: await gzipSize(text),
      scrape_ms: summarize(scrapeMs),
      healthz_ms: summarize(healthMs),
      render_own_ms: summarize(ownMs),
      render_prom_client_ms: summarize(promMs),
      render_own_bytes: own.length,
      render_prom_client_bytes: promBytes,
    };
    const m = out.metrics;
    ctx.log(
      `metrics: scrape p50 ${m.scrape_ms.p50} ms / max ${m.scrape_ms.max} ms, ` +
        `${(m.bytes / 1024).toFixed(0)} KiB (${(m.gzip_bytes / 1024).toFixed(0)} KiB gzip), ` +
        `${series} series, ${nodesSeen} nodes; render own p50 ${m.render_own_ms.p50} ms vs ` +
        `prom-client ${m.render_prom_client_ms.p50} ms; /healthz p50 ${m.healthz_ms.p50} ms`,
    );
  } finally {
    await ctx.stopHub(hub);
  }
}

/** The phase's table rows. */
export function metricsRows(m: Json | undefined, f: RowFormat): Row[] {
  if (!m) return [];
  return [
    {
      metric: `/metrics scrape ms at ${m.nodes} nodes, p50 / max, vs GET /healthz p50`,
      measured: `${f.fmt(m.scrape_ms.p50, 1)} / ${f.fmt(m.scrape_ms.max, 1)}`,
      baseline: f.fmt(m.healthz_ms.p50, 2),
      ratio: f.ratio(m.scrape_ms.p50, m.healthz_ms.p50),
      target: "-",
      met: f.verdict(m.nodes_in_scrape === m.nodes),
    },
    {
      metric: `/metrics size KiB (gzip) and series at ${m.nodes} nodes`,
      measured: `${f.fmt(m.bytes / 1024, 0)} (${f.fmt(m.gzip_bytes / 1024, 0)})`,
      baseline: `${m.series} series`,
      ratio: "-",
      target: "-",
      met: "-",
    },
    {
      metric: "render ms p50: own text writer vs prom-client (same fleet, in process)",
      measured: f.fmt(m.render_own_ms.p50, 2),
      baseline: f.fmt(m.render_prom_client_ms.p50, 2),
      ratio: f.ratio(m.render_own_ms.p50, m.render_prom_client_ms.p50),
      target: "-",
      met: "-",
    },
  ];
}
