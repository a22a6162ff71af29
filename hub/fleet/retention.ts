/**
 * Continuous pruning: raw samples past their retention and rollups past theirs are deleted in
 * small batches (browser sessions a week after they ended), each its own group-commit write, so pruning never holds the write
 * lock long enough to delay ingest.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import { pruneRollups, pruneSamples } from "./store.ts";
import { pruneSessions } from "../core/store.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("retention");

/** Options of {@link startPruner}. */
export interface PruneOptions {
  rawRetentionMs: number;
  rollupRetentionMs: number;
  /** How long ended or expired browser sessions stay readable before deletion (default 7 d). */
  endedSessionKeepMs?: number;
  /** Pause between prune rounds (default 10 s). */
  everyMs?: number;
  /** Rows per delete (default 2000). */
  batch?: number;
}

/** Runs one prune round now: deletes expired rows batch by batch; returns how many. */
export async function pruneOnce(
  db: Database,
  options: PruneOptions,
  now = Date.now(),
): Promise<number> {
  const batch = options.batch ?? 2000;
  let total = 0;
  for (
    const [prune, cutoff] of [
      [pruneSamples, now - options.rawRetentionMs],
      [pruneRollups, now - options.rollupRetentionMs],
    ] as const
  ) {
    // Bounded: at most 1000 batches per round; the next round continues.
    for (let i = 0; i < 1000; i++) {
      const n = await db.write((tx) => prune(tx, cutoff, batch));
      total += n;
      if (n < batch) break;
    }
  }
  // Ended sessions are kept a while so "who was logged in" stays answerable, then dropped.
  const sessionCutoff = now - (options.endedSessionKeepMs ?? 7 * 86_400_000);
  const sessions = await db.write((tx) => pruneSessions(tx, sessionCutoff));
  if (sessions > 0) logger.info("pruned ended sessions", { sessions });
  if (total > 0) logger.info("pruned expired history", { rows: total });
  return total;
}

/** Prunes now and then every `everyMs`; returns a stop function. */
export function startPruner(db: Database, options: PruneOptions): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const round = async () => {
    try {
      await pruneOnce(db, options);
    } catch (error) {
      logger.error("prune failed", { error });
    }
    if (!stopped) timer = setTimeout(round, options.everyMs ?? 10_000);
  };
  timer = setTimeout(round, 1000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
