/**
 * The agent's side of the network tools on the control channel: a `net` request runs a LAN
 * scan, a port scan, a WAN check or reads the node's sockets. Scans report progress as
 * `stream.data` frames (JSON) and end with one `reply`; `stream.cancel` stops one, and a lost
 * connection stops them all.
 *
 * @module
 */
import type { AgentMessage, NetRequestMessage } from "../../shared/protocol/mod.ts";
import { getLogger } from "../../shared/log.ts";
import { lanScan } from "./lan_scan.ts";
import { portScan, TargetRefused } from "./port_scan.ts";
import { wanCheck } from "./wan_check.ts";
import { readConnections } from "./sockets.ts";

const logger = getLogger("network");

/** Scans one agent runs at once (more are refused with `conflict`). */
const MAX_RUNNING = 4;

/** Runs network requests for one control connection. */
export class NetOps {
  #send: (m: AgentMessage) => void;
  #running = new Map<number, AbortController>();

  constructor(send: (m: AgentMessage) => void) {
    this.#send = send;
  }

  /** Starts a request; answers on its channel. */
  handle(m: NetRequestMessage): void {
    const ch = m.ch;
    if (m.op !== "connections" && this.#running.size >= MAX_RUNNING) {
      this.#send({
        type: "reply",
        ch,
        ok: false,
        code: "conflict",
        error: `${MAX_RUNNING} scans already run on this node; wait for one to finish`,
      });
      return;
    }
    const ac = new AbortController();
    this.#running.set(ch, ac);
    const progress = (p: unknown) =>
      this.#send({ type: "stream.data", ch, data: JSON.stringify(p) });
    const work = (async (): Promise<unknown> => {
      switch (m.op) {
        case "lan_scan":
          return await lanScan(m, ac.signal, progress);
        case "port_scan":
          return await portScan(m, ac.signal, progress);
        case "wan_check":
          return await wanCheck(m.targets, m.timeout_ms, ac.signal);
        case "connections":
          return await readConnections();
      }
    })();
    work.then(
      (data) => this.#send({ type: "reply", ch, ok: true, data: data as never }),
      (error) => {
        const refused = error instanceof TargetRefused;
        if (!refused) logger.warn("network request failed", { op: m.op, error });
        this.#send({
          type: "reply",
          ch,
          ok: false,
          code: refused ? "bad_request" : "failed",
          error: String((error as Error)?.message ?? error).slice(0, 4000),
        });
      },
    ).finally(() => this.#running.delete(ch));
  }

  /** Stops one request (its result still comes, marked cancelled). */
  cancel(ch: number): boolean {
    const ac = this.#running.get(ch);
    ac?.abort();
    return ac !== undefined;
  }

  /** Stops everything (the connection ended). */
  close(): void {
    for (const ac of this.#running.values()) ac.abort();
    this.#running.clear();
  }
}
