/**
 * The bench's load generator, run as its own subprocess so it does not share an event loop with
 * the orchestrator: `deno run --allow-all tests/bench/load_client.ts CONFIG.json`.
 *
 * It pushes `IngestBatch` bodies (realistic simulated samples, `ts` = send time) over keep-alive
 * HTTP/1.1 connections, one request in flight per connection:
 * - `saturate`: `concurrency` workers send back to back; worker w owns the nodes i ≡ w (mod
 *   concurrency), so a node never has two requests in flight and its seq strictly increases;
 * - `paced`: every node sends once per `intervalMs`, the nodes spread evenly over the interval.
 *
 * Prints one JSON line: `{"kind":"load-result", ...}` ({@link LoadResult}).
 *
 * @module
 */
import {
  CpuMeter,
  ErrorTally,
  errorText,
  Http1Conn,
  type LoadConfig,
  type LoadResult,
  NumList,
  round,
  sampleJson,
  sampleTemplates,
  sleep,
  summarize,
} from "./common.ts";

const cfg = JSON.parse(await Deno.readTextFile(Deno.args[0])) as LoadConfig;
const templates = await sampleTemplates();
const url = new URL(cfg.url);
const hostname = url.hostname;
const port = Number(url.port);
const n = cfg.nodes.length;
const nextSeq = cfg.nodes.map((x) => x.seq);
const acked = cfg.nodes.map((x) => x.seq);
const sent = cfg.nodes.map((x) => x.seq);
const auth = cfg.nodes.map((x) => ({ authorization: `Bearer ${x.token}` }));
const agentJson = (id: string) => `{"version":"bench","hostname":"${id}","arch":"x86_64"}`;
const spacing = cfg.batchSpacingMs ?? 5000;

const latencies = new NumList();
let requests = 0;
let samples = 0;
const errors = new ErrorTally();
let badAcks = 0;
let unmeasured = 0;
let lateStarts = 0;
let stopping = false;
let issued = 0;
const maxRequests = cfg.maxRequests ?? Infinity;

function body(i: number, firstSeq: number, count: number, now: number): string {
  const node = cfg.nodes[i];
  const parts: string[] = [];
  for (let j = 0; j < count; j++) {
    const t = templates[(i + firstSeq + j) % templates.length];
    parts.push(sampleJson(t, firstSeq + j, now - (count - 1 - j) * spacing));
  }
  return `{"node_id":"${node.id}","agent":${agentJson(node.id)},"spool_dropped":0,` +
    `"samples":[${parts.join(",")}]}`;
}

/** Sends one batch for node `i`; records latency when it started inside the window. */
async function sendOne(conn: Http1Conn, i: number, count: number): Promise<void> {
  const first = nextSeq[i] + 1;
  const last = nextSeq[i] + count;
  nextSeq[i] = last;
  sent[i] = last;
  const started = Date.now();
  const req = Http1Conn.post(url.host, cfg.path, auth[i], body(i, first, count, started));
  const t0 = performance.now();
  let ok = false;
  try {
    const res = await conn.request(req);
    if (res.status === 200) {
      ok = true;
      acked[i] = Math.max(acked[i], last);
      if (
        !res.body.includes(`"acked_seq":${last},`) && !res.body.includes(`"acked_seq":${last}}`)
      ) {
        badAcks++;
      }
    } else errors.add(`http ${res.status}: ${res.body.slice(0, 160)}`);
  } catch (error) {
    errors.add(errorText(error));
    // Do not hammer a server that refuses connections.
    await sleep(20);
  }
  const ms = performance.now() - t0;
  if (started >= cfg.measureFrom && started < cfg.endAt) {
    if (ok) {
      requests++;
      samples += count;
      latencies.push(ms);
    }
  } else unmeasured++;
}

async function saturateWorker(w: number): Promise<void> {
  const owned: number[] = [];
  for (let i = w; i < n; i += cfg.concurrency) owned.push(i);
  if (owned.length === 0) return;
  const conn = new Http1Conn(hostname, port);
  try {
    for (let j = 0; !stopping && Date.now() < cfg.endAt && issued++ < maxRequests; j++) {
      await sendOne(conn, owned[j % owned.length], cfg.batch);
    }
  } finally {
    conn.close();
  }
}

let ticket = 0;
async function pacedWorker(): Promise<void> {
  const slot = (cfg.intervalMs ?? 5000) / n;
  const conn = new Http1Conn(hostname, port);
  try {
    while (!stopping) {
      const k = ticket++;
      const due = cfg.startAt + k * slot;
      if (due >= cfg.endAt) break;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      else if (wait < -50) lateStarts++;
      await sendOne(conn, k % n, cfg.batch);
    }
  } finally {
    conn.close();
  }
}

function report(): void {
  const windowS = (cfg.endAt - cfg.measureFrom) / 1000;
  const byId = (arr: number[]) => Object.fromEntries(cfg.nodes.map((x, i) => [x.id, arr[i]]));
  const result: LoadResult = {
    kind: "load-result",
    requests,
    samples,
    errors: errors.total,
    error_kinds: errors.kinds,
    bad_acks: badAcks,
    window_s: windowS,
    requests_per_s: round(requests / windowS, 1),
    samples_per_s: round(samples / windowS, 1),
    latency_ms: summarize(latencies.values()),
    unmeasured_requests: unmeasured,
    client_cpu_pct: cpu.read().pct,
    acked: byId(acked),
    sent: byId(sent),
    late_starts: cfg.mode === "paced" ? lateStarts : undefined,
  };
  console.log(JSON.stringify(result));
}

const cpu = new CpuMeter("self");

// A stuck request must not hang the bench: report what we have and exit.
const watchdog = setTimeout(() => {
  stopping = true;
  errors.add("watchdog: requests still in flight 15 s after the end");
  report();
  Deno.exit(0);
}, Math.max(0, cfg.endAt - Date.now()) + 15_000);

await sleep(cfg.startAt - Date.now());
cpu.start();
const workers = Array.from(
  { length: cfg.concurrency },
  (_, w) => cfg.mode === "paced" ? pacedWorker() : saturateWorker(w),
);
await Promise.all(workers);
clearTimeout(watchdog);
report();
