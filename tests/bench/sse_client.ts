/**
 * SSE clients for the bench, in their own subprocess: `deno run --allow-all
 * tests/bench/sse_client.ts CONFIG.json` opens `clients` streams on `GET /api/v1/fleet/events`,
 * prints `{"kind":"sse-ready"}` once all are connected, records (receive time − sample.ts) for
 * every `node.sample` event whose ts is inside the measured window, and at `stopAt` disconnects
 * and prints one `{"kind":"sse-result", ...}` line ({@link SseResult}).
 *
 * The receive time is taken when the chunk holding the event arrives, before parsing. Both
 * clocks are this machine's `Date.now()`; `ts` is whole milliseconds, so a latency may read up
 * to 1 ms high.
 *
 * @module
 */
import {
  CpuMeter,
  NumList,
  poll,
  round,
  sleep,
  type SseConfig,
  type SseResult,
  summarize,
} from "./common.ts";

const cfg = JSON.parse(await Deno.readTextFile(Deno.args[0])) as SseConfig;
const latencies = new NumList();
const perClient = new Array(cfg.clients).fill(0);
let events = 0;
let sampleEvents = 0;
let disconnects = 0;
let parseErrors = 0;
let connected = 0;
const cpu = new CpuMeter("self");
cpu.start();
const stop = new AbortController();

function handleFrame(frame: string, received: number, client: number): void {
  // Frames: "id: X\nevent: T\ndata: JSON" (comments such as heartbeats start with ':').
  const ev = frame.indexOf("event: ");
  if (ev < 0) return;
  events++;
  if (!frame.startsWith("node.sample", ev + 7)) return;
  sampleEvents++;
  const d = frame.indexOf("\ndata: ", ev);
  try {
    const data = JSON.parse(frame.slice(d + 7)) as { sample: { ts: number } };
    const ts = data.sample.ts;
    if (ts >= cfg.measureFrom && ts < cfg.endAt) {
      latencies.push(received - ts);
      perClient[client]++;
    }
  } catch {
    parseErrors++;
  }
}

async function runClient(client: number): Promise<void> {
  const res = await fetch(`${cfg.url}/api/v1/fleet/events`, {
    headers: { authorization: `Bearer ${cfg.token}` },
    signal: stop.signal,
  });
  if (!res.ok || !res.body) throw new Error(`SSE connect failed: HTTP ${res.status}`);
  connected++;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    // Ends when the hub closes the stream or the abort at stopAt cancels it.
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      const received = Date.now();
      buf += value;
      let idx: number;
      while ((idx = buf.indexOf("\n\n")) >= 0) {
        handleFrame(buf.slice(0, idx), received, client);
        buf = buf.slice(idx + 2);
      }
    }
    if (!stop.signal.aborted) disconnects++;
  } catch {
    if (!stop.signal.aborted) disconnects++;
  }
}

const runs = Array.from({ length: cfg.clients }, (_, i) => runClient(i).catch(() => {}));
// Bounded wait (10 s) for every client to connect.
await poll(() => connected >= cfg.clients, 200, 50);
console.log(JSON.stringify({ kind: "sse-ready", connected }));

await sleep(cfg.stopAt - Date.now());
stop.abort();
await Promise.race([Promise.all(runs), sleep(3000)]);
const result: SseResult = {
  kind: "sse-result",
  clients: cfg.clients,
  connected,
  events,
  sample_events: sampleEvents,
  measured: latencies.length,
  per_client_measured: perClient,
  latency_ms: summarize(latencies.values()),
  disconnects,
  parse_errors: parseErrors,
  client_cpu_pct: round(cpu.read().pct, 1),
};
console.log(JSON.stringify(result));
Deno.exit(0);
