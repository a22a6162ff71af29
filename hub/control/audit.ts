/**
 * The audit log as the API pages it: newest first, filtered by action (a family such as
 * `exec.` or one action), target and actor, with a cursor for the next page.
 *
 * @module
 */
import type { AuditEntry } from "../../shared/protocol/mod.ts";
import type { Database } from "../core/db.ts";
import { listAudit } from "../core/store.ts";

/** One page of the audit log. */
export interface AuditPage {
  entries: AuditEntry[];
  next_cursor: string | null;
}

/** What a page asks for. */
export interface AuditPageQuery {
  action?: string;
  target?: string;
  actor?: string;
  limit: number;
  cursor?: number;
}

/** Reads the audit log. */
export class AuditLog {
  #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Entries older than `cursor` (an entry id), at most `limit`. */
  page(q: AuditPageQuery): AuditPage {
    const entries = listAudit(this.#db, { ...q, before: q.cursor });
    return { entries, next_cursor: entries.length === q.limit ? entries.at(-1)!.id : null };
  }
}
