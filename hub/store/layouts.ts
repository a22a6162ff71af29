/**
 * The `layouts` table: canvas node positions, one row per user token kind (admin, viewer), so
 * the wall screen's viewer layout and the operators' admin layout do not fight.
 *
 * @module
 */
import type { Database } from "./db.ts";
import type { Layout, TokenKind } from "../../shared/protocol/mod.ts";

/** The saved positions for `kind`, or none. */
export function getLayout(db: Database, kind: TokenKind): Layout {
  // The column holds the whole layout (positions and the hub's place) as JSON.
  const row = db.get<{ positions: string }>("SELECT positions FROM layouts WHERE kind = ?", kind);
  return row ? JSON.parse(row.positions) as Layout : { positions: {} };
}

/** Replaces the saved positions for `kind`. */
export function putLayout(db: Database, kind: TokenKind, layout: Layout, now: number): void {
  db.run(
    `INSERT INTO layouts (kind, positions, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (kind) DO UPDATE SET positions = excluded.positions, updated_at = excluded.updated_at`,
    kind,
    JSON.stringify(layout),
    now,
  );
}
