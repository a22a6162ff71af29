/**
 * Each node's last contact (`last_seq`, `last_seen`) held in memory between writes of its row.
 *
 * Without a buffer every ingest batch reads its node's row and upserts it: two statements per
 * request beside the sample's insert. With one ({@link startContactBuffer}, the serving hub), a
 * batch that changes nothing about its node but the contact only updates the entry held here,
 * and the buffer writes the changed rows every flush interval and at shutdown. A batch that
 * changes anything else (first contact, identity, spool drops, clock skew, unknown keys) still
 * writes the row in its own transaction.
 *
 * Nothing acknowledged depends on the row: the samples are stored in the batch's transaction. An
 * entry is loaded as the row raised to the node's newest stored sample (its seq and receive time),
 * and {@link reconcileContacts} brings every row up to its samples at start, so a kill loses no
 * seq; what it can lose is the contact time of batches that held only duplicates, from the last
 * flush interval. A rolled-back write puts back the entries it changed. Rows read through
 * `getNodeRow` / `listNodeRows` show the entry held; another process, or a snapshot of the
 * database, sees rows up to one flush interval behind.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type { IngestBatch } from "../../shared/protocol/mod.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("contacts");

/** What ingest needs of a node's row. */
export interface ContactRow {
  last_seq: number;
  last_seen: number | null;
  clock_skew_ms: number | null;
  hostname: string | null;
  arch: string | null;
  agent_version: string | null;
  spool_dropped: number;
  first_seen: number | null;
}

/** A node's contact as held (its row raised to its newest sample). */
export interface Contact extends ContactRow {
  /** `last_seq` as the row holds it: what a kill would fall back to without the samples. */
  row_seq: number;
  /** Changed since the row was last written. */
  dirty: boolean;
}

type Newest = { seq: number | null; recv_ts: number | null };

const LOAD = "SELECT last_seq, last_seen, clock_skew_ms, hostname, arch, agent_version, " +
  "spool_dropped, first_seen FROM nodes WHERE id = ?";
const NEWEST = "SELECT seq, recv_ts FROM samples WHERE node_id = ? ORDER BY seq DESC LIMIT 1";
// A contact never moves back, and an unknown one (NULL) leaves the row's.
const WRITE = "UPDATE nodes SET last_seq = max(last_seq, ?1), " +
  "last_seen = CASE WHEN ?2 IS NULL THEN last_seen ELSE max(coalesce(last_seen, 0), ?2) END " +
  "WHERE id = ?3";

/** The row's contact raised to the node's newest stored sample. */
function reconciled<T extends { last_seq: number; last_seen: number | null }>(
  db: Database,
  id: string,
  row: T,
): { row: T; changed: boolean } {
  const newest = db.get<Newest>(NEWEST, id);
  if (!newest?.seq || newest.seq <= row.last_seq) return { row, changed: false };
  const seen = Math.max(row.last_seen ?? 0, newest.recv_ts ?? 0);
  return {
    row: { ...row, last_seq: newest.seq, last_seen: seen > 0 ? seen : row.last_seen },
    changed: true,
  };
}

/**
 * Brings every node row's contact up to its newest stored sample (a hub killed with contacts
 * held left rows behind); returns how many rows it changed. Call inside a write, at start.
 */
export function reconcileContacts(db: Database): number {
  let changed = 0;
  const rows = db.all<{ id: string; last_seq: number; last_seen: number | null }>(
    "SELECT id, last_seq, last_seen FROM nodes",
  );
  for (const r of rows) {
    const up = reconciled(db, r.id, r);
    if (!up.changed) continue;
    db.run(WRITE, up.row.last_seq, up.row.last_seen, r.id);
    changed++;
  }
  return changed;
}

const buffers = new WeakMap<Database, ContactBuffer>();

/** The buffer attached to `db`, if any: without one, ingest writes each batch's node row. */
export function contactBufferOf(db: Database): ContactBuffer | undefined {
  return buffers.get(db);
}

/** The contacts held, per node, and what writes them to their rows. */
export class ContactBuffer {
  readonly #db: Database;
  #held = new Map<string, Contact>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** Nodes whose row is behind what is held. */
  get dirty(): number {
    let n = 0;
    for (const c of this.#held.values()) if (c.dirty) n++;
    return n;
  }

  /**
   * On a rollback, puts back the entry `id` had before a change (`was`, with the fields it had
   * then; none: the entry goes). Undo hooks run newest first, so the oldest one wins.
   */
  #undoTo(id: string, was: Contact | undefined): void {
    if (!was) {
      this.#db.onRollback(() => this.#held.delete(id));
      return;
    }
    const { last_seq, last_seen, row_seq, dirty } = was;
    this.#db.onRollback(() => {
      Object.assign(was, { last_seq, last_seen, row_seq, dirty });
      this.#held.set(id, was);
    });
  }

  /** The node's contact (loaded and reconciled on first use); undefined when it has no row. */
  of(db: Database, id: string): Contact | undefined {
    const held = this.#held.get(id);
    if (held) return held;
    const row = db.get<ContactRow>(LOAD, id);
    if (!row) return undefined;
    const up = reconciled(db, id, row);
    const contact: Contact = { ...up.row, row_seq: row.last_seq, dirty: up.changed };
    // Loaded inside a write that may roll back: loaded again afterwards, from what stayed.
    this.#undoTo(id, undefined);
    this.#held.set(id, contact);
    return contact;
  }

  /**
   * Whether a batch changes nothing on the row but the contact, so the entry can take it: the
   * row has had its first contact, and the batch's identity, spool drops, clock skew and
   * unknown keys are what the row holds.
   */
  holds(
    c: Contact,
    batch: Pick<IngestBatch, "agent" | "spool_dropped">,
    skew: number | null,
    unknownKeys: number,
  ): boolean {
    const a = batch.agent;
    return c.first_seen !== null && unknownKeys === 0 && skew === c.clock_skew_ms &&
      (batch.spool_dropped === undefined || batch.spool_dropped === c.spool_dropped) &&
      (a === undefined ||
        (a.version === c.agent_version && (a.hostname ?? c.hostname) === c.hostname &&
          (a.arch ?? c.arch) === c.arch));
  }

  /** A batch's contact, inside the write that stored it; returns the node's highest seq. */
  touch(id: string, c: Contact, now: number, newestSeq: number): number {
    this.#undoTo(id, c);
    c.last_seen = now;
    if (newestSeq > c.last_seq) c.last_seq = newestSeq;
    c.dirty = true;
    return c.last_seq;
  }

  /** The row as a batch's own write left it (inside that write). */
  wrote(id: string, row: ContactRow): void {
    this.#undoTo(id, this.#held.get(id));
    this.#held.set(id, { ...row, row_seq: row.last_seq, dirty: false });
  }

  /** Forgets a node's entry (inside the write that deletes its row). */
  forget(id: string): void {
    this.#undoTo(id, this.#held.get(id));
    this.#held.delete(id);
  }

  /** The row as readers should see it: its contact raised to the entry held. */
  overlay<T extends { id: string; last_seq: number; last_seen: number | null }>(row: T): T {
    const c = this.#held.get(row.id);
    if (!c?.dirty) return row;
    if (c.last_seq > row.last_seq) row.last_seq = c.last_seq;
    if (c.last_seen !== null && c.last_seen > (row.last_seen ?? 0)) row.last_seen = c.last_seen;
    return row;
  }

  /** Writes the rows held ahead of their table (all, or those of `ids`), inside a write. */
  flush(db: Database, ids?: Iterable<string>): number {
    let written = 0;
    const write = (id: string, c: Contact | undefined) => {
      if (!c?.dirty) return;
      db.run(WRITE, c.last_seq, c.last_seen, id);
      this.#undoTo(id, c);
      c.dirty = false;
      c.row_seq = c.last_seq;
      written++;
    };
    if (ids) { for (const id of ids) write(id, this.#held.get(id)); }
    else for (const [id, c] of this.#held) write(id, c);
    return written;
  }

  /**
   * Samples were deleted (inside that write): writes, in the same write, the rows of the nodes
   * whose deleted samples they did not cover yet, since those samples can no longer vouch for
   * the contact after a kill.
   */
  pruned(db: Database, gone: readonly { node_id: string; seq: number }[]): void {
    const ids = new Set<string>();
    for (const g of gone) {
      const c = this.#held.get(g.node_id);
      if (c?.dirty && g.seq > c.row_seq) ids.add(g.node_id);
    }
    if (ids.size > 0) this.flush(db, ids);
  }
}

/** A buffer attached to a database (see {@link startContactBuffer}). */
export interface ContactBufferHandle {
  /** Stops the timer and writes what is held (before the database closes). */
  stop(): Promise<void>;
}

/** Attaches a buffer to `db`: from now on ingest into `db` holds contacts in it. */
export function attachContactBuffer(db: Database): ContactBuffer {
  const buffer = new ContactBuffer(db);
  buffers.set(db, buffer);
  return buffer;
}

/** {@link attachContactBuffer}, written every `everyMs` and when stopped. */
export function startContactBuffer(db: Database, everyMs: number): ContactBufferHandle {
  const buffer = attachContactBuffer(db);
  const rounds = db.writeEvery(
    everyMs,
    (tx) => buffer.flush(tx),
    (error) => logger.error("contact flush failed", { error }),
  );
  return {
    async stop() {
      await rounds.stop();
      // Detached once written: rows are read as stored.
      buffers.delete(db);
    },
  };
}
