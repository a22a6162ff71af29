/**
 * The Audit log view (admins and viewers): every batch exec, terminal session, container action
 * and token change, newest first, with who did it (token name and kind), what, on what and how it
 * ended. Filters by action, actor and target; "Load more" pages back; the list refreshes itself
 * when the stream shows something auditable (see `audit/audit_state.ts`) and on Refresh.
 *
 * @module
 */
import { useEffect } from "preact/hooks";
import { formatAge, now } from "../state/clock.ts";
import { Icon } from "../ui/icon.tsx";
import {
  auditEntries,
  auditError,
  auditFilter,
  auditLoading,
  auditNext,
  auditReadAt,
  loadAudit,
  loadMoreAudit,
  refreshAudit,
  setAuditFilter,
} from "./audit/audit_state.ts";
import { AuditFilters } from "./audit/audit_filters.tsx";
import { AuditTable } from "./audit/audit_table.tsx";

function Empty() {
  const f = auditFilter.value;
  if (f.action || f.actor || f.target) {
    return (
      <div class="empty-state table-empty" data-state="empty">
        <Icon name="filter" size={26} />
        <h3>No entries match these filters</h3>
        <button type="button" onClick={() => setAuditFilter({})}>Clear filters</button>
      </div>
    );
  }
  return (
    <div class="empty-state table-empty" data-state="empty">
      <Icon name="audit" size={30} />
      <h3>Nothing audited yet</h3>
      <p>
        Batch commands, terminal sessions, container restarts, stops and removals, and token changes
        are recorded here with who did them and how they ended.
      </p>
    </div>
  );
}

/** The audit log view. */
export function AuditView() {
  useEffect(() => void loadAudit(), []);
  const list = auditEntries.value;
  const loading = auditLoading.value;
  let body;
  if (!list.length && loading) {
    body = (
      <div class="empty-state table-empty" data-state="loading">
        <span class="spinner" />
        Loading the audit log…
      </div>
    );
  } else if (!list.length && auditError.value) {
    body = (
      <div class="empty-state table-empty" data-state="error">
        <Icon name="alert" size={26} />
        <h3>Could not load the audit log</h3>
        <p class="error-text">{auditError.value}</p>
        <button type="button" onClick={() => void loadAudit()}>Try again</button>
      </div>
    );
  } else if (!list.length) {
    body = <Empty />;
  } else {
    body = <AuditTable list={list} />;
  }
  const readAt = auditReadAt.value;
  return (
    <div class="view audit-view" data-testid="audit-view">
      <div class="view-head">
        <div>
          <h2>Audit log</h2>
          <p class="view-sub">
            Who ran what, where, and how it ended · newest first
            {readAt ? ` · updated ${formatAge(readAt, Math.max(now.value, readAt))} ago` : ""}
          </p>
        </div>
        <button
          type="button"
          onClick={() => void refreshAudit()}
          disabled={loading}
          class="refresh-btn"
          data-testid="audit-refresh"
        >
          {loading ? <span class="spinner small" /> : <Icon name="refresh" size={14} />}
          Refresh
        </button>
      </div>
      <AuditFilters count={list.length} more={!!auditNext.value} />
      {list.length && auditError.value
        ? (
          <div class="inline-error" role="alert">
            <Icon name="alert" size={14} /> {auditError.value}
          </div>
        )
        : null}
      <div class="card table-card audit-card">{body}</div>
      {list.length && auditNext.value
        ? (
          <div class="load-more">
            <button
              type="button"
              onClick={() => void loadMoreAudit()}
              disabled={loading}
              data-testid="audit-more"
            >
              {loading ? <span class="spinner small" /> : null} Load more
            </button>
          </div>
        )
        : list.length
        ? (
          <div class="load-more mute">
            {auditFilter.value.action || auditFilter.value.actor || auditFilter.value.target
              ? "No older entries match."
              : "Beginning of the log."}
          </div>
        )
        : null}
    </div>
  );
}
