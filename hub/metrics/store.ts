/**
 * The SQL the scrape reads: job counts by live state (queue depth).
 *
 * @module
 */
import type { Database } from "../core/db.ts";

/** Jobs pending, claimed and running. */
export function liveJobCounts(db: Database): Record<"pending" | "claimed" | "running", number> {
  const out = { pending: 0, claimed: 0, running: 0 };
  const rows = db.all<{ state: keyof typeof out; n: number }>(
    `SELECT state, count(*) AS n FROM jobs WHERE state IN ('pending', 'claimed', 'running')
     GROUP BY state`,
  );
  for (const r of rows) out[r.state] = r.n;
  return out;
}

/** Alerts firing now. */
export function firingCount(db: Database): number {
  return db.get<{ n: number }>("SELECT count(*) AS n FROM alerts WHERE state = 'firing'")!.n;
}
