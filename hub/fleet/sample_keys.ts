/**
 * A sample's keys against the protocol's (`SAMPLE_KEYS`, passed in so the parse thread needs no
 * schema): a newer agent may send metrics this hub does not know, which are counted, then dropped
 * from what is stored.
 *
 * @module
 */
import type { Sample } from "../../shared/protocol/mod.ts";

/** Keys of `sample` not in `known` (undefined when none: the usual case). */
export function unknownKeysOf(sample: Sample, known: ReadonlySet<string>): string[] | undefined {
  let unknown: string[] | undefined;
  for (const key in sample) if (!known.has(key)) (unknown ??= []).push(key);
  return unknown;
}

/** A copy of `sample` with only the keys in `known`. */
export function knownKeysOnly(sample: Sample, known: ReadonlySet<string>): Sample {
  const out: Record<string, unknown> = {};
  for (const key in sample) if (known.has(key)) out[key] = sample[key as keyof Sample];
  return out as Sample;
}
