/**
 * Placeholder until the batch exec view is built.
 *
 * @module
 */

/** The batch exec view. */
export function ExecView() {
  return <div class="view empty">Coming soon</div>;
}
