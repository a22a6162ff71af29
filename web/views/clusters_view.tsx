/**
 * Placeholder until the view is built.
 *
 * @module
 */

/** The clusters view. */
export function ClustersView() {
  return <div class="view empty">Coming soon</div>;
}
