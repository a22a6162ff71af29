/**
 * A WAN check from this node: for each configured target, DNS resolution, a TCP connect and (for
 * URLs) an HTTP HEAD, each timed. Targets run in parallel, every step bounded by the timeout.
 *
 * @module
 */
import type { WanCheckResult, WanTarget, WanTargetResult } from "../../shared/protocol/mod.ts";
import { tcpProbe } from "./probe.ts";

const round = (ms: number) => Math.round(ms * 100) / 100;

/** Checks one target. */
export async function checkTarget(
  t: WanTarget,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<WanTargetResult> {
  const url = t.url ? new URL(t.url) : null;
  const host = (url ? url.hostname : t.host!).replace(/^\[|\]$/g, "");
  const port = url ? Number(url.port || (url.protocol === "https:" ? 443 : 80)) : (t.port ?? 443);
  const r: WanTargetResult = {
    name: t.name ?? (url ? url.host : `${host}:${port}`),
    target: url ? url.toString() : `${host}:${port}`,
    ok: false,
    addresses: [],
    dns_ms: null,
    tcp_ms: null,
    http_status: null,
    http_ms: null,
    error: null,
  };
  const bound = () => AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  if (/^[\d.]+$/.test(host) || host.includes(":")) {
    r.addresses = [host];
  } else {
    const t0 = performance.now();
    try {
      r.addresses = (await Deno.resolveDns(host, "A", { signal: bound() })).slice(0, 16);
    } catch {
      try {
        r.addresses = (await Deno.resolveDns(host, "AAAA", { signal: bound() })).slice(0, 16);
      } catch (error) {
        r.error = `DNS: ${(error as Error).message}`.slice(0, 512);
        return r;
      }
    }
    r.dns_ms = round(performance.now() - t0);
  }
  const tcp = await tcpProbe(r.addresses[0], port, timeoutMs, signal);
  if (tcp.state !== "open") {
    r.error = tcp.state === "closed" ? `TCP ${port}: refused` : `TCP ${port}: no answer`;
    return r;
  }
  r.tcp_ms = tcp.rtt_ms === null ? null : round(tcp.rtt_ms);
  if (url) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { method: "HEAD", redirect: "manual", signal: bound() });
      await res.body?.cancel();
      r.http_status = res.status;
      r.http_ms = round(performance.now() - t0);
    } catch (error) {
      r.error = `HTTP: ${(error as Error).message}`.slice(0, 512);
      return r;
    }
  }
  r.ok = true;
  return r;
}

/** Checks every target in parallel. */
export async function wanCheck(
  targets: WanTarget[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<WanCheckResult> {
  const started = performance.now();
  const results = await Promise.all(targets.map((t) => checkTarget(t, timeoutMs, signal)));
  return {
    kind: "wan",
    elapsed_ms: Math.round(performance.now() - started),
    stopped: signal.aborted ? "cancelled" : "done",
    targets: results,
  };
}
