/** The event bus: ids, replay window, resume failures. */
import assert from "node:assert/strict";
import { EventBus } from "../../hub/core/bus.ts";

Deno.test("bus: ids increase; since() replays after an id within the window", () => {
  const bus = new EventBus(4);
  const seen: string[] = [];
  const off = bus.subscribe((e) => seen.push(e.id));
  const ids = [1, 2, 3].map((i) => bus.publish({ type: "node.removed", node_id: `n${i}` }));
  assert.deepEqual(seen, ids);
  assert.equal(bus.lastId, ids[2]);
  const r = bus.since(ids[0]);
  assert.ok(r.ok);
  assert.deepEqual(r.events.map((e) => e.id), ids.slice(1));
  assert.match(
    new TextDecoder().decode(r.events[0].frame),
    /^id: .+\nevent: node.removed\ndata: \{.*"n2".*\}\n\n$/,
  );
  off();
  bus.publish({ type: "node.removed", node_id: "n4" });
  assert.equal(seen.length, 3, "unsubscribed");
});

Deno.test("bus: resume fails clearly when too old, from another boot, or malformed", () => {
  const bus = new EventBus(4);
  const first = bus.publish({ type: "node.removed", node_id: "a" });
  for (let i = 0; i < 10; i++) bus.publish({ type: "node.removed", node_id: `b${i}` });
  assert.deepEqual(bus.since(first), { ok: false, reason: "too many events missed" });
  assert.deepEqual(bus.since("other-3"), { ok: false, reason: "hub restarted" });
  assert.deepEqual(bus.since("garbage"), { ok: false, reason: "malformed Last-Event-ID" });
  const latest = bus.since(bus.lastId);
  assert.ok(latest.ok && latest.events.length === 0);
  assert.equal(bus.since(`${bus.bootId}-0`).ok, false);
});

Deno.test("bus: the replay ring is bounded by bytes as well as by count", () => {
  const bus = new EventBus(1000, 2000);
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    ids.push(bus.publish({ type: "node.removed", node_id: `node-${i}` }));
  }
  assert.ok(bus.bytes <= 2000, `${bus.bytes} bytes held`);
  assert.deepEqual(bus.since(ids[0]), { ok: false, reason: "too many events missed" });
  const recent = bus.since(ids[45]);
  assert.ok(recent.ok);
  assert.deepEqual(recent.events.map((e) => e.id), ids.slice(46));
});
