// The agent's plain check of `ping` and `welcome` frames (agent/control.ts quickFrame) against
// the strict frame schemas: whatever it accepts, the schemas accept with the same message; what
// they refuse it leaves to them (so their errors name the field).
import assert from "node:assert/strict";
import { quickFrame } from "../../agent/control.ts";
import { HUB_FRAMES, parseFrame } from "../../shared/control_frames.ts";

const PINGS: unknown[] = [
  { type: "ping", t: 1 },
  { type: "ping", t: 1.5 },
  { type: "ping", t: -3 },
  { type: "ping", t: 0, extra: "x" },
  { type: "ping", t: "1" },
  { type: "ping" },
  { type: "ping", t: null },
  { type: "ping", t: 1e308 },
];
const WELCOMES: unknown[] = [
  { type: "welcome", node_id: "jetson-01", ping_ms: 5000 },
  { type: "welcome", node_id: "jetson-01", ping_ms: 5000, extra: true },
  { type: "welcome", node_id: "-bad", ping_ms: 5000 },
  { type: "welcome", node_id: "a".repeat(64), ping_ms: 5000 },
  { type: "welcome", node_id: "jetson-01", ping_ms: 0 },
  { type: "welcome", node_id: "jetson-01", ping_ms: 1.5 },
  { type: "welcome", node_id: "jetson-01", ping_ms: 2 ** 53 },
  { type: "welcome", node_id: "jetson-01" },
  { type: "welcome", ping_ms: 5000 },
  { type: "welcome", node_id: 7, ping_ms: 5000 },
];

Deno.test("quick ping/welcome check agrees with the frame schemas", () => {
  let quick = 0;
  for (const frame of [...PINGS, ...WELCOMES, { type: "exec.cancel", ch: 1 }, [1], null]) {
    const text = JSON.stringify(frame);
    const strict = parseFrame(text, HUB_FRAMES);
    const fast = quickFrame(text);
    if (fast === undefined) continue;
    quick++;
    assert.ok(strict.ok, `accepted what the schemas refuse: ${text}`);
    assert.deepEqual(fast, strict.msg, text);
  }
  assert.equal(quick, 7, "the valid pings and welcomes take the quick path");
  assert.equal(quickFrame("not json"), undefined);
  assert.equal(quickFrame(new Uint8Array(4)), undefined);
});
