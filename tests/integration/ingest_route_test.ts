/**
 * The ingest route answers alike whichever way a request takes: an agent's usual request (a node
 * token, a declared length, JSON) is answered without the framework, and the same request sent
 * with a chunked body goes through the framework's route. Both ways must give the same status,
 * body and headers, store the same, and refuse the same. Real hub, real HTTP.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
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

Deno.test("ingest: the usual request and the framework's route answer alike", async () => {
  const hub = await startHub({ args: ["--max-body", "64KB"] });
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
    const samplesBefore = (await hub.admin.stats()).samples_stored;

    // Refused both ways with the same problem; nothing stored.
    const refused: [string, string, Record<string, string>, number][] = [
      ["malformed JSON", '{"node_id": "n1", "samples": [', asNode(n1), 400],
      [
        "a field of the wrong type",
        batch({ ...makeSample(3), cpu: { pct: "high" } }),
        asNode(n1),
        400,
      ],
      [
        "another node's batch",
        JSON.stringify({ node_id: "n2", samples: [makeSample(3)] }),
        asNode(n1),
        403,
      ],
      [
        "a seq beyond the node's window",
        batch(makeSample(3), makeSample(3 + SEQ_WINDOW)),
        asNode(n1),
        400,
      ],
      ["a viewer token", batch(makeSample(3)), asNode(viewer), 403],
      ["no token", batch(makeSample(3)), { "content-type": "application/json" }, 401],
      ["a token that is not a bearer token", batch(makeSample(3)), {
        ...asNode(n1),
        authorization: `Basic ${n1}`,
      }, 401],
      [
        "another media type",
        batch(makeSample(3)),
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
    assert.equal((await hub.admin.node("n1")).last_seq, 2);
  } finally {
    await hub.stop();
  }
});

Deno.test("ingest: refused alike both ways at the in-flight bound, the held batch stored", async () => {
  const hub = await startHub({ args: ["--max-body", "64KB", "--ingest-max-pending", "1KB"] });
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

    await conn.write(body.subarray(10));
    const reply = new Uint8Array(4096);
    const n = await conn.read(reply);
    assert.match(new TextDecoder().decode(reply.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/);
    assert.equal((await hub.admin.node("n1")).last_seq, 1);
  } finally {
    conn?.close();
    await hub.stop();
  }
});
