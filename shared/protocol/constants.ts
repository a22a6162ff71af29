/**
 * Protocol constants without zod: what the agent needs at run time (bounds, the node id pattern)
 * without loading the schemas. The schema files re-export them.
 *
 * @module
 */

/** Highest seq the hub accepts (2^48; see `samples.ts`). */
export const SEQ_MAX = 2 ** 48;

/** Pings (and probes) a link loss percentage is computed over. */
export const LINK_WINDOW = 20;

/** Largest control-channel frame (bytes of JSON text), either way. */
export const MAX_CONTROL_FRAME = 1_048_576;

/** Node ids: 1-63 chars of letters, digits, '.', '_', '-', starting with a letter or digit. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The message of a node id that does not match {@link NODE_ID_PATTERN}. */
export const NODE_ID_MESSAGE =
  "node id: 1-63 chars of letters, digits, '.', '_', '-', starting with a letter or digit";
