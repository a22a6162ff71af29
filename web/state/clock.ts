/**
 * Time as the hub sees it. Ages ("last seen 12 s ago") are computed against the hub's clock,
 * corrected by the skew measured at each snapshot, so a browser with a wrong clock still tells a
 * quiet node from a dead one. `now` ticks once a second for those labels — a local timer, not a
 * network poll.
 *
 * @module
 */
import { signal } from "@preact/signals";

let skewMs = 0;

/** Hub time in ms, refreshed every second. */
export const now = signal(Date.now());

/** Records the hub's clock from a snapshot (`hub.now`). */
export function syncHubClock(hubNow: number): void {
  skewMs = hubNow - Date.now();
  now.value = hubNow;
}

/** Hub time now (not reactive). */
export function hubNow(): number {
  return Date.now() + skewMs;
}

setInterval(() => (now.value = hubNow()), 1000);

/** "4 s", "12 min", "3 h", "2 d" — the age of a timestamp. */
export function formatAge(ts: number | null | undefined, at = now.value): string {
  if (!ts) return "never";
  const s = Math.max(0, Math.round((at - ts) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

/** "3 d 4 h", "5 h 12 min" — a duration in seconds. */
export function formatUptime(seconds: number | undefined): string {
  if (seconds === undefined) return "—";
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  return `${m} min`;
}
