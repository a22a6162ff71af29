/**
 * Placeholder until the view is built.
 *
 * @module
 */

/** The jobs view. */
export function JobsView() {
  return <div class="view empty">Coming soon</div>;
}
