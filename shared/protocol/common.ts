/**
 * Protocol version, the node id and the number schemas every family uses.
 *
 * @module
 */
import { z } from "zod";

/** Version of this protocol; part of every API path (`/api/v1`). */
export const PROTOCOL_VERSION = 1;

/** A finite number. */
export const finite = z.number().finite();
/** A finite number ≥ 0. */
export const nonNeg = finite.nonnegative();
/** A percentage, 0–100. */
export const pct = finite.min(0).max(100);
/** A short non-empty text. */
export const shortText = z.string().min(1).max(256);

/** Node ids are short, URL- and file-name-safe. */
export const NodeId = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
  "node id: 1-63 chars of letters, digits, '.', '_', '-', starting with a letter or digit",
);
export type NodeId = z.infer<typeof NodeId>;
