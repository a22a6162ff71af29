/**
 * Placeholder until the view is built.
 *
 * @module
 */

/** The roamers view. */
export function RoamersView() {
  return <div class="view empty">Coming soon</div>;
}
