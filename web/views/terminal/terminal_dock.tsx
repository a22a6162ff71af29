/**
 * Placeholder until the terminal dock is built.
 *
 * @module
 */

/** The terminals docked under the current view. */
export function TerminalDock() {
  return null;
}
