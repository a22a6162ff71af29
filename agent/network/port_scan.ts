/**
 * A TCP port scan of one host from this node: each port open (accepted), closed (refused) or
 * filtered (no answer within the per-port timeout), with the SSH version line or the HTTP status
 * line and Server header of open ports as their banner. Bounded by concurrency and a total time
 * limit. Public targets are refused unless the hub says they are allowed.
 *
 * @module
 */
import {
  isPrivateAddress,
  type NetRequestMessage,
  type PortResult,
  type PortScanResult,
  type ScanProgress,
} from "../../shared/protocol/mod.ts";
import { paced, tcpProbe } from "./probe.ts";

type PortRequest = Extract<NetRequestMessage, { op: "port_scan" }>;

/** Open ports whose banner is read (each costs up to ~2 s). */
const MAX_BANNERS = 64;
/** Closed ports listed by number (the rest are only counted). */
const MAX_CLOSED_LISTED = 256;

/** A refusal the hub turns into a 400. */
export class TargetRefused extends Error {}

/** Resolves `host` to one address (an IP literal is itself). */
export async function resolveHost(host: string, timeoutMs: number): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, "");
  if (/^[\d.]+$/.test(bare) || bare.includes(":")) return bare;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const a = await Deno.resolveDns(bare, "A", { signal });
    if (a[0]) return a[0];
  } catch { /* try AAAA */ }
  try {
    const aaaa = await Deno.resolveDns(bare, "AAAA", { signal: AbortSignal.timeout(timeoutMs) });
    if (aaaa[0]) return aaaa[0];
  } catch { /* below */ }
  throw new TargetRefused(`${host}: no address (DNS lookup failed or timed out)`);
}

/** Reads within `ms`; undefined when nothing came (the connection stays usable). */
async function readWithin(
  conn: Deno.TcpConn,
  buf: Uint8Array,
  ms: number,
): Promise<string | undefined> {
  // A pending read cannot be cancelled without closing, so race it and keep it for later.
  const pending = conn.read(buf).then((n) => n ? new TextDecoder().decode(buf.subarray(0, n)) : "")
    .catch(() => "");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  const first = await Promise.race([pending, timeout]);
  clearTimeout(timer);
  if (first !== undefined) return first;
  // Nothing yet: the caller writes a request, and the same pending read picks up the answer.
  pendingReads.set(conn, pending);
  return undefined;
}
const pendingReads = new WeakMap<Deno.TcpConn, Promise<string>>();

/** Runs the scan. */
export async function portScan(
  req: Omit<PortRequest, "type" | "ch" | "op">,
  cancel: AbortSignal,
  progress: (p: ScanProgress) => void,
  everyMs = 500,
): Promise<PortScanResult> {
  const ip = await resolveHost(req.host, Math.min(5000, req.timeout_ms * 3));
  if (!req.allow_public && !isPrivateAddress(ip)) {
    throw new TargetRefused(
      `${req.host} (${ip}) is outside the private ranges; set network.allow_public_targets: true ` +
        "in fleet.yml to scan it",
    );
  }
  const started = performance.now();
  const limit = AbortSignal.timeout(req.time_limit_s * 1000);
  const stop = AbortSignal.any([cancel, limit]);
  const results: PortResult[] = [];
  const counts = { open: 0, closed: 0, filtered: 0 };
  let probed = 0;
  let banners = 0;
  const report = () => progress({ probed, total: req.ports.length, found: counts.open });
  const timer = setInterval(report, everyMs);
  try {
    await paced(
      req.ports,
      { concurrency: req.concurrency, rate: 5000, signal: stop },
      async (port) => {
        const wantBanner = banners < MAX_BANNERS;
        const r = await tcpProbe(ip, port, req.timeout_ms, stop, wantBanner);
        if (stop.aborted && r.state === "filtered") return; // cut short, not measured
        probed++;
        counts[r.state]++;
        let banner: string | null = null;
        if (r.conn) {
          banners++;
          banner = await bannerOf(r.conn, req.host);
        }
        if (r.state !== "closed" || counts.closed <= MAX_CLOSED_LISTED) {
          results.push({
            port,
            state: r.state,
            rtt_ms: r.rtt_ms === null ? null : Math.round(r.rtt_ms * 100) / 100,
            banner,
          });
        }
      },
    );
  } finally {
    clearInterval(timer);
  }
  report();
  return {
    kind: "port",
    host: req.host,
    ip,
    total: req.ports.length,
    probed,
    stopped: cancel.aborted ? "cancelled" : limit.aborted ? "time_limit" : "done",
    elapsed_ms: Math.round(performance.now() - started),
    counts,
    ports: results.sort((a, b) => a.port - b.port),
  };
}

/** The banner of an open connection (SSH first line, or HTTP status line + Server). */
async function bannerOf(conn: Deno.TcpConn, host: string): Promise<string | null> {
  const buf = new Uint8Array(2048);
  let text = await readWithin(conn, buf, 700);
  try {
    if (text === undefined) {
      await conn.write(
        new TextEncoder().encode(
          `HEAD / HTTP/1.0\r\nHost: ${host}\r\nUser-Agent: fleet-agent\r\n\r\n`,
        ),
      );
      const pending = pendingReads.get(conn)!;
      let timer: ReturnType<typeof setTimeout> | undefined;
      text = await Promise.race([
        pending,
        new Promise<string>((r) => (timer = setTimeout(() => r(""), 1500))),
      ]);
      clearTimeout(timer);
    }
  } catch {
    text = "";
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  if (!text) return null;
  const lines = text.split(/\r?\n/);
  if (lines[0].startsWith("SSH-")) return lines[0].slice(0, 256);
  if (lines[0].startsWith("HTTP/")) {
    const server = lines.find((l) => /^server:/i.test(l));
    return (server ? `${lines[0]} · ${server.trim()}` : lines[0]).slice(0, 512);
  }
  return null;
}
