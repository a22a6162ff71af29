/**
 * Test 4 of the spine: bad input gets a 4xx `application/problem+json` that names the field, and
 * changes nothing; a bad fleet.yml stops the hub with the key and line, database untouched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, startHub } from "../helpers/hub.ts";
import { makeSample, pushSeqs } from "../helpers/samples.ts";
import { Child } from "../helpers/process.ts";
import type { Problem } from "../../shared/protocol.ts";

async function post(
  url: string,
  token: string,
  path: string,
  body: string,
  type = "application/json",
) {
  const res = await fetch(url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": type },
    body,
  });
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    problem: await res.json() as Problem,
  };
}

Deno.test("bad ingest and token bodies: 4xx problem naming the field, nothing stored", async () => {
  const hub = await startHub({ args: ["--max-body", "16KB"] });
  try {
    const node = (await hub.admin.createToken({ kind: "node", node_id: "n1" })).token;
    await pushSeqs(hub.url, node, "n1", 1, 2);
    const before = await hub.admin.stats();
    const tokensBefore = (await hub.admin.tokens()).length;

    const cases: [string, string, number, RegExp][] = [
      ["malformed JSON", '{"node_id": "n1", "samples": [', 400, /JSON/i],
      ["samples missing", JSON.stringify({ node_id: "n1" }), 400, /samples/],
      ["empty batch", JSON.stringify({ node_id: "n1", samples: [] }), 400, /samples/],
      [
        "wrong type",
        JSON.stringify({ node_id: "n1", samples: [{ ...makeSample(3), cpu: { pct: "high" } }] }),
        400,
        /samples\.0\.cpu\.pct/,
      ],
      [
        "out of range",
        JSON.stringify({
          node_id: "n1",
          samples: [{ ...makeSample(3), mem: { total_b: 1, used_b: 1, pct: 300 } }],
        }),
        400,
        /samples\.0\.mem\.pct/,
      ],
      [
        "seq missing",
        JSON.stringify({ node_id: "n1", samples: [{ ts: Date.now() }] }),
        400,
        /samples\.0\.seq/,
      ],
      [
        "unknown top-level key",
        JSON.stringify({ node_id: "n1", samples: [makeSample(3)], x: 1 }),
        400,
        /x/,
      ],
      [
        "oversized body",
        JSON.stringify({
          node_id: "n1",
          samples: [makeSample(3, { temps: Array(200).fill({ name: "x".repeat(250), c: 1 }) })],
        }),
        413,
        /exceeds 16384 bytes/,
      ],
    ];
    for (const [what, body, code, field] of cases) {
      const r = await post(hub.url, node, "/api/v1/ingest", body);
      assert.equal(r.status, code, what);
      assert.equal(r.type, "application/problem+json", what);
      assert.equal(r.problem.status, code, what);
      assert.match(JSON.stringify(r.problem), field, `${what}: ${JSON.stringify(r.problem)}`);
    }
    const wrongType = await post(hub.url, node, "/api/v1/ingest", "node_id=n1", "text/plain");
    assert.equal(wrongType.status, 400);

    const badToken = await post(
      hub.url,
      hub.adminToken,
      "/api/v1/tokens",
      JSON.stringify({ kind: "node" }),
    );
    assert.equal(badToken.status, 400);
    assert.match(JSON.stringify(badToken.problem.errors), /node_id/);
    const badKind = await post(
      hub.url,
      hub.adminToken,
      "/api/v1/tokens",
      JSON.stringify({ kind: "root" }),
    );
    assert.equal(badKind.status, 400);
    assert.match(JSON.stringify(badKind.problem.errors), /kind/);

    const badQuery = await fetch(`${hub.url}/api/v1/nodes/n1/metrics?from=yesterday-ish`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    assert.equal(badQuery.status, 400);
    assert.match((await badQuery.json() as Problem).detail!, /from/);
    const unknownNode = await fetch(`${hub.url}/api/v1/nodes/nope`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    assert.equal(unknownNode.status, 404);
    assert.equal(unknownNode.headers.get("content-type"), "application/problem+json");
    await unknownNode.body?.cancel();

    const after = await hub.admin.stats();
    assert.equal(after.samples_stored, before.samples_stored, "no sample stored by bad input");
    assert.equal((await hub.admin.node("n1")).last_seq, 2);
    assert.equal((await hub.admin.tokens()).length, tokensBefore, "no token created by bad input");
  } finally {
    await hub.stop();
  }
});

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("bad fleet.yml: the hub refuses to start, names key and line, database untouched", async () => {
  const hub = await startHub();
  const dataDir = hub.dataDir;
  await hub.stop();
  const db = join(dataDir, "fleet.db");
  const hashBefore = await sha256(db);
  const cases: [string, RegExp][] = [
    ["hub:\n  port: 8765\n  prot: 9000\n", /fleet\.yml:3: hub\.prot: unknown key/],
    ["hub:\n  port: eighty\n", /fleet\.yml:2: hub\.port: .*number/],
    ["retention:\n  raw: forever\n", /fleet\.yml:2: retention\.raw: not a duration/],
    ["nodes:\n  - id: agx-01\n    tpye: xavier\n", /fleet\.yml:3: nodes\.0\.tpye: unknown key/],
    [
      "clusters:\n  - id: a\n    nodes: [n1]\n  - id: b\n    nodes: [n1]\n",
      /n1 is in clusters a and b/,
    ],
    ["hub: [1, 2\n", /fleet\.yml:\d+: /],
  ];
  for (const [yaml, message] of cases) {
    const file = join(dataDir, "fleet.yml");
    await Deno.writeTextFile(file, yaml);
    const child = new Child(Deno.execPath(), [
      "run",
      "--allow-all",
      join(ROOT, "hub/main.ts"),
      "serve",
      "--config",
      file,
      "--data-dir",
      dataDir,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
    ], { cwd: dataDir });
    const status = await child.status;
    await child.waitForLine(() => true, 5000).catch(() => {});
    assert.equal(status.code, 2, yaml);
    assert.match(child.stderr.join("\n"), message, yaml);
  }
  assert.equal(await sha256(db), hashBefore, "the database file is unchanged");
  await Deno.remove(dataDir, { recursive: true });
});
