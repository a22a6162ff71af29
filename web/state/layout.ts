/**
 * Where the operator dropped each node. Loaded once from `GET /api/v1/layout`, saved (debounced)
 * with `PUT` after a drag; nodes without a saved position are placed by the auto layout.
 *
 * @module
 */
import { signal } from "@preact/signals";
import type { Layout } from "../../shared/protocol.ts";
import { api } from "./api.ts";

/** Saved positions by node id (flow coordinates). */
export const savedPositions = signal<Record<string, { x: number; y: number }>>({});
/** The layout was loaded (the canvas waits for it so nodes do not jump). */
export const layoutLoaded = signal(false);
/** The last save failed with this message. */
export const layoutError = signal<string | null>(null);

/** Loads the saved layout. */
export async function loadLayout(): Promise<void> {
  try {
    savedPositions.value = (await api<Layout>("/layout")).positions;
  } catch {
    savedPositions.value = {};
  }
  layoutLoaded.value = true;
}

let timer: ReturnType<typeof setTimeout> | undefined;
let saving: Promise<unknown> = Promise.resolve();

/** Stores new positions and saves the whole layout shortly after the last change. */
export function movePositions(moved: Record<string, { x: number; y: number }>): void {
  const next = { ...savedPositions.value };
  for (const [id, p] of Object.entries(moved)) {
    next[id] = { x: Math.round(p.x), y: Math.round(p.y) };
  }
  savedPositions.value = next;
  clearTimeout(timer);
  timer = setTimeout(() => void saveLayout(), 300);
}

/** Saves now; resolves when the hub has the layout. */
export function saveLayout(): Promise<unknown> {
  clearTimeout(timer);
  const body: Layout = { positions: savedPositions.value };
  saving = saving.then(() =>
    api("/layout", { method: "PUT", body }).then(
      () => (layoutError.value = null),
      (err) => (layoutError.value = (err as Error).message),
    )
  );
  return saving;
}

/** Forgets every saved position (the auto layout takes over). */
export function resetLayout(): Promise<unknown> {
  savedPositions.value = {};
  return saveLayout();
}
