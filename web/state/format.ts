/**
 * Number formatting shared by cards, panels and charts.
 *
 * @module
 */

/** 1.5 GB, 320 MB … (base 1024, as `free` and `df -h` show). */
export function formatBytes(b: number | null | undefined): string {
  if (b === null || b === undefined || !Number.isFinite(b)) return "—";
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${b >= 100 || i === 0 ? Math.round(b) : b.toFixed(1)} ${units[i]}`;
}

/** A rate in bytes per second as bits: 12.4 Mb/s. */
export function formatBitRate(bps: number | null | undefined): string {
  if (bps === null || bps === undefined || !Number.isFinite(bps)) return "—";
  let v = bps * 8;
  const units = ["b/s", "kb/s", "Mb/s", "Gb/s"];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** 37 % */
export function formatPct(v: number | null | undefined): string {
  return v === null || v === undefined ? "—" : `${Math.round(v)} %`;
}

/** 12.3 W from milliwatts. */
export function formatWatts(mw: number | null | undefined): string {
  return mw === null || mw === undefined ? "—" : `${(mw / 1000).toFixed(mw >= 100_000 ? 0 : 1)} W`;
}

/** 54 °C */
export function formatTemp(c: number | null | undefined): string {
  return c === null || c === undefined ? "—" : `${Math.round(c)} °C`;
}

/** A local date-time for tables. */
export function formatTime(ts: number | null | undefined): string {
  if (!ts) return "—";
  const d = new Date(ts);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return d.toDateString() === today.toDateString()
    ? time
    : `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}
