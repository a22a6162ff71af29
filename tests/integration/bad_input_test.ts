/**
 * Test 4 of the spine: bad input gets a 4xx `application/problem+json` that names the field, and
 * changes nothing; a bad fleet.yml stops the hub with the key and line, database untouched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, startHub } from "../helpers/hub.ts";
import { makeSample, pushSeqs } from "../helpers/samples.ts";
import { Child } from "../helpers/process.ts";
import { type Problem, SEQ_WINDOW } from "../../shared/protocol/mod.ts";

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

/** Posts `body` as a stream: no Content-Length, `Transfer-Encoding: chunked`. */
function postStreamed(url: string, token: string, body: string): Promise<Response> {
  const bytes = new TextEncoder().encode(body);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.subarray(i, i + 4096));
      controller.close();
    },
  });
  return fetch(url + "/api/v1/ingest", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: stream,
  });
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
        "seq beyond the protocol's maximum",
        JSON.stringify({ node_id: "n1", samples: [makeSample(Number.MAX_SAFE_INTEGER)] }),
        400,
        /samples\.0\.seq.*from 1 to 281474976710656/,
      ],
      [
        "seq beyond the node's window (the good sample before it is not stored either)",
        JSON.stringify({ node_id: "n1", samples: [makeSample(3), makeSample(2 + SEQ_WINDOW + 1)] }),
        400,
        /samples\.1\.seq.*last seq 2: allowed 1 to 1000002/,
      ],
      [
        "sent_at not a time",
        JSON.stringify({ node_id: "n1", sent_at: "now", samples: [makeSample(3)] }),
        400,
        /sent_at/,
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
    // A body without a declared length (chunked) is counted as it is read.
    const streamed = await postStreamed(
      hub.url,
      node,
      JSON.stringify({
        node_id: "n1",
        samples: [makeSample(3, { temps: Array(200).fill({ name: "x".repeat(250), c: 1 }) })],
      }),
    );
    assert.equal(streamed.status, 413);
    assert.equal(streamed.headers.get("content-type"), "application/problem+json");
    assert.match(JSON.stringify(await streamed.json()), /exceeds 16384 bytes/);

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

    // Under the limit, a chunked body is stored like any other.
    const ok = await postStreamed(
      hub.url,
      node,
      JSON.stringify({ node_id: "n1", samples: [makeSample(3)] }),
    );
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal((await ok.json()).acked_seq, 3);
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

/** `depth` arrays nested in one another, as JSON text (built without recursion). */
function nested(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

async function hubExit(yaml: string): Promise<{ code: number; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "fleet-hostile-" });
  try {
    const file = join(dir, "fleet.yml");
    await Deno.writeTextFile(file, yaml);
    const child = new Child(Deno.execPath(), [
      "run",
      "--allow-all",
      join(ROOT, "hub/main.ts"),
      "serve",
      "--config",
      file,
      "--data-dir",
      join(dir, "data"),
      "--port",
      "0",
      "--host",
      "127.0.0.1",
    ], { cwd: dir });
    const status = await child.status;
    await child.waitForLine(() => true, 5000).catch(() => {});
    return { code: status.code, stderr: child.stderr.join("\n") };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hostile fleet.yml: alias bomb, oversized file, repeated ids and max_body 0 exit 2 naming file and line", async () => {
  const names = "abcdefghi";
  const bomb = [`a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
  for (let i = 1; i < names.length; i++) {
    bomb.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(", ")}]`);
  }
  const cases: [string, RegExp][] = [
    [bomb.join("\n") + "\n", /fleet\.yml:\d+: alias \*\w: aliases expand to more than 10000/],
    ["# padding\n".repeat(110_000), /fleet\.yml: larger than 1048576 bytes/],
    ["nodes:\n  - id: n1\n  - id: n1\n", /fleet\.yml:3: nodes\.1\.id: node n1 is listed twice/],
    ["ingest:\n  max_body: 0\n", /fleet\.yml:2: ingest\.max_body: must be more than 0/],
  ];
  for (const [yaml, message] of cases) {
    const r = await hubExit(yaml);
    assert.equal(r.code, 2, `${yaml.slice(0, 40)}: ${r.stderr.slice(0, 500)}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "a message, not a stack trace");
  }
});

function modeOf(path: string): string {
  return (Deno.statSync(path).mode! & 0o777).toString(8);
}

Deno.test("data dir 0700, fleet.db, -wal, -shm and admin.token 0600; an old 0755/0644 install is tightened", async () => {
  const first = await startHub();
  const dir = first.dataDir;
  const files = ["fleet.db", "fleet.db-wal", "fleet.db-shm", "admin.token"];
  try {
    for (const f of files) assert.equal(modeOf(join(dir, f)), "600", `fresh ${f}`);
  } finally {
    await first.stop();
  }
  // As an earlier release left it: everything readable by other users.
  Deno.chmodSync(dir, 0o755);
  for (const f of files) {
    try {
      Deno.chmodSync(join(dir, f), 0o644);
    } catch { /* -wal/-shm are removed on a clean stop */ }
  }
  const again = await startHub({ dataDir: dir });
  try {
    assert.equal(modeOf(dir), "700", "data dir");
    for (const f of files) assert.equal(modeOf(join(dir, f)), "600", f);
  } finally {
    await again.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("job payloads and results: nesting and size bounded with the field named; the job list stays readable", async () => {
  const hub = await startHub();
  try {
    const node = (await hub.admin.createToken({ kind: "node", node_id: "w1" })).token;
    const job = (payload: string, extra = "") =>
      `{"executor":"process","command":"true","node":"w1"${extra},"payload":${payload}}`;
    const wide = JSON.stringify(Array.from({ length: 10_001 }, (_, i) => i));
    const env = JSON.stringify(
      Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`V${i}`, "x"])),
    );
    const cases: [string, string, RegExp][] = [
      ["400,000 levels", job(nested(400_000)), /payload.*nested deeper than 32 levels/],
      ["33 levels", job(nested(33)), /payload.*nested deeper than 32 levels/],
      ["10,001 items", job(wide), /payload.*more than 10000 values/],
      ["1,001 env vars", job("1", `,"env":${env}`), /env.*at most 1000 variables/],
    ];
    for (const [what, body, message] of cases) {
      const r = await post(hub.url, hub.adminToken, "/api/v1/jobs", body);
      assert.equal(r.status, 400, what);
      assert.equal(r.type, "application/problem+json", what);
      assert.match(JSON.stringify(r.problem).slice(0, 2000), message, what);
    }
    const ok = await post(hub.url, hub.adminToken, "/api/v1/jobs", job(nested(32)));
    assert.equal(ok.status, 201, `32 levels are fine: ${JSON.stringify(ok.problem)}`);
    const list = await hub.admin.jobs();
    assert.equal(list.jobs.length, 1, "only the valid job was stored");

    // A worker's result is bounded the same way.
    const claim = await post(hub.url, node, "/api/v1/jobs/claim", "{}");
    const spec = (claim.problem as unknown as { job: { id: string; attempt: number } }).job;
    assert.ok(spec, JSON.stringify(claim.problem));
    const path = `/api/v1/jobs/${spec.id}/complete`;
    const deep = await post(
      hub.url,
      node,
      path,
      `{"attempt":${spec.attempt},"result":${nested(100_000)}}`,
    );
    assert.equal(deep.status, 400);
    assert.match(JSON.stringify(deep.problem), /result.*nested deeper than 32 levels/);
    const done = await post(hub.url, node, path, `{"attempt":${spec.attempt},"result":{"a":1}}`);
    assert.equal(done.status, 200, JSON.stringify(done.problem));
    assert.equal((await hub.admin.job(spec.id)).state, "done");
  } finally {
    await hub.stop();
  }
});

Deno.test("metrics: from/to before 2000, a day ahead or reversed are refused naming the field; the rest clamped to retention", async () => {
  const hub = await startHub({ args: ["--retention-raw", "1h", "--retention-rollups", "2d"] });
  try {
    const node = (await hub.admin.createToken({ kind: "node", node_id: "m1" })).token;
    await pushSeqs(hub.url, node, "m1", 1, 1);
    const get = async (query: string) => {
      const res = await fetch(`${hub.url}/api/v1/nodes/m1/metrics?${query}`, {
        headers: { authorization: `Bearer ${hub.adminToken}` },
      });
      return { status: res.status, body: await res.json() };
    };
    const now = Date.now();
    const refused: [string, string][] = [
      ["from=-10000000000000000000000h", "from"],
      ["from=0", "from"],
      ["from=1999-12-31T23:00:00Z", "from"],
      ["from=99999999999999999999", "from"],
      [`to=${now + 2 * 86_400_000}`, "to"],
      [`from=${now}&to=${now - 3_600_000}`, "from"],
      [`from=-1h&to=${"9".repeat(65)}`, "to"],
    ];
    for (const [query, field] of refused) {
      const r = await get(query);
      assert.equal(r.status, 400, query);
      assert.deepEqual((r.body as Problem).errors?.map((e) => e.path), [field], query);
    }
    const day = 86_400_000;
    for (const query of ["from=2001-01-01T00:00:00Z", `from=${now - 365 * day}&to=${now}`]) {
      const r = await get(query);
      assert.equal(r.status, 200, query);
      const m = r.body as { from: number; to: number; step_s: number; ts: number[] };
      assert.ok(m.from >= now - 2 * day - m.step_s * 1000, `${query}: from ${m.from}`);
      assert.ok(m.to <= Date.now() + 1000, `${query}: to ${m.to}`);
      assert.ok(m.ts.length <= 721, `${query}: ${m.ts.length} points`);
    }
    // A range wholly before what is kept: a sane, (nearly) empty answer, not years of buckets.
    const old = await get("from=2001-01-01T00:00:00Z&to=2001-02-01T00:00:00Z");
    assert.equal(old.status, 200);
    assert.ok(old.body.ts.length <= 1, JSON.stringify(old.body).slice(0, 300));
    assert.ok(old.body.from >= Date.UTC(2001, 0, 1) - 86_400_000, String(old.body.from));
  } finally {
    await hub.stop();
  }
});
