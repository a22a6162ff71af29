/**
 * Control-channel frame parsing (both directions) and the terminal's token bucket.
 */
import assert from "node:assert/strict";
import { AGENT_FRAMES, HUB_FRAMES, parseFrame } from "../../shared/control_frames.ts";
import { TokenBucket } from "../../agent/rate_limit.ts";
import { MAX_CONTROL_FRAME } from "../../shared/protocol/mod.ts";

Deno.test("parseFrame: good frames of each direction parse", () => {
  const hello = parseFrame(
    JSON.stringify({ type: "hello", version: "1", capabilities: ["exec", "pty"] }),
    AGENT_FRAMES,
  );
  assert.equal(hello.ok, true);
  const reply = parseFrame(
    JSON.stringify({ type: "reply", ch: 3, ok: false, code: "not_found", error: "no" }),
    AGENT_FRAMES,
  );
  assert.deepEqual(reply, {
    ok: true,
    msg: { type: "reply", ch: 3, ok: false, code: "not_found", error: "no" },
  });
  const logs = parseFrame(
    JSON.stringify({ type: "docker", ch: 1, op: "logs", container: "web", tail: 10, follow: true }),
    HUB_FRAMES,
  );
  assert.equal(logs.ok, true);
});

Deno.test("parseFrame: bad frames name what is wrong and keep the channel id", () => {
  const cases: [unknown, RegExp, number?][] = [
    [new Uint8Array([1]), /binary/],
    ["x".repeat(MAX_CONTROL_FRAME + 1), /too large/],
    ["{", /not JSON/],
    ["[1,2]", /needs a string 'type'/],
    [JSON.stringify({ type: "nope", ch: 4 }), /unknown message type 'nope'/, 4],
    [
      JSON.stringify({ type: "exec.start", ch: 2, command: "ls" }),
      /malformed 'exec.start': timeout_s/,
      2,
    ],
    [JSON.stringify({ type: "pty.resize", ch: 1, cols: 5000, rows: 1 }), /cols/, 1],
    [JSON.stringify({ type: "docker", ch: 1, op: "rm", container: "x" }), /op/, 1],
    [JSON.stringify({ type: "docker", ch: 1, op: "stop", container: "../etc" }), /container/, 1],
    [JSON.stringify({ type: "exec.cancel", ch: -1 }), /ch/],
    [JSON.stringify({ type: "__proto__" }), /unknown message type/],
  ];
  for (const [frame, re, ch] of cases) {
    const r = parseFrame(frame, HUB_FRAMES);
    assert.equal(r.ok, false, String(frame).slice(0, 60));
    if (!r.ok) {
      assert.match(r.error, re);
      assert.equal(r.ch, ch);
    }
  }
  // Agent frames are not hub frames.
  assert.equal(parseFrame(JSON.stringify({ type: "pong", t: 1 }), HUB_FRAMES).ok, false);
  assert.equal(parseFrame(JSON.stringify({ type: "ping", t: 1 }), AGENT_FRAMES).ok, false);
});

Deno.test("parseFrame: an agent reply nested deeper than 32 levels is refused without a stack overflow", () => {
  const frame = (depth: number) =>
    `{"type":"reply","ch":5,"ok":true,"data":${"[".repeat(depth)}${"]".repeat(depth)}}`;
  const deep = parseFrame(frame(200_000), AGENT_FRAMES);
  assert.equal(deep.ok, false);
  assert.match(!deep.ok ? deep.error : "", /data: nested deeper than 32 levels/);
  assert.equal(!deep.ok ? deep.ch : undefined, 5);
  assert.equal(parseFrame(frame(32), AGENT_FRAMES).ok, true);
});

Deno.test("TokenBucket: bursts up to its size, then paces at its rate", () => {
  let now = 0;
  const bucket = new TokenBucket(1000, 500, () => now);
  assert.equal(bucket.reserve(500), 0); // the burst
  assert.equal(bucket.reserve(100), 100); // 100 units in debt at 1000/s: wait 100 ms
  now += 100;
  assert.equal(bucket.reserve(0), 0); // paid back
  assert.equal(bucket.reserve(1000), 1000);
  now += 10_000; // a long pause refills only up to the burst
  assert.equal(bucket.reserve(500), 0);
  assert.equal(bucket.reserve(1), 1);
});
