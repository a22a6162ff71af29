/**
 * Sample factories for tests: valid samples with realistic fields, and a direct pusher that acts
 * as a node over the real ingest API.
 *
 * @module
 */
import type { IngestAck, Sample } from "../../shared/protocol/mod.ts";
import { ApiClient } from "../../shared/api_client.ts";

/** A valid sample with `seq`; `extra` overrides fields. */
export function makeSample(seq: number, extra: Partial<Sample> = {}): Sample {
  return {
    seq,
    ts: Date.now(),
    uptime_s: 1000 + seq,
    cpu: { pct: 12.5, cores: [{ pct: 10, mhz: 1190.4, online: true }, { online: false }] },
    load: { l1: 0.5, l5: 0.4, l15: 0.3 },
    mem: { total_b: 16e9, used_b: 4e9, pct: 25 },
    temps: [{ name: "GPU", c: 41.5 }],
    gpus: [{ index: 0, util_pct: 30, freq_mhz: 1377 }],
    power: [{ rail: "VDD_IN", mw: 5120, avg_mw: 5000 }],
    net: [{ iface: "eth0", rx_bps: 1000, tx_bps: 500 }],
    ...extra,
  };
}

/** Pushes samples `from..to` for `nodeId` with its node token; returns the last ack. */
export async function pushSeqs(
  hub: string,
  token: string,
  nodeId: string,
  from: number,
  to: number,
  extra: Partial<Sample> = {},
): Promise<IngestAck> {
  const api = new ApiClient({ hub, token });
  const samples: Sample[] = [];
  for (let s = from; s <= to; s++) samples.push(makeSample(s, extra));
  return await api.ingest({ node_id: nodeId, samples });
}
