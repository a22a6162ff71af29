/**
 * An ingest body reduced to what storing it needs, for a body parsed on the parse thread
 * (`parse_worker.ts`): per sample its seq, ts, stored text, series values and unknown keys, not
 * the sample object. Sending the parsed samples back to the request thread would cost it about
 * what parsing them there does (structured clone); a digest is strings and a few numbers.
 *
 * Nothing here loads zod: the thread gets the schema's fast check as data (`fast_check.ts`), and
 * a body that check does not pass goes back to the request thread, where zod decides.
 *
 * @module
 */
import type { IngestBatch, Sample } from "../../shared/protocol/mod.ts";
import { type SampleSeries, seriesOf } from "../../shared/metrics.ts";
import type { FastCheck } from "../core/fast_check.ts";
import { BadInput, MALFORMED_JSON } from "../core/errors.ts";
import { sampleTexts } from "./sample_text.ts";
import { knownKeysOnly, unknownKeysOf } from "./sample_keys.ts";

/** One sample of a {@link DigestedBatch}. */
export interface SampleDigest {
  seq: number;
  /** The sample's own ts, as sent. */
  ts: number;
  /** Its JSON to store: its text in the body, or its encoding without the keys it does not know
   * (a sample whose ts the hub moves is encoded again when stored). */
  text: string;
  /** Its charted series' values (for the rollups). */
  series: SampleSeries;
  /** Keys a {@link Sample} does not have, dropped from `text` (absent when none). */
  unknown?: string[];
}

/** A validated ingest batch whose samples are digests (in the body's order). */
export type DigestedBatch = Omit<IngestBatch, "samples"> & { digests: SampleDigest[] };

/**
 * Parses an ingest body and digests it when `check` (the batch schema's fast check) passes it;
 * undefined when it does not (zod must decide: a bad body, or one zod would rewrite).
 *
 * @throws {BadInput} for a body that is not JSON, as the request thread would.
 *
 * @example
 * ```ts
 * const batch = digestBatch(body, compileCheck(IngestBatch)!, SAMPLE_KEYS);
 * batch?.digests[0].text; // the first sample's text, as it is in `body`
 * ```
 */
export function digestBatch(
  body: string,
  check: FastCheck,
  sampleKeys: ReadonlySet<string>,
): DigestedBatch | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new BadInput(MALFORMED_JSON);
  }
  if (!check(value)) return undefined;
  const batch = value as IngestBatch;
  const texts = sampleTexts(body);
  const own = texts?.length === batch.samples.length ? texts : undefined;
  const digests = batch.samples.map((received, i): SampleDigest => {
    const unknown = unknownKeysOf(received, sampleKeys);
    const sample: Sample = unknown ? knownKeysOnly(received, sampleKeys) : received;
    const text = own && !unknown ? own[i] : JSON.stringify(sample);
    const digest: SampleDigest = { seq: sample.seq, ts: sample.ts, text, series: seriesOf(sample) };
    if (unknown) digest.unknown = unknown;
    return digest;
  });
  const out: DigestedBatch = { node_id: batch.node_id, digests };
  if (batch.agent !== undefined) out.agent = batch.agent;
  if (batch.spool_dropped !== undefined) out.spool_dropped = batch.spool_dropped;
  if (batch.sent_at !== undefined) out.sent_at = batch.sent_at;
  return out;
}
