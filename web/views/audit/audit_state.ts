/**
 * The Audit view's list: entries newest first (`GET /api/v1/audit`), its filters (action or
 * action family, actor name, target — what the route supports), paging back with `next_cursor`,
 * and refreshes that keep the pages read further down. The hub sends no audit event: the list is
 * re-read when something auditable is seen on the stream (a batch run starting or finishing, a
 * node token creating a node) or done from this page ({@link auditTouched}, e.g. a container
 * action), and by the Refresh button. Nothing polls.
 *
 * @module
 */
import { signal } from "@preact/signals";
import type { AuditEntry } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { onEvent, onResync } from "../../state/stream.ts";
import { hubNow } from "../../state/clock.ts";

/** The route's filters. `action` is exact, or a family when it ends in a dot (`exec.`). */
export interface AuditFilter {
  action?: string;
  actor?: string;
  target?: string;
}

/** Entries shown, newest first. */
export const auditEntries = signal<AuditEntry[]>([]);
export const auditFilter = signal<AuditFilter>({});
export const auditLoading = signal(false);
export const auditError = signal<string | null>(null);
/** Cursor of the next page, `null` at the end. */
export const auditNext = signal<string | null>(null);
/** Ids that arrived with the last refresh (highlighted briefly). */
export const auditFresh = signal<ReadonlySet<string>>(new Set());
/** When the list was last read (hub time, ms). */
export const auditReadAt = signal<number | null>(null);

const PAGE = 100;
let wanted = false;
let seq = 0;

/** One page with the current filter (empty filter fields are left out). */
function readPage(cursor?: string): Promise<{ entries: AuditEntry[]; next_cursor: string | null }> {
  const f = auditFilter.peek();
  return api.audit({
    limit: PAGE,
    action: f.action || undefined,
    actor: f.actor || undefined,
    target: f.target || undefined,
    cursor,
  });
}

/** Reads the first page with the current filter (replacing the list). */
export async function loadAudit(): Promise<void> {
  wanted = true;
  const mine = ++seq;
  auditLoading.value = true;
  try {
    const page = await readPage();
    if (mine !== seq) return;
    auditEntries.value = page.entries;
    auditNext.value = page.next_cursor;
    auditFresh.value = new Set();
    auditError.value = null;
    auditReadAt.value = hubNow();
  } catch (err) {
    if (mine === seq) auditError.value = (err as Error).message;
  } finally {
    if (mine === seq) auditLoading.value = false;
  }
}

/** Appends the next page. */
export async function loadMoreAudit(): Promise<void> {
  const cursor = auditNext.peek();
  if (!cursor) return;
  const mine = ++seq;
  auditLoading.value = true;
  try {
    const page = await readPage(cursor);
    if (mine !== seq) return;
    const seen = new Set(auditEntries.peek().map((e) => e.id));
    auditEntries.value = [...auditEntries.peek(), ...page.entries.filter((e) => !seen.has(e.id))];
    auditNext.value = page.next_cursor;
    auditError.value = null;
  } catch (err) {
    if (mine === seq) auditError.value = (err as Error).message;
  } finally {
    if (mine === seq) auditLoading.value = false;
  }
}

/** Reads the newest page and puts what is new on top, keeping older pages already read. */
export async function refreshAudit(): Promise<void> {
  if (!auditEntries.peek().length) return loadAudit();
  const mine = ++seq;
  auditLoading.value = true;
  try {
    const page = await readPage();
    if (mine !== seq) return;
    const old = auditEntries.peek();
    const top = Number(old[0]?.id ?? 0);
    const fresh = page.entries.filter((e) => Number(e.id) > top);
    if (fresh.length === page.entries.length && page.next_cursor) {
      // More arrived than a page holds: start over rather than leave a gap.
      auditEntries.value = page.entries;
      auditNext.value = page.next_cursor;
    } else {
      auditEntries.value = [...fresh, ...old];
    }
    auditFresh.value = new Set(fresh.map((e) => e.id));
    auditError.value = null;
    auditReadAt.value = hubNow();
  } catch (err) {
    if (mine === seq) auditError.value = (err as Error).message;
  } finally {
    if (mine === seq) auditLoading.value = false;
  }
}

let timer: ReturnType<typeof setTimeout> | undefined;

/** Something auditable happened: re-read the newest entries soon (once the view was shown). */
export function auditTouched(delayMs = 300): void {
  if (!wanted) return;
  clearTimeout(timer);
  timer = setTimeout(() => void refreshAudit(), delayMs);
}

/** Sets the filter and re-reads. */
export function setAuditFilter(f: AuditFilter): void {
  const clean: AuditFilter = {};
  if (f.action) clean.action = f.action;
  if (f.actor?.trim()) clean.actor = f.actor.trim();
  if (f.target?.trim()) clean.target = f.target.trim();
  auditFilter.value = clean;
  void loadAudit();
}

// exec.run is written with the run, before `exec.started`; exec.cancel before the run finishes.
onEvent("exec.started", () => auditTouched());
onEvent("exec.finished", () => auditTouched());
// A node token minted over HTTP adds its node (token.create is in the same write).
onEvent("node.added", () => auditTouched());
onResync(() => auditTouched(0));
