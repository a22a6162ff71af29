/**
 * Placeholder until the audit view is built.
 *
 * @module
 */

/** The audit log view. */
export function AuditView() {
  return <div class="view empty">Coming soon</div>;
}
