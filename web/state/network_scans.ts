/**
 * Network scans in the UI: the recent scans (loaded once, then kept current by `network.scan`
 * events on the one stream — progress included, no polling) and the one whose result is shown.
 *
 * @module
 */
import { signal } from "@preact/signals";
import type { NetworkScan } from "../../shared/protocol/mod.ts";
import { api } from "./api.ts";
import { onEvent, onResync } from "./stream.ts";

/** Recent scans, newest first (without results). */
export const scans = signal<NetworkScan[]>([]);
/** The scan whose result is open, with its result once loaded. */
export const openScan = signal<NetworkScan | null>(null);
/** Why the list could not be loaded. */
export const scansError = signal<string | null>(null);

const LIMIT = 50;
let subscribed = false;

/** Loads the recent scans and follows the stream from then on. */
export async function loadScans(): Promise<void> {
  if (!subscribed) {
    subscribed = true;
    onEvent("network.scan", (e) => applyScan(e.scan));
    onResync(() => void loadScans());
  }
  try {
    scans.value = await api.networkScans({ limit: LIMIT });
    scansError.value = null;
  } catch (err) {
    scansError.value = (err as Error).message;
  }
}

function applyScan(s: NetworkScan): void {
  const list = scans.value.filter((x) => x.id !== s.id);
  scans.value = [s, ...list].sort((a, b) => b.created_at - a.created_at).slice(0, LIMIT);
  const open = openScan.value;
  if (open?.id === s.id) {
    // The end carries no result: fetch it once; progress just updates the header.
    if (s.state !== "running" && open.state === "running") void showScan(s.id);
    else openScan.value = { ...open, ...s, result: open.result };
  }
}

/** Opens a scan's result (fetched with it). */
export async function showScan(id: string): Promise<void> {
  const known = scans.value.find((s) => s.id === id);
  if (known) openScan.value = known;
  try {
    openScan.value = await api.networkScan(id);
  } catch (err) {
    scansError.value = (err as Error).message;
  }
}
