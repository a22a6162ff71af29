/**
 * How much a card shows, from the zoom: far out, cards turn compact (name, status, one heat bar)
 * and each edge carries one particle, so a wall of 1,000 nodes stays light. The level changes
 * only once the view rests: switching hundreds of cards in the middle of a wheel gesture would
 * stall it.
 *
 * @module
 */
import { signal } from "@preact/signals";
import { viewport } from "./flow_model.ts";

/** Below this zoom, cards show only name, status and badges. */
export const COMPACT_BELOW = 0.42;

/** How long the view rests before the level follows the zoom. */
const SETTLE_MS = 250;

/** "full" or "compact"; changes only when the zoom crosses {@link COMPACT_BELOW}. */
export const lod = signal<"full" | "compact">("full");

/**
 * Makes {@link lod} follow the zoom: call `moved()` on every view change; `stop()` cancels a
 * pending update.
 *
 * @example
 * ```ts
 * const follow = followZoom();
 * attachViewport(pane, layer, () => follow.moved());
 * ```
 */
export function followZoom(): { moved: () => void; stop: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settle = () => {
    const level = viewport.transform[2] < COMPACT_BELOW ? "compact" : "full";
    if (lod.peek() !== level) lod.value = level;
  };
  return {
    moved: () => {
      clearTimeout(timer);
      timer = setTimeout(settle, SETTLE_MS);
    },
    stop: () => clearTimeout(timer),
  };
}
