/**
 * One network probe at a time: a TCP connect (open / closed / filtered, with its round trip) and
 * an ICMP echo through the system's `ping` (Deno has no raw sockets). Both are bounded by a
 * timeout and an abort signal, so a scan's time limit ends them at once.
 *
 * @module
 */
import type { PortState } from "../../shared/protocol/mod.ts";

/** A TCP probe's outcome; `conn` is the open connection when the caller asked to keep it. */
export interface TcpProbe {
  state: PortState;
  rtt_ms: number | null;
  conn?: Deno.TcpConn;
}

/**
 * Connects to `host:port`. A refusal (RST) is `closed`; no answer within `timeoutMs`, or an ICMP
 * unreachable, is `filtered`. With `keep`, an open connection is handed back (for a banner).
 */
export async function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
  keep = false,
): Promise<TcpProbe> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  const stop = signal ? AbortSignal.any([timeout, signal]) : timeout;
  try {
    const conn = await Deno.connect({
      hostname: host,
      port,
      signal: stop,
      autoSelectFamily: false,
    });
    const rtt = performance.now() - started;
    if (keep) return { state: "open", rtt_ms: rtt, conn };
    conn.close();
    return { state: "open", rtt_ms: rtt };
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) {
      return { state: "closed", rtt_ms: performance.now() - started };
    }
    return { state: "filtered", rtt_ms: null };
  }
}

/** Whether a `ping` that works for this process exists, and why not when it does not. */
export interface PingSupport {
  path: string | null;
  note: string | null;
}

let pingSupport: Promise<PingSupport> | undefined;

/** Finds `ping` on PATH and checks once that it may send (unprivileged ICMP may be off). */
export function pingAvailable(): Promise<PingSupport> {
  return pingSupport ??= (async () => {
    const path = findOnPath("ping");
    if (!path) return { path: null, note: "no ping binary on this node: swept with TCP connects" };
    try {
      // Loopback only: proves the socket can be opened without touching any network.
      const o = await new Deno.Command(path, {
        args: ["-c", "1", "-W", "1", "-n", "127.0.0.1"],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        signal: AbortSignal.timeout(3000),
      }).output();
      if (o.success) return { path, note: null };
      const why = new TextDecoder().decode(o.stderr).trim().split("\n")[0] ?? "";
      return { path: null, note: `ping is not permitted here (${why}): swept with TCP connects` };
    } catch (error) {
      return { path: null, note: `ping failed (${(error as Error).message}): swept with TCP` };
    }
  })();
}

function findOnPath(name: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    const p = `${dir || "."}/${name}`;
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  return null;
}

/** One ICMP echo through `ping`; the round trip in ms, or null when no answer came. */
export async function pingOnce(
  ping: string,
  ip: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<number | null> {
  const started = performance.now();
  const waitS = Math.max(1, Math.ceil(timeoutMs / 1000));
  try {
    const o = await new Deno.Command(ping, {
      args: ["-c", "1", "-W", String(waitS), "-n", ip],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: signal
        ? AbortSignal.any([signal, AbortSignal.timeout(waitS * 1000 + 1000)])
        : AbortSignal.timeout(waitS * 1000 + 1000),
    }).output();
    if (!o.success) return null;
    const m = /time[=<]([\d.]+)\s*ms/.exec(new TextDecoder().decode(o.stdout));
    return m ? Number(m[1]) : performance.now() - started;
  } catch {
    return null;
  }
}

/** Reverse DNS (PTR) of an IPv4 address, bounded by `timeoutMs`; null when there is none. */
export async function reverseName(
  ip: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | null> {
  const arpa = ip.split(".").reverse().join(".") + ".in-addr.arpa";
  const t = AbortSignal.timeout(timeoutMs);
  try {
    const names = await Deno.resolveDns(arpa, "PTR", {
      signal: signal ? AbortSignal.any([t, signal]) : t,
    });
    return names[0]?.replace(/\.$/, "") ?? null;
  } catch {
    return null;
  }
}

/**
 * Starts at most `rate` tasks per second and `concurrency` at once, until `signal` aborts.
 * Resolves when every started task has finished.
 */
export async function paced<T>(
  items: Iterable<T>,
  o: { concurrency: number; rate: number; signal: AbortSignal },
  task: (item: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  const gapMs = 1000 / o.rate;
  let next = performance.now();
  for (const item of items) {
    if (o.signal.aborted) break;
    while (running.size >= o.concurrency) await Promise.race(running);
    const wait = next - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (o.signal.aborted) break;
    next = Math.max(next + gapMs, performance.now() - 1000);
    const p: Promise<void> = task(item).catch(() => {}).finally(() => running.delete(p));
    running.add(p);
  }
  await Promise.all(running);
}
