/**
 * A loopback TCP proxy that makes a slow or lossy link in the test's own process (this kernel has
 * no netem): every chunk is held for `delayMs` in each direction, and with probability `lossRate`
 * a chunk is "lost" and arrives only after `retransmitMs` more — what TCP does with a dropped
 * segment (the bytes behind it wait too: head-of-line blocking). Order is kept; nothing is
 * corrupted. Settings can be changed while connections are open.
 *
 * @module
 */
import { rng } from "./rng.ts";

/** What the proxy does to traffic now. */
export interface LinkShape {
  delayMs: number;
  lossRate: number;
  retransmitMs: number;
  /** While true nothing is delivered (a stalled link); what arrives meanwhile waits, in order. */
  hold: boolean;
}

/** A running proxy. */
export interface LinkProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  shape: LinkShape;
  /** Chunks held as lost so far. */
  readonly lost: number;
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 (a free port) to `targetPort` on 127.0.0.1.
 *
 * @example
 * ```ts
 * const proxy = await startLinkProxy(hub.port);
 * proxy.shape.delayMs = 100; // +200 ms round trip
 * await proxy.close();
 * ```
 */
export function startLinkProxy(targetPort: number, seed = 1): LinkProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const shape: LinkShape = { delayMs: 0, lossRate: 0, retransmitMs: 0, hold: false };
  const random = rng(seed);
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let lost = 0;

  /** Copies `from` → `to`, each chunk released at its own time, in order. */
  async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const queue: { at: number; data: Uint8Array }[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let lastAt = 0;
    const writer = (async () => {
      while (true) {
        const next = queue.shift();
        if (!next) {
          if (ended) break;
          await new Promise<void>((r) => wake = r);
          continue;
        }
        // Deno's timers can fire up to ~0.5 ms early: wait again until the chunk is due, so a
        // link shaped to 2 × 60 ms never measures 119 ms.
        for (let wait = next.at - performance.now(); wait > 0; wait = next.at - performance.now()) {
          await new Promise((r) => setTimeout(r, Math.ceil(wait)));
        }
        while (shape.hold && !ended) await new Promise((r) => setTimeout(r, 20));
        let off = 0;
        while (off < next.data.length) off += await to.write(next.data.subarray(off));
      }
    })().catch(() => {
      // The far side is gone (broken pipe, reset): stop reading this direction too.
      ended = true;
      try {
        from.close();
      } catch { /* closed */ }
    });
    try {
      const buf = new Uint8Array(64 * 1024);
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        let at = performance.now() + shape.delayMs;
        if (shape.lossRate > 0 && random() < shape.lossRate) {
          lost++;
          at += shape.retransmitMs;
        }
        // TCP delivers in order: a chunk never overtakes one held before it.
        at = Math.max(at, lastAt);
        lastAt = at;
        queue.push({ at, data: buf.slice(0, n) });
        wake?.();
      }
    } catch {
      // Reset by either side: the connection ends.
    }
    ended = true;
    wake?.();
    await writer;
    try {
      await to.closeWrite();
    } catch { /* already closed */ }
  }

  const accept = (async () => {
    for await (const client of listener) {
      const task = (async () => {
        let upstream: Deno.Conn;
        try {
          upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        } catch {
          client.close();
          return;
        }
        conns.add(client);
        conns.add(upstream);
        await Promise.all([pump(client, upstream), pump(upstream, client)]);
        for (const c of [client, upstream]) {
          conns.delete(c);
          try {
            c.close();
          } catch { /* closed */ }
        }
      })();
      tasks.add(task);
      void task.finally(() => tasks.delete(task));
    }
  })().catch(() => {});

  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    shape,
    get lost() {
      return lost;
    },
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accept;
      await Promise.allSettled([...tasks]);
    },
  };
}
