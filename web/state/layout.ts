/**
 * Where the operator dropped each node. Loaded once from `GET /api/v1/layout`, saved (debounced)
 * with `PUT` after a drag; nodes without a saved position are placed by the auto layout.
 *
 * @module
 */
import { signal } from "@preact/signals";
import type { Layout } from "../../shared/protocol/mod.ts";
import { api } from "./api.ts";

/** Saved positions by node id (flow coordinates). */
export const savedPositions = signal<Record<string, { x: number; y: number }>>({});
/** Where the operator put the hub, if they moved it. */
export const savedHub = signal<{ x: number; y: number } | undefined>(undefined);
/** The layout was loaded (the canvas waits for it so nodes do not jump). */
export const layoutLoaded = signal(false);
/** The last save failed with this message. */
export const layoutError = signal<string | null>(null);

/** Loads the saved layout. */
export async function loadLayout(): Promise<void> {
  try {
    const layout = await api.layout();
    savedPositions.value = layout.positions;
    savedHub.value = layout.hub;
  } catch {
    savedPositions.value = {};
  }
  layoutLoaded.value = true;
}

let timer: ReturnType<typeof setTimeout> | undefined;
let saving: Promise<unknown> = Promise.resolve();

/** Stores new positions (`hub` for the hub) and saves the layout shortly after the last change. */
export function movePositions(
  moved: Record<string, { x: number; y: number }>,
  hub?: { x: number; y: number },
): void {
  const next = { ...savedPositions.value };
  for (const [id, p] of Object.entries(moved)) {
    next[id] = { x: Math.round(p.x), y: Math.round(p.y) };
  }
  savedPositions.value = next;
  if (hub) savedHub.value = { x: Math.round(hub.x), y: Math.round(hub.y) };
  clearTimeout(timer);
  timer = setTimeout(() => void saveLayout(), 300);
}

/** Saves now; resolves when the hub has the layout. */
export function saveLayout(): Promise<unknown> {
  clearTimeout(timer);
  const body: Layout = { positions: savedPositions.value, hub: savedHub.value };
  saving = saving.then(() =>
    api.saveLayout(body).then(
      () => (layoutError.value = null),
      (err) => (layoutError.value = (err as Error).message),
    )
  );
  return saving;
}

/** Forgets every saved position (the auto layout takes over). */
export function resetLayout(): Promise<unknown> {
  savedPositions.value = {};
  savedHub.value = undefined;
  return saveLayout();
}
