/**
 * When a link reading counts as changed (and goes out as `link.quality`): a round trip or rate
 * that moves by more than about 5 % (half a millisecond near zero) is a change, jitter below that
 * is not, and a change of loss or of the connection always is.
 */
import assert from "node:assert/strict";
import { changeBucket, changeKey } from "../../hub/network/links.ts";
import type { NodeLink } from "../../shared/protocol/mod.ts";

const link = (over: Partial<NodeLink> = {}): NodeLink => ({
  node_id: "n1",
  ts: 0,
  connected: true,
  rtt_ms: 20,
  rtt_avg_ms: 20,
  loss_pct: 0,
  pings: 20,
  probe_rtt_ms: 20,
  probe_loss_pct: 0,
  rx_bps: 0,
  tx_bps: 0,
  ...over,
});

Deno.test("link changes: a rising round trip is a change at every scale", () => {
  for (const [from, to] of [[20, 69], [36, 300], [300, 330], [1, 2], [0, 1]]) {
    assert.notEqual(
      changeKey(link({ rtt_avg_ms: from })),
      changeKey(link({ rtt_avg_ms: to })),
      `${from} → ${to} ms`,
    );
    assert.notEqual(
      changeKey(link({ probe_rtt_ms: from })),
      changeKey(link({ probe_rtt_ms: to })),
      `probe ${from} → ${to} ms`,
    );
  }
  assert.notEqual(changeKey(link({ rx_bps: 1_000_000 })), changeKey(link({ rx_bps: 1_200_000 })));
});

Deno.test("link changes: jitter under the step, and the time, are not a change", () => {
  assert.equal(changeKey(link({ rtt_avg_ms: 300 })), changeKey(link({ rtt_avg_ms: 302 })));
  assert.equal(changeKey(link({ rx_bps: 0 })), changeKey(link({ rx_bps: 40 })));
  assert.equal(changeKey(link({ ts: 1 })), changeKey(link({ ts: 2 })));
  // Buckets are ordered and about 5 % wide far from zero.
  assert.ok((changeBucket(1000, 0.5) as number) > (changeBucket(900, 0.5) as number));
  assert.equal(changeBucket(null, 0.5), "-");
});

Deno.test("link changes: loss and the connection always count", () => {
  assert.notEqual(changeKey(link({ loss_pct: 0 })), changeKey(link({ loss_pct: 5 })));
  assert.notEqual(changeKey(link({ probe_loss_pct: 0 })), changeKey(link({ probe_loss_pct: 5 })));
  assert.notEqual(changeKey(link({ connected: true })), changeKey(link({ connected: false })));
  assert.notEqual(changeKey(link({ rtt_avg_ms: null })), changeKey(link({ rtt_avg_ms: 0 })));
});
