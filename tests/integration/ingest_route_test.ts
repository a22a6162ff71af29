/**
 * The ingest route answers alike whichever way a request takes: an agent's usual request (a node
 * token, a declared length, JSON) is answered without the framework, and the same request sent
 * with a chunked body goes through the framework's route. Both ways must give the same status,
 * body and headers, store the same, and refuse the same; also when the usual way hands every body
 * to the parse thread (alone and with the writer worker). Real hub, real HTTP.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { closeInProcessHub, openInProcessHub, ORIGIN, send } from "../helpers/inproc_hub.ts";
import { ingestFirst } from "../../hub/fleet/ingest_route.ts";
import { makeSample } from "../helpers/samples.ts";
import { SEQ_WINDOW } from "../../shared/protocol/mod.ts";

type Way = "declared" | "chunked";

/** Posts `body` with a Content-Length (`declared`) or as a stream (`chunked`). */
function post(
  url: string,
  way: Way,
  body: string,
  headers: Record<string, string>,
): Promise<Response> {
  const bytes = new TextEncoder().encode(body);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
  return fetch(url + "/api/v1/ingest", {
    method: "POST",
    headers,
    body: way === "declared" ? body : stream,
  });
}

/** Status, body and every header but those of the transport (length, framing, date). */
async function answer(res: Response) {
  const headers = [...res.headers].filter(([name]) =>
    !["content-length", "transfer-encoding", "date"].includes(name)
  );
  return { status: res.status, headers, body: await res.json() };
}

/**
 * Stores, refuses and answers alike the usual way and the framework's, with `args`: the usual
 * way parses each body on the request thread by default, or on the parse thread from a size.
 * `thread` is the parse thread's state the hub's stats show after.
 */
async function answersAlike(args: string[], thread: string): Promise<void> {
  const hub = await startHub({ args: ["--max-body", "64KB", ...args] });
  try {
    const n1 = (await hub.admin.createToken({ kind: "node", node_id: "n1" })).token;
    const viewer = (await hub.admin.createToken({ kind: "viewer", name: "v" })).token;
    const asNode = (token: string) => ({
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    });
    const batch = (...samples: unknown[]) => JSON.stringify({ node_id: "n1", samples });

    // Stored both ways, acknowledged alike (each way its own seq).
    const stored: Record<Way, Awaited<ReturnType<typeof answer>>> = {
      declared: await answer(await post(hub.url, "declared", batch(makeSample(1)), asNode(n1))),
      chunked: await answer(await post(hub.url, "chunked", batch(makeSample(2)), asNode(n1))),
    };
    assert.equal(stored.declared.status, 200);
    assert.deepEqual(stored.declared.body, { ...stored.chunked.body, acked_seq: 1, last_seq: 1 });
    assert.equal(stored.chunked.body.last_seq, 2);
    assert.deepEqual(stored.declared.headers, stored.chunked.headers);
    assert.ok(
      stored.declared.headers.some(([name, value]) =>
        name === "x-content-type-options" && value === "nosniff"
      ),
      "the security header is on the answer",
    );
    assert.equal((await hub.admin.node("n1")).last_seq, 2);

    // The JSON media types the framework reads, written other ways: stored both ways.
    let seq = 3;
    for (
      const type of ["application/json; charset=utf-8", "APPLICATION/JSON", "application/x+json"]
    ) {
      for (const way of ["declared", "chunked"] as const) {
        const r = await answer(
          await post(hub.url, way, batch(makeSample(seq)), { ...asNode(n1), "content-type": type }),
        );
        assert.equal(r.status, 200, `${type} ${way}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.last_seq, seq++);
      }
    }
    // The live state takes a batch's newest sample as it was sent.
    const newest = makeSample(seq + 1, { uptime_s: 7 });
    const both = await post(hub.url, "declared", batch(makeSample(seq), newest), asNode(n1));
    assert.equal(both.status, 200);
    await both.body?.cancel();
    seq += 2;
    assert.deepEqual((await hub.admin.node("n1")).last_sample, newest);
    const samplesBefore = (await hub.admin.stats()).samples_stored;

    // Refused both ways with the same problem; nothing stored.
    const refused: [string, string, Record<string, string>, number][] = [
      ["malformed JSON", '{"node_id": "n1", "samples": [', asNode(n1), 400],
      [
        "a field of the wrong type",
        batch({ ...makeSample(seq), cpu: { pct: "high" } }),
        asNode(n1),
        400,
      ],
      [
        "another node's batch",
        JSON.stringify({ node_id: "n2", samples: [makeSample(seq)] }),
        asNode(n1),
        403,
      ],
      [
        "a seq beyond the node's window",
        batch(makeSample(seq), makeSample(seq + SEQ_WINDOW)),
        asNode(n1),
        400,
      ],
      ["a viewer token", batch(makeSample(seq)), asNode(viewer), 403],
      ["no token", batch(makeSample(seq)), { "content-type": "application/json" }, 401],
      ["a token that is not a bearer token", batch(makeSample(seq)), {
        ...asNode(n1),
        authorization: `Basic ${n1}`,
      }, 401],
      [
        "another media type",
        batch(makeSample(seq)),
        { ...asNode(n1), "content-type": "text/plain" },
        400,
      ],
      [
        "a body over the limit",
        batch(makeSample(3, { temps: Array(300).fill({ name: "x".repeat(250), c: 1 }) })),
        asNode(n1),
        413,
      ],
    ];
    for (const [what, body, headers, status] of refused) {
      const declared = await answer(await post(hub.url, "declared", body, headers));
      const chunked = await answer(await post(hub.url, "chunked", body, headers));
      assert.equal(declared.status, status, `${what}: ${JSON.stringify(declared.body)}`);
      assert.equal(
        declared.headers.find(([n]) => n === "content-type")?.[1],
        "application/problem+json",
      );
      assert.deepEqual(declared, chunked, what);
    }
    assert.equal((await hub.admin.stats()).samples_stored, samplesBefore);
    assert.equal((await hub.admin.node("n1")).last_seq, seq - 1);

    // A token revoked after it was used (its check cached): refused both ways.
    const n3 = await hub.admin.createToken({ kind: "node", node_id: "n3" });
    const n3Batch = (q: number) => JSON.stringify({ node_id: "n3", samples: [makeSample(q)] });
    assert.equal((await post(hub.url, "declared", n3Batch(1), asNode(n3.token))).status, 200);
    await hub.admin.revokeToken(n3.id);
    const declared = await answer(await post(hub.url, "declared", n3Batch(2), asNode(n3.token)));
    assert.equal(declared.status, 401);
    assert.deepEqual(
      declared,
      await answer(await post(hub.url, "chunked", n3Batch(2), asNode(n3.token))),
    );
    assert.equal((await hub.admin.node("n3")).last_seq, 1);
    assert.equal((await hub.admin.stats()).ingest_parse_thread, thread);
  } finally {
    await hub.stop();
  }
}

Deno.test("ingest: the usual request and the framework's route answer alike", async () => {
  await answersAlike([], "idle");
});

Deno.test("ingest: alike with the parse thread off", async () => {
  await answersAlike(["--ingest-parse-thread", "off"], "off");
});

Deno.test("ingest: alike with every usual body parsed on the parse thread", async () => {
  await answersAlike(["--ingest-parse-thread", "1"], "running");
});

Deno.test("ingest: alike with the parse thread and the writer worker", async () => {
  await answersAlike(["--ingest-parse-thread", "1", "--db-writer", "worker"], "running");
});

/** The in-flight bound, with `args` (the parse thread or not). */
async function boundAlike(args: string[]): Promise<void> {
  const hub = await startHub({
    args: ["--max-body", "64KB", "--ingest-max-pending", "1KB", ...args],
  });
  let conn: Deno.TcpConn | undefined;
  try {
    const n1 = (await hub.admin.createToken({ kind: "node", node_id: "n1" })).token;
    const headers = { authorization: `Bearer ${n1}`, "content-type": "application/json" };
    // A batch whose body is sent only in part: admitted, it holds the bound until it ends.
    const body = new TextEncoder().encode(
      JSON.stringify({ node_id: "n1", samples: [makeSample(1)] }),
    );
    conn = await Deno.connect({ hostname: "127.0.0.1", port: hub.port });
    await conn.write(new TextEncoder().encode(
      `POST /api/v1/ingest HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${n1}\r\n` +
        `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    ));
    await conn.write(body.subarray(0, 10));
    // Probes over the bound with a body that stores nothing, until one is refused: by then the
    // held batch is admitted.
    const probe = "{" + " ".repeat(2000);
    let chunked: Awaited<ReturnType<typeof answer>> | undefined;
    for (let i = 0; i < 100 && chunked?.status !== 503; i++) {
      chunked = await answer(await post(hub.url, "chunked", probe, headers));
      if (chunked.status !== 503) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(chunked?.status, 503, JSON.stringify(chunked));
    const declared = await answer(await post(hub.url, "declared", probe, headers));
    assert.deepEqual(declared, chunked);
    assert.equal(declared.headers.find(([n]) => n === "retry-after")?.[1], "1");
    // Each refusal is counted, in the stats and for Prometheus.
    const refused = (await hub.admin.stats()).ingest_refused!;
    assert.ok(refused >= 2, `refused ${refused}`);
    const scrape = await fetch(`${hub.url}/metrics`, {
      headers: { authorization: `Bearer ${hub.adminToken}` },
    });
    assert.match(
      await scrape.text(),
      new RegExp(`^fleet_hub_ingest_refused_total ${refused}$`, "m"),
    );

    await conn.write(body.subarray(10));
    const reply = new Uint8Array(4096);
    const n = await conn.read(reply);
    assert.match(new TextDecoder().decode(reply.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/);
    assert.equal((await hub.admin.node("n1")).last_seq, 1);

    // An agent that goes away mid-upload: its bytes are released, and it is not the hub's error.
    conn.close();
    conn = await Deno.connect({ hostname: "127.0.0.1", port: hub.port });
    await conn.write(new TextEncoder().encode(
      `POST /api/v1/ingest HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${n1}\r\n` +
        `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    ));
    await conn.write(body.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 100));
    conn.close();
    conn = undefined;
    let after: Awaited<ReturnType<typeof answer>> | undefined;
    for (let i = 0; i < 100 && after?.status !== 400; i++) {
      after = await answer(await post(hub.url, "declared", probe, headers));
      if (after.status !== 400) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(after?.status, 400, `the bound is free again: ${JSON.stringify(after)}`);
    const logged = hub.child.stderr.join("\n") + hub.child.stdout.join("\n");
    assert.doesNotMatch(logged, /unhandled error/);
  } finally {
    conn?.close();
    await hub.stop();
  }
}

Deno.test("ingest: refused alike both ways at the in-flight bound, the held batch stored", async () => {
  await boundAlike([]);
});

Deno.test("ingest: the in-flight bound holds with every usual body parsed on the parse thread", async () => {
  await boundAlike(["--ingest-parse-thread", "1"]);
});

Deno.test("ingest: an agent's usual request is answered without the app, any other by it", async () => {
  const hub = await openInProcessHub("fleet-ingest-route-", "clusters: []\n");
  try {
    const admin = { authorization: `Bearer ${hub.adminToken}` };
    const created = await send(hub.app, "POST", "/api/v1/tokens", admin, {
      kind: "node",
      node_id: "n1",
    });
    const token = (await created.json()).token as string;
    const handle = await ingestFirst(hub.app, hub.services);
    // Counts what reaches the app from here on.
    let reached = 0;
    const appFetch = hub.app.fetch;
    hub.app.fetch = (...args) => {
      reached++;
      return appFetch(...args);
    };
    const request = (seq: number, extra: Record<string, string>, chunked = false) => {
      const body = JSON.stringify({ node_id: "n1", samples: [makeSample(seq)] });
      const bytes = new TextEncoder().encode(body);
      return new Request(ORIGIN + "/api/v1/ingest", {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          ...(chunked ? {} : { "content-length": String(bytes.length) }),
          ...extra,
        },
        body: chunked ? new Blob([bytes]).stream() : bytes,
      });
    };
    assert.equal((await handle(request(1, {}))).status, 200);
    assert.equal(reached, 0, "the usual request did not reach the app");
    assert.equal((await handle(request(2, {}, true))).status, 200);
    assert.equal(reached, 1, "a chunked body went to the app");
    assert.equal(
      (await handle(request(3, { authorization: `Bearer ${hub.adminToken}` }))).status,
      403,
    );
    assert.equal(reached, 2, "another kind of token went to the app");
    assert.equal((await handle(request(3, { "content-type": "text/plain" }))).status, 400);
    assert.equal(reached, 3, "another media type went to the app");
    assert.equal(hub.services.nodes.lastSeq("n1"), 2);
  } finally {
    await closeInProcessHub(hub);
  }
});
