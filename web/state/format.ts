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

/** "+2 min", "−5 y": how far a node's clock is off the hub's (positive: ahead). */
export function formatSkew(seconds: number): string {
  const a = Math.abs(seconds);
  const text = a < 120
    ? `${a} s`
    : a < 7200
    ? `${Math.round(a / 60)} min`
    : a < 172_800
    ? `${Math.round(a / 3600)} h`
    : a < 63_115_200
    ? `${Math.round(a / 86_400)} d`
    : `${Math.round(a / 31_557_600)} y`;
  return `${seconds < 0 ? "−" : "+"}${text}`;
}

/** The tooltip of a clock-skew chip. */
export function skewTitle(seconds: number): string {
  return `this node's clock is ${Math.abs(seconds)} s ${seconds < 0 ? "behind" : "ahead of"} ` +
    "the hub's; its samples are placed on the hub's time";
}
