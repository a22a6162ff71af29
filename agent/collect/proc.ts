/**
 * The procfs collector: CPU (total and per core, with MHz), load, memory, swap, uptime, disk I/O
 * rates per whole block device and network rates per interface, all read below `<root>/proc` and
 * `<root>/sys/devices/system/cpu`. Rates come from the difference between two calls, so the first
 * call of an instance returns no `cpu`, `disk_io` or `net` (absent, never zeros).
 *
 * @module
 */
import type { CollectContext, Collector } from "./collector.ts";
import type { CpuCore, SampleMetrics } from "../../shared/protocol/mod.ts";
import { readDirNames, readTextFile } from "./io_gate.ts";

/** Counters of one /proc/stat cpu line: busy and total jiffies. */
interface CpuTimes {
  busy: number;
  total: number;
}

/** Everything a later call needs to turn counters into rates. */
interface Previous {
  now: number;
  cpuTotal?: CpuTimes;
  cores: Map<number, CpuTimes>;
  disks: Map<string, { read: number; write: number }>;
  nets: Map<string, { rx: number; tx: number }>;
}

const SECTOR_BYTES = 512;

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readTextFile(path);
  } catch (err) {
    // A file that the kernel (or a fixture) lacks is an absent field, not a broken source.
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw err;
  }
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function clampPct(value: number): number {
  return Math.min(100, Math.max(0, value));
}

/** Parses /proc/stat into the aggregate line and per-core lines (keyed by core number). */
function parseStat(text: string): { total?: CpuTimes; cores: Map<number, CpuTimes> } {
  const cores = new Map<number, CpuTimes>();
  let total: CpuTimes | undefined;
  for (const line of text.split("\n")) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already
    // counted in user/nice, so only the first eight fields make up the total.
    const f = m[2].trim().split(/\s+/).slice(0, 8).map(Number);
    if (f.length < 4 || f.some((n) => !Number.isFinite(n))) continue;
    const sum = f.reduce((a, b) => a + b, 0);
    const idle = f[3] + (f[4] ?? 0);
    const times = { busy: sum - idle, total: sum };
    if (m[1] === "") total = times;
    else cores.set(Number(m[1]), times);
  }
  return { total, cores };
}

function pctBetween(prev: CpuTimes | undefined, cur: CpuTimes): number | undefined {
  if (!prev) return undefined;
  const dt = cur.total - prev.total;
  const db = cur.busy - prev.busy;
  // A counter that went backwards (CPU hot-plugged back in) or did not move has no rate.
  if (dt <= 0 || db < 0) return undefined;
  return round(clampPct((db / dt) * 100));
}

/** Parses a kernel CPU list such as `0-3,6` (sysfs `present`) into the highest index + 1. */
function cpuCountFromList(text: string): number | undefined {
  let max = -1;
  for (const part of text.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    max = Math.max(max, Number(m[2] ?? m[1]));
  }
  return max >= 0 ? max + 1 : undefined;
}

/** Per-core MHz from cpufreq (kHz) when present, else from the `cpu MHz` lines of cpuinfo. */
async function readCoreMhz(root: string, count: number): Promise<Map<number, number>> {
  const mhz = new Map<number, number>();
  const reads = [];
  for (let i = 0; i < count; i++) {
    const path = `${root}/sys/devices/system/cpu/cpu${i}/cpufreq/scaling_cur_freq`;
    reads.push(
      readOptional(path).catch(() => undefined).then((text) => {
        const khz = Number(text?.trim());
        if (text !== undefined && Number.isFinite(khz) && khz > 0) mhz.set(i, round(khz / 1000, 1));
      }),
    );
  }
  await Promise.all(reads);
  if (mhz.size > 0) return mhz;
  const cpuinfo = await readOptional(`${root}/proc/cpuinfo`);
  if (!cpuinfo) return mhz;
  let processor = -1;
  for (const line of cpuinfo.split("\n")) {
    const p = /^processor\s*:\s*(\d+)/.exec(line);
    if (p) processor = Number(p[1]);
    const m = /^cpu MHz\s*:\s*([\d.]+)/.exec(line);
    if (m && processor >= 0) mhz.set(processor, round(Number(m[1]), 1));
  }
  return mhz;
}

function parseMeminfo(text: string): Map<string, number> {
  const kb = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(line);
    if (m) kb.set(m[1], Number(m[2]) * 1024);
  }
  return kb;
}

function memFromMeminfo(text: string): Pick<SampleMetrics, "mem" | "swap"> {
  const b = parseMeminfo(text);
  const out: Pick<SampleMetrics, "mem" | "swap"> = {};
  const total = b.get("MemTotal");
  if (total !== undefined && total > 0) {
    // Kernels before 3.14 lack MemAvailable; free + page cache is what they would have reported.
    const available = b.get("MemAvailable") ??
      (b.get("MemFree") ?? 0) + (b.get("Buffers") ?? 0) + (b.get("Cached") ?? 0);
    const used = Math.max(0, total - available);
    out.mem = {
      total_b: total,
      used_b: used,
      available_b: available,
      pct: round(clampPct((used / total) * 100)),
    };
  }
  const swapTotal = b.get("SwapTotal");
  const swapFree = b.get("SwapFree");
  if (swapTotal !== undefined && swapFree !== undefined) {
    const used = Math.max(0, swapTotal - swapFree);
    out.swap = {
      total_b: swapTotal,
      used_b: used,
      available_b: swapFree,
      pct: swapTotal > 0 ? round(clampPct((used / swapTotal) * 100)) : 0,
    };
  }
  return out;
}

/** True for names of partitions, as a fallback when `<root>/sys/block` cannot be listed. */
function looksLikePartition(name: string): boolean {
  return /^(?:[shv]d|xvd)[a-z]+\d+$/.test(name) ||
    /^(?:nvme\d+n\d+|mmcblk\d+|md\d+|nbd\d+)p\d+$/.test(name);
}

/** Devices that never carry useful I/O (loop, ram disks, zram swap, eMMC boot areas). */
function isIgnoredDisk(name: string): boolean {
  return /^(?:loop|ram|zram)\d*/.test(name) || /^mmcblk\d+(?:boot\d+|rpmb)$/.test(name);
}

async function listWholeDisks(root: string): Promise<Set<string> | undefined> {
  try {
    return new Set(await readDirNames(`${root}/sys/block`));
  } catch {
    return undefined;
  }
}

function parseDiskstats(
  text: string,
  whole: Set<string> | undefined,
): Map<string, { read: number; write: number }> {
  const disks = new Map<string, { read: number; write: number }>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const name = f[2];
    if (isIgnoredDisk(name)) continue;
    if (whole ? !whole.has(name) : looksLikePartition(name)) continue;
    const read = Number(f[5]) * SECTOR_BYTES;
    const write = Number(f[9]) * SECTOR_BYTES;
    if (Number.isFinite(read) && Number.isFinite(write)) disks.set(name, { read, write });
  }
  return disks;
}

function parseNetDev(text: string): Map<string, { rx: number; tx: number }> {
  const nets = new Map<string, { rx: number; tx: number }>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const iface = line.slice(0, colon).trim();
    if (!iface || iface === "lo" || iface.includes("|")) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 9 || !Number.isFinite(f[0]) || !Number.isFinite(f[8])) continue;
    nets.set(iface, { rx: f[0], tx: f[8] });
  }
  return nets;
}

function rate(prev: number | undefined, cur: number, seconds: number): number | undefined {
  // A counter that went backwards was reset (device re-added, driver reloaded): skip one round.
  if (prev === undefined || cur < prev || seconds <= 0) return undefined;
  return round((cur - prev) / seconds, 1);
}

/**
 * Creates the procfs collector. Each instance keeps its previous counters, so use one instance per
 * node for the whole life of the agent.
 *
 * @example
 * ```ts
 * const proc = createProcCollector();
 * await proc.collect({ root: "/", now: Date.now() }); // no rates yet
 * const m = await proc.collect({ root: "/", now: Date.now() + 5000 }); // m.cpu, m.net, m.disk_io
 * ```
 */
export function createProcCollector(): Collector {
  let prev: Previous | undefined;

  async function collect(ctx: CollectContext): Promise<Partial<SampleMetrics>> {
    const { root, now } = ctx;
    const [stat, present, loadavg, meminfo, uptime, diskstats, netdev, whole] = await Promise.all([
      readOptional(`${root}/proc/stat`),
      readOptional(`${root}/sys/devices/system/cpu/present`),
      readOptional(`${root}/proc/loadavg`),
      readOptional(`${root}/proc/meminfo`),
      readOptional(`${root}/proc/uptime`),
      readOptional(`${root}/proc/diskstats`),
      readOptional(`${root}/proc/net/dev`),
      listWholeDisks(root),
    ]);
    const out: Partial<SampleMetrics> = {};
    const next: Previous = { now, cores: new Map(), disks: new Map(), nets: new Map() };
    const seconds = prev ? (now - prev.now) / 1000 : 0;

    if (stat !== undefined) {
      const parsed = parseStat(stat);
      next.cpuTotal = parsed.total;
      next.cores = parsed.cores;
      const total = parsed.total ? pctBetween(prev?.cpuTotal, parsed.total) : undefined;
      if (total !== undefined) {
        // Offline cores (Jetson hot-plug, nvpmodel) vanish from /proc/stat; `present` tells how
        // many there are so they still show up, as offline.
        const seen = parsed.cores.size ? Math.max(...parsed.cores.keys()) + 1 : 0;
        const count = Math.max(seen, present ? cpuCountFromList(present) ?? 0 : 0);
        const mhz = await readCoreMhz(root, count);
        const cores: CpuCore[] = [];
        for (let i = 0; i < count; i++) {
          const cur = parsed.cores.get(i);
          if (!cur) {
            cores.push({ online: false });
            continue;
          }
          const core: CpuCore = { online: true };
          const pct = pctBetween(prev?.cores.get(i), cur);
          if (pct !== undefined) core.pct = pct;
          const m = mhz.get(i);
          if (m !== undefined) core.mhz = m;
          cores.push(core);
        }
        out.cpu = cores.length ? { pct: total, cores } : { pct: total };
      }
    }

    if (loadavg !== undefined) {
      const [l1, l5, l15] = loadavg.trim().split(/\s+/).map(Number);
      if ([l1, l5, l15].every((n) => Number.isFinite(n) && n >= 0)) out.load = { l1, l5, l15 };
    }

    if (meminfo !== undefined) Object.assign(out, memFromMeminfo(meminfo));

    if (uptime !== undefined) {
      const up = Number(uptime.trim().split(/\s+/)[0]);
      if (Number.isFinite(up) && up >= 0) out.uptime_s = up;
    }

    if (diskstats !== undefined) {
      next.disks = parseDiskstats(diskstats, whole);
      const io = [];
      for (const [device, cur] of next.disks) {
        const p = prev?.disks.get(device);
        const read = rate(p?.read, cur.read, seconds);
        const write = rate(p?.write, cur.write, seconds);
        if (read !== undefined && write !== undefined) {
          io.push({ device, read_bps: read, write_bps: write });
        }
      }
      if (prev && io.length) out.disk_io = io.slice(0, 256);
    }

    if (netdev !== undefined) {
      next.nets = parseNetDev(netdev);
      const net = [];
      for (const [iface, cur] of next.nets) {
        const p = prev?.nets.get(iface);
        const rx = rate(p?.rx, cur.rx, seconds);
        const tx = rate(p?.tx, cur.tx, seconds);
        if (rx !== undefined && tx !== undefined) {
          net.push({ iface, rx_bps: rx, tx_bps: tx, rx_b: cur.rx, tx_b: cur.tx });
        }
      }
      if (prev && net.length) out.net = net.slice(0, 256);
    }

    prev = next;
    return out;
  }

  return { name: "proc", collect };
}
