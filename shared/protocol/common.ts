/**
 * Protocol version, the node id and the number schemas every family uses.
 *
 * @module
 */
import { z } from "zod";
import { NODE_ID_MESSAGE, NODE_ID_PATTERN } from "./constants.ts";

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
export const NodeId = z.string().regex(NODE_ID_PATTERN, NODE_ID_MESSAGE);
export type NodeId = z.infer<typeof NodeId>;
