/** The pruner drops browser sessions a while after they ended, and keeps live or recent ones. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "../../hub/core/db.ts";
import { pruneOnce } from "../../hub/fleet/retention.ts";

const DAY = 86_400_000;

Deno.test("pruneOnce deletes sessions ended or expired before the keep window, only those", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-retention-" });
  const db = await openDatabase(join(dir, "fleet.db"));
  try {
    const now = Date.now();
    const rows: [string, number, number | null][] = [
      ["old-ended", now + DAY, now - 8 * DAY], // ended 8 days ago: goes
      ["old-expired", now - 9 * DAY, null], // expired 9 days ago, never ended: goes
      ["recent-ended", now + DAY, now - 1 * DAY], // ended yesterday: kept
      ["live", now + 6 * DAY, null], // still valid: kept
    ];
    await db.write((tx) => {
      for (const [id, expires, ended] of rows) {
        tx.run(
          "INSERT INTO sessions (id, hash, token_id, created_at, last_seen_at, expires_at, " +
            "ended_at) VALUES (?, ?, 't1', ?, ?, ?, ?)",
          id,
          new TextEncoder().encode(id),
          now - 10 * DAY,
          now - 10 * DAY,
          expires,
          ended,
        );
      }
    });
    await pruneOnce(db, { rawRetentionMs: 30 * DAY, rollupRetentionMs: 365 * DAY }, now);
    const left = db.all<{ id: string }>("SELECT id FROM sessions ORDER BY id").map((r) => r.id);
    assert.deepEqual(left, ["live", "recent-ended"]);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
