/**
 * Cutting each sample's text out of an ingest body: the texts parse to exactly the samples
 * `JSON.parse` finds, whatever the spacing, key order, escapes and nesting; bodies it cannot cut
 * with certainty, or over several lines, give `undefined` (the hub then stringifies). Fuzzed with seeded random bodies.
 */
import assert from "node:assert/strict";
import { sampleTexts } from "../../hub/fleet/sample_text.ts";
import { makeSample } from "../helpers/samples.ts";
import { rng } from "../helpers/rng.ts";

function check(body: string): void {
  const texts = sampleTexts(body);
  assert.ok(texts, `no texts for ${body.slice(0, 200)}`);
  assert.deepEqual(texts.map((t) => JSON.parse(t)), JSON.parse(body).samples, body.slice(0, 200));
}

Deno.test("sample texts: the agent's compact body and spaced, reordered ones", () => {
  const batch = {
    node_id: "agx-01",
    agent: { version: "0.1.0", hostname: "agx-01", arch: "arm64" },
    spool_dropped: 0,
    samples: [makeSample(1), makeSample(2), makeSample(3)],
  };
  check(JSON.stringify(batch));
  const { samples, ...rest } = batch;
  check(JSON.stringify({ samples, ...rest }));
  check(` \t{ "samples" : [ ${samples.map((s) => JSON.stringify(s)).join(" ,\t ")} ] } `);
  // Over several lines: the texts would carry line breaks into the live stream's data lines.
  assert.equal(sampleTexts(JSON.stringify(batch, null, 2)), undefined);
  assert.equal(sampleTexts(JSON.stringify(batch).replace("[", "[\r")), undefined);
  assert.deepEqual(sampleTexts('{"samples":[]}'), []);
  const one = sampleTexts('{"node_id":"a","samples":[{"seq":1}, {"seq":2}]}');
  assert.deepEqual(one, ['{"seq":1}', '{"seq":2}']);
});

Deno.test("sample texts: strings with brackets, quotes and escapes do not confuse the cut", () => {
  const tricky = ['"]}', "\\", '\\"', "[{", "},{", "\u2028", "é", "\u0000", '"samples":[1]'];
  const samples = tricky.map((t, i) => ({ seq: i + 1, note: t, nested: { a: [t, { b: t }] } }));
  check(JSON.stringify({ node_id: '"samples":[', samples, tail: { samples: "no" } }));
  // Escapes written out by hand, as another JSON writer might.
  check('{"node_id":"a\\u0022b","samples":[{"seq":1,"n":"\\u005d\\u007d"},{"seq":2,"n":"\\\\"}]}');
});

Deno.test("sample texts: like JSON.parse, the last samples key counts", () => {
  const body = '{"samples":[{"seq":1}],"node_id":"a","samples":[{"seq":7},{"seq":8}]}';
  check(body);
  assert.equal(sampleTexts(body)!.length, 2);
});

Deno.test("sample texts: bodies that cannot be cut with certainty give undefined", () => {
  // The key "samples" written with an escape is "samples" to JSON.parse.
  assert.equal(sampleTexts('{"sampl\\u0065s":[{"seq":1}]}'), undefined);
  assert.equal(sampleTexts('{"node_id":"a"}'), undefined);
  assert.equal(sampleTexts('{"samples":{"seq":1}}'), undefined);
  assert.equal(sampleTexts("[1,2]"), undefined);
  // Truncated input (never reaches it: the body was parsed) ends, it does not loop.
  for (const cut of ['{"samples":[{"seq":1}', '{"samples":[', '{"samples', '{"a":"b', '{"a":[1']) {
    assert.equal(sampleTexts(cut), undefined, cut);
  }
});

/** A random JSON value for the fuzz (bounded depth). */
function value(random: () => number, depth: number): unknown {
  const r = random();
  if (depth > 3 || r < 0.3) {
    const k = Math.floor(random() * 6);
    if (k === 0) return null;
    if (k === 1) return random() < 0.5;
    if (k === 2) return Math.round((random() - 0.5) * 1e6) / 100;
    if (k === 3) return random() < 0.5 ? -0 : 1e21;
    const chars = ['"', "\\", "[", "]", "{", "}", ",", ":", " ", "a", "é", "\n", "\u2028"];
    return Array.from(
      { length: Math.floor(random() * 8) },
      () => chars[Math.floor(random() * chars.length)],
    ).join("");
  }
  if (r < 0.65) {
    return Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth + 1));
  }
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 4); i > 0; i--) {
    o[String(value(random, 9)).slice(0, 6) || "k"] = value(random, depth + 1);
  }
  return o;
}

Deno.test("sample texts: 5,000 random bodies, texts parse to the samples", () => {
  const random = rng(20261206);
  for (let n = 0; n < 5000; n++) {
    const samples = Array.from({ length: Math.floor(random() * 5) }, () => value(random, 1));
    const body: Record<string, unknown> = {};
    const keys = ["node_id", "samples", "agent", "x"].sort(() => random() - 0.5);
    for (const k of keys) body[k] = k === "samples" ? samples : value(random, 1);
    const text = JSON.stringify(body);
    check(text);
    // Spaces and tabs between tokens (not inside strings) change nothing.
    check(text.replace(/([,:[\]{}])(?=(?:[^"\\]|\\.|"(?:[^"\\]|\\.)*")*$)/g, "$1 \t"));
  }
});
