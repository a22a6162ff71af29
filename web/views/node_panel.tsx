/**
 * Placeholder until the panel is built.
 *
 * @module
 */

/** The details panel of one node. */
export function NodePanel({ id }: { id: string }) {
  return <aside class="panel">{id}</aside>;
}
