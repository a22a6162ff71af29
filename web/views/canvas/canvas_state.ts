/**
 * View state of the canvas that several of its parts read: the level of detail (cards turn
 * compact when zoomed far out) and the search query.
 *
 * @module
 */
import { signal } from "@preact/signals";

/** Below this zoom, cards show only name, status and badges. */
export const COMPACT_BELOW = 0.42;

/** "full" or "compact"; changes only when the zoom crosses {@link COMPACT_BELOW}. */
export const lod = signal<"full" | "compact">("full");
/** The node search text (`/`). */
export const searchQuery = signal("");
