/**
 * The parse thread: decodes, parses, checks and digests the ingest bodies the request thread
 * hands it (`batch_parser.ts`), so that thread keeps serving meanwhile. Each body arrives as its
 * bytes (moved, not copied) and leaves as a digest (`batch_digest.ts`), as its text when the fast
 * check does not pass it (the request thread runs zod), or refused when it is not JSON.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { digestBatch } from "./batch_digest.ts";
import { compileShape, type FastCheck } from "../core/fast_check.ts";
import { BadInput } from "../core/errors.ts";
import type { FromParser, ToParser } from "./batch_parser.ts";

const decoder = new TextDecoder();
let check: FastCheck | undefined;
let sampleKeys: ReadonlySet<string> = new Set();

function answer(m: Extract<ToParser, { kind: "body" }>): FromParser {
  const text = decoder.decode(m.body);
  try {
    const batch = digestBatch(text, check!, sampleKeys);
    return batch ? { id: m.id, kind: "digest", batch } : { id: m.id, kind: "text", text };
  } catch (error) {
    // Not JSON: 400, as on the request thread. Anything else is the hub's fault: 500, and the
    // agent keeps the batch to send again.
    const message = error instanceof Error ? error.message : String(error);
    return { id: m.id, kind: error instanceof BadInput ? "refused" : "failed", message };
  }
}

self.onmessage = (e: MessageEvent<ToParser>) => {
  const m = e.data;
  if (m.kind === "init") {
    check = compileShape(m.shape);
    sampleKeys = new Set(m.sampleKeys);
  } else self.postMessage(answer(m));
};
