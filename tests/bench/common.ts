/**
 * Shared pieces of the bench: /proc readings (RSS, CPU ticks), percentiles, realistic sample
 * payloads, a minimal keep-alive HTTP/1.1 client for the load generator, the command-line
 * parser, bench subprocesses and their result lines, the table row type, and small helpers.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createSimulatedCollector } from "../../agent/collect/simulated.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";
import { Child } from "../helpers/process.ts";
import type { HubProcess } from "../helpers/hub.ts";

/** This directory (tests/bench/). */
export const BENCH_DIR: string = fileURLToPath(new URL("./", import.meta.url));

/** Free-form JSON the phases fill and the report reads. */
// deno-lint-ignore no-explicit-any
export type Json = Record<string, any>;

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/**
 * Calls `check` until it returns a truthy value, at most `tries` + 1 times, `everyMs` apart;
 * resolves with that value, or undefined when it never came.
 */
export async function poll<T>(
  check: () => T | undefined | null | false,
  tries: number,
  everyMs: number,
): Promise<T | undefined> {
  for (let i = 0;; i++) {
    const v = check();
    if (v) return v;
    if (i >= tries) return undefined;
    await sleep(everyMs);
  }
}

/** Clock ticks per second for /proc/<pid>/stat (`getconf CLK_TCK`; Linux is always 100). */
export const CLK_TCK = 100;

/** Resident set size of `pid` in bytes (VmRSS), or undefined when the process is gone. */
export function readRss(pid: number | "self"): number | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * RssAnon and RssFile of `pid` in bytes (private memory, mapped files such as the executable),
 * and of the private memory the C allocator's main heap (`[heap]` in smaps: SQLite, the HTTP
 * server's buffers, request bodies' bytes until V8 collects them); the rest of it is mostly V8's.
 */
export function readRssSplit(
  pid: number | "self",
): { anon: number; file: number; malloc: number } | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(text)?.[1] ?? 0);
    const smaps = Deno.readTextFileSync(`/proc/${pid}/smaps`);
    const at = smaps.indexOf(" [heap]\n");
    const heap = at < 0 ? undefined : /^Rss:\s+(\d+) kB/m.exec(smaps.slice(at, at + 400))?.[1];
    return {
      anon: kb("RssAnon") * 1024,
      file: kb("RssFile") * 1024,
      malloc: Number(heap ?? 0) * 1024,
    };
  } catch {
    return undefined;
  }
}

/** utime + stime of `pid` in clock ticks, or undefined when the process is gone. */
export function readCpuTicks(pid: number | "self"): number | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may contain spaces: fields are counted after its ')'.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return undefined;
  }
}

/** A CPU-time meter for one process: % of one core between `start()` and `stop()`. */
export class CpuMeter {
  readonly pid: number | "self";
  #t0 = 0;
  #ticks0 = 0;

  constructor(pid: number | "self") {
    this.pid = pid;
  }

  start(): void {
    this.#t0 = performance.now();
    this.#ticks0 = readCpuTicks(this.pid) ?? 0;
  }

  /** Percent of one core used since `start()`, and the CPU seconds. */
  read(): { pct: number; cpu_s: number; wall_s: number } {
    const ticks = (readCpuTicks(this.pid) ?? this.#ticks0) - this.#ticks0;
    const wall = (performance.now() - this.#t0) / 1000;
    const cpu = ticks / CLK_TCK;
    return { pct: wall > 0 ? round((cpu / wall) * 100, 2) : 0, cpu_s: cpu, wall_s: round(wall, 2) };
  }
}

/** Samples a process's RSS every `everyMs` until stopped; reports max, mean and last. */
export class RssSampler {
  readonly pid: number;
  readonly values: number[] = [];
  #timer: ReturnType<typeof setInterval>;

  constructor(pid: number, everyMs = 500) {
    this.pid = pid;
    this.#take();
    this.#timer = setInterval(() => this.#take(), everyMs);
  }

  /** RssAnon (private memory) and RssFile (the executable's pages) at the highest VmRSS. */
  #split = { anon: 0, file: 0, malloc: 0 };

  #take(): void {
    const v = readRss(this.pid);
    if (v === undefined) return;
    if (v > Math.max(0, ...this.values)) this.#split = readRssSplit(this.pid) ?? this.#split;
    this.values.push(v);
  }

  stop(): {
    max_mb: number;
    mean_mb: number;
    last_mb: number;
    samples: number;
    max_anon_mb: number;
    max_file_mb: number;
    max_malloc_mb: number;
  } {
    clearInterval(this.#timer);
    this.#take();
    const v = this.values;
    return {
      max_mb: mb(Math.max(0, ...v)),
      mean_mb: mb(v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0),
      last_mb: mb(v.at(-1) ?? 0),
      samples: v.length,
      max_anon_mb: mb(this.#split.anon),
      max_file_mb: mb(this.#split.file),
      max_malloc_mb: mb(this.#split.malloc),
    };
  }
}

/** Bytes → MiB (what `ps` and `top` call MB), 1 decimal. */
export function mb(bytes: number): number {
  return round(bytes / (1024 * 1024), 1);
}

/** Rounds to `digits` decimals. */
export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Latency summary in ms. */
export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Percentiles (nearest rank) of `values` (ms). */
export function summarize(values: number[] | Float64Array): LatencySummary {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  if (n === 0) return { n: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const at = (p: number) => v[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
  let sum = 0;
  for (const x of v) sum += x;
  return {
    n,
    p50: round(at(0.5), 2),
    p90: round(at(0.9), 2),
    p99: round(at(0.99), 2),
    max: round(v[n - 1], 2),
    mean: round(sum / n, 2),
  };
}

/**
 * The middle item of `items` by `key` (the upper one of an even count), as the bench reports
 * medians of a few runs: an item that was really measured, not an average of two.
 */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  return [...items].sort((a, b) => key(a) - key(b))[Math.floor(items.length / 2)];
}

/** A growable list of numbers without per-push allocation. */
export class NumList {
  #buf = new Float64Array(1 << 14);
  length = 0;

  push(v: number): void {
    if (this.length === this.#buf.length) {
      const next = new Float64Array(this.#buf.length * 2);
      next.set(this.#buf);
      this.#buf = next;
    }
    this.#buf[this.length++] = v;
  }

  values(): Float64Array {
    return this.#buf.subarray(0, this.length);
  }
}

/**
 * Metric bodies of realistic samples (Jetson AGX Xavier and x86 + RTX 4090, both 8 cores, with
 * disks, net, temps, GPUs, power rails and containers), serialised once as the JSON text after
 * the opening `{`, so a sample is built per request with a cheap concatenation:
 * `{"seq":N,"ts":T,` + template.
 */
export async function sampleTemplates(count = 32, now = Date.now()): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 2 === 0 ? "xavier" : "x86";
    const c = createSimulatedCollector({ kind, seed: 1000 + i });
    // Spread over ~a day so some templates carry a running GPU job (its container and heat).
    const t = now - i * 2_741_000;
    await c.collect({ root: "/", now: t - 5000 });
    const metrics = SampleMetrics.parse(await c.collect({ root: "/", now: t }));
    out.push(JSON.stringify(metrics).slice(1));
  }
  return out;
}

/** One sample's JSON text from a template. */
export function sampleJson(template: string, seq: number, ts: number): string {
  return `{"seq":${seq},"ts":${ts},${template}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A parsed HTTP response (status and body text). */
export interface Http1Response {
  status: number;
  body: string;
}

/**
 * A minimal HTTP/1.1 client on one keep-alive TCP connection, one request at a time. Much
 * cheaper per request than `fetch`, so on a 2-core machine the load generator leaves more CPU
 * to the server under test. Handles `content-length` and `chunked` bodies.
 */
export class Http1Conn {
  readonly hostname: string;
  readonly port: number;
  #conn: Deno.TcpConn | undefined;
  #acc = new Uint8Array(64 * 1024);
  #len = 0;

  constructor(hostname: string, port: number) {
    this.hostname = hostname;
    this.port = port;
  }

  /** Builds a POST request's bytes. */
  static post(host: string, path: string, headers: Record<string, string>, body: string) {
    const b = encoder.encode(body);
    let head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n` +
      `content-length: ${b.byteLength}\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    const h = encoder.encode(head + "\r\n");
    const out = new Uint8Array(h.byteLength + b.byteLength);
    out.set(h, 0);
    out.set(b, h.byteLength);
    return out;
  }

  /** Sends one request and reads its response. Throws on connection errors. */
  async request(bytes: Uint8Array): Promise<Http1Response> {
    if (!this.#conn) {
      this.#conn = await Deno.connect({ hostname: this.hostname, port: this.port });
      this.#conn.setNoDelay(true);
      this.#len = 0;
    }
    try {
      let off = 0;
      while (off < bytes.byteLength) off += await this.#conn.write(bytes.subarray(off));
      return await this.#readResponse();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  async #fill(): Promise<void> {
    if (this.#len === this.#acc.length) {
      const next = new Uint8Array(this.#acc.length * 2);
      next.set(this.#acc);
      this.#acc = next;
    }
    const n = await this.#conn!.read(this.#acc.subarray(this.#len));
    if (n === null) throw new Error("connection closed by server");
    this.#len += n;
  }

  #indexOfCrlf(from: number, double: boolean): number {
    const a = this.#acc;
    for (let i = from; i + (double ? 3 : 1) < this.#len; i++) {
      if (a[i] === 13 && a[i + 1] === 10 && (!double || (a[i + 2] === 13 && a[i + 3] === 10))) {
        return i;
      }
    }
    return -1;
  }

  async #readResponse(): Promise<Http1Response> {
    let end: number;
    while ((end = this.#indexOfCrlf(0, true)) < 0) await this.#fill();
    const head = decoder.decode(this.#acc.subarray(0, end));
    const lines = head.split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    let length = -1;
    let chunked = false;
    let close = false;
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(":");
      const name = lines[i].slice(0, colon).trim().toLowerCase();
      const value = lines[i].slice(colon + 1).trim().toLowerCase();
      if (name === "content-length") length = Number(value);
      else if (name === "transfer-encoding") chunked = value.includes("chunked");
      else if (name === "connection") close = value === "close";
    }
    let pos = end + 4;
    let body = "";
    if (chunked) {
      const parts: Uint8Array[] = [];
      // Bounded by the data the server sends; each round consumes one chunk.
      while (true) {
        let lineEnd: number;
        while ((lineEnd = this.#indexOfCrlf(pos, false)) < 0) await this.#fill();
        const size = parseInt(decoder.decode(this.#acc.subarray(pos, lineEnd)), 16);
        if (!Number.isFinite(size)) throw new Error("bad chunk size");
        const need = lineEnd + 2 + size + 2;
        while (this.#len < need) await this.#fill();
        if (size === 0) {
          pos = need;
          break;
        }
        parts.push(this.#acc.slice(lineEnd + 2, lineEnd + 2 + size));
        pos = need;
      }
      body = parts.map((p) => decoder.decode(p)).join("");
    } else if (length >= 0) {
      while (this.#len < pos + length) await this.#fill();
      body = decoder.decode(this.#acc.subarray(pos, pos + length));
      pos += length;
    } else {
      throw new Error("response without length");
    }
    // Keep any bytes past this response (none with one request in flight).
    this.#acc.copyWithin(0, pos, this.#len);
    this.#len -= pos;
    if (close) this.close();
    return { status, body };
  }

  /** Closes the connection (the next request reconnects). */
  close(): void {
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    this.#conn = undefined;
    this.#len = 0;
  }
}

/** A node the load generator pushes as: its id, token and the last seq it used. */
export interface BenchNode {
  id: string;
  token: string;
  seq: number;
}

/** Configuration handed to `load_client.ts` (as a JSON file). */
export interface LoadConfig {
  /** Base URL, `http://127.0.0.1:PORT`. */
  url: string;
  path: string;
  nodes: BenchNode[];
  /** `saturate`: every worker sends back to back; `paced`: each node once per `intervalMs`. */
  mode: "saturate" | "paced";
  batch: number;
  concurrency: number;
  /** Epoch ms: start sending. */
  startAt: number;
  /** Epoch ms: count requests started from here on. */
  measureFrom: number;
  /** Epoch ms: stop starting requests. */
  endAt: number;
  intervalMs?: number;
  /** Spacing of sample timestamps inside a batch (replayed backlog), ms. */
  batchSpacingMs?: number;
  /** Stop once this many requests were started (saturate mode), even before `endAt`. */
  maxRequests?: number;
}

/** What `load_client.ts` prints (one JSON line starting with `{"kind":"load-result"`). */
export interface LoadResult {
  kind: "load-result";
  requests: number;
  samples: number;
  errors: number;
  error_kinds: Record<string, number>;
  bad_acks: number;
  window_s: number;
  requests_per_s: number;
  samples_per_s: number;
  latency_ms: LatencySummary;
  /** Requests sent outside the measured window (warm-up and drain). */
  unmeasured_requests: number;
  client_cpu_pct: number;
  /** Highest seq acknowledged per node id. */
  acked: Record<string, number>;
  /** Highest seq sent per node id (also for failed requests). */
  sent: Record<string, number>;
  late_starts?: number;
}

/** Configuration of `sse_client.ts`. */
export interface SseConfig {
  url: string;
  token: string;
  clients: number;
  /** Count `node.sample` events whose sample ts is in [measureFrom, endAt). */
  measureFrom: number;
  endAt: number;
  /** Epoch ms: disconnect and report. */
  stopAt: number;
}

/** What `sse_client.ts` prints. */
export interface SseResult {
  kind: "sse-result";
  clients: number;
  connected: number;
  events: number;
  sample_events: number;
  measured: number;
  per_client_measured: number[];
  latency_ms: LatencySummary;
  disconnects: number;
  parse_errors: number;
  client_cpu_pct: number;
}

/** Error counts by kind, as the load generators report them. */
export class ErrorTally {
  total = 0;
  readonly kinds: Record<string, number> = {};

  /** Counts `kind`; numbers of 4 digits and more read as `N` (a refusal names its byte count). */
  add(kind: string): void {
    this.total++;
    const key = kind.replace(/(?<![\w.])\d{4,}/g, "N");
    this.kinds[key] = (this.kinds[key] ?? 0) + 1;
  }
}

/** A caught error as a short error kind (its message, cut to 160 characters). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 160) : String(error);
}

/** Starts `tests/bench/<name>` as a subprocess (`deno run --allow-all [denoFlags] name args`). */
export function benchScript(name: string, args: string[], denoFlags: string[] = []): Child {
  return new Child(Deno.execPath(), [
    "run",
    "--allow-all",
    ...denoFlags,
    join(BENCH_DIR, name),
    ...args,
  ]);
}

/** Waits for a child to exit (bounded, then SIGKILL) and returns its JSON line of `kind`. */
export async function resultOf<T>(child: Child, kind: string, timeoutMs: number): Promise<T> {
  const timer = setTimeout(() => child.stop("SIGKILL", 0).catch(() => {}), timeoutMs);
  try {
    await child.status;
  } finally {
    clearTimeout(timer);
  }
  // The stdout drain may deliver the last line a moment after the exit.
  const line = await poll(
    () => child.stdout.find((l) => l.startsWith(`{"kind":"${kind}"`)),
    20,
    50,
  );
  if (line) return JSON.parse(line) as T;
  throw new Error(
    `${kind}: no result line; last output:\n` +
      [...child.stdout, ...child.stderr].slice(-15).join("\n"),
  );
}

/** `count` ids `<prefix>01`, `<prefix>02`, … numbered from 1, zero-padded to `digits`. */
export function numberedIds(prefix: string, count: number, digits: number): string[] {
  return Array.from({ length: count }, (_, i) => prefix + String(i + 1).padStart(digits, "0"));
}

/** Creates a node token for each of `ids` through the admin API, 16 requests in flight. */
export async function createNodeTokens(
  hub: Pick<HubProcess, "admin">,
  ids: readonly string[],
): Promise<string[]> {
  const tokens: string[] = new Array(ids.length);
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < ids.length) {
      const i = next++;
      tokens[i] = (await hub.admin.createToken({ kind: "node", node_id: ids[i] })).token;
    }
  }));
  return tokens;
}

/** One line of the bench's table. */
export interface Row {
  metric: string;
  measured: string;
  baseline: string;
  ratio: string;
  target: string;
  met: string;
}

/** Formatting helpers the report lends to the phases' row builders, so every row reads the same. */
export interface RowFormat {
  fmt(v: number | undefined | null, digits?: number): string;
  ratio(a: number | undefined, b: number | undefined, digits?: number): string;
  verdict(ok: boolean | undefined): string;
}

/**
 * A p99 target at saturating load read as the shape of the tail. With `inFlight` requests kept in
 * flight, the mean wait is `inFlight / perS` (Little's law), so a p99 in milliseconds is a
 * throughput target in disguise and moves with the machine; its ratio to the mean does not. The
 * row holds the run's p99 / mean wait against the ratio the target allows at the target's rate.
 */
export function tailRow(
  f: RowFormat,
  label: string,
  run: { p99Ms: number; inFlight: number; perS: number },
  target: { p99Ms: number; perS: number },
): Row {
  const mean = (run.inFlight / run.perS) * 1000;
  const allowed = target.p99Ms / ((run.inFlight / target.perS) * 1000);
  const shape = run.p99Ms / mean;
  return {
    metric: `${label}: p99 / mean wait (${run.inFlight} in flight / rate)`,
    measured: `${f.fmt(shape, 2)} (mean ${f.fmt(mean, 1)} ms)`,
    baseline: "-",
    ratio: "-",
    target: `≤ ${f.fmt(allowed, 2)} (p99 < ${target.p99Ms} at ${f.fmt(target.perS)}/s)`,
    met: f.verdict(shape <= allowed),
  };
}

/** One command-line flag: its kind, its default and what `--help` says about it. */
export type FlagSpec =
  | { type: "boolean"; help: string }
  | { type: "string"; help: string; default?: string; arg?: string }
  | { type: "number"; help: string; default?: number; arg?: string };

/** Parsed flag values, typed by their specs. */
export type FlagValues<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: S[K] extends { type: "boolean" } ? boolean
    : S[K] extends { type: "number"; default: number } ? number
    : S[K] extends { type: "number" } ? number | undefined
    : S[K] extends { default: string } ? string
    : string | undefined;
};

/** The `--help` text: `usage`, then one line per flag. */
export function flagHelp(usage: string, spec: Record<string, FlagSpec>): string {
  const lines = Object.entries(spec).map(([name, f]) => {
    const arg = f.type === "boolean" ? "" : ` ${f.arg ?? (f.type === "number" ? "N" : "VALUE")}`;
    const def = f.type !== "boolean" && f.default !== undefined && f.default !== ""
      ? ` (default ${f.default})`
      : "";
    return [`--${name}${arg}`, f.help + def];
  });
  lines.push(["--help", "print this help and exit"]);
  const width = Math.max(...lines.map(([flag]) => flag.length));
  return `usage: ${usage}\n\n${
    lines.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join("\n")
  }`;
}

/**
 * Parses `args` with `node:util` `parseArgs` (`--name value`, `--name=value`, `--flag`) against
 * `spec`; `--help` prints {@link flagHelp} and exits 0, a bad flag prints it and exits 2.
 */
export function parseCli<S extends Record<string, FlagSpec>>(
  usage: string,
  spec: S,
  args: string[] = Deno.args,
): FlagValues<S> {
  function fail(message: string): never {
    console.error(`${message}\n\n${flagHelp(usage, spec)}`);
    Deno.exit(2);
  }
  const options: Record<string, { type: "string" | "boolean"; default?: string }> = {
    help: { type: "boolean" },
  };
  for (const [name, f] of Object.entries(spec)) {
    options[name] = f.type === "boolean"
      ? { type: "boolean" }
      : f.default === undefined
      ? { type: "string" }
      : { type: "string", default: String(f.default) };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    console.log(flagHelp(usage, spec));
    Deno.exit(0);
  }
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(spec)) {
    const v = values[name];
    if (f.type === "boolean") out[name] = v === true;
    else if (f.type === "number" && typeof v === "string") {
      const n = Number(v);
      if (v.trim() === "" || !Number.isFinite(n)) fail(`--${name}: not a number: ${v}`);
      out[name] = n;
    } else out[name] = v;
  }
  return out as FlagValues<S>;
}
