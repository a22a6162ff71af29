/**
 * The filesystem-usage collector: one entry per real mounted filesystem listed in
 * `<root>/proc/mounts`, sized with statfs(2) of `<root>/<mount>` (`statfs.ts`). Pseudo
 * filesystems are skipped, a device mounted twice (bind mounts, btrfs subvolumes) is reported
 * once, and a mount whose path is missing or unreadable is left out.
 *
 * @module
 */
import { type FsStats, statfs } from "./statfs.ts";
import type { CollectContext, Collector } from "./collector.ts";
import type { SampleMetrics } from "../../shared/protocol/mod.ts";
import { readTextFile } from "./io_gate.ts";

type DiskUsage = NonNullable<SampleMetrics["disks"]>[number];

/** Filesystem types that hold user data; everything else (proc, tmpfs, overlay…) is skipped. */
const REAL_FS = new Set([
  "ext2",
  "ext3",
  "ext4",
  "xfs",
  "btrfs",
  "bcachefs",
  "vfat",
  "msdos",
  "exfat",
  "f2fs",
  "jfs",
  "reiserfs",
  "ntfs",
  "ntfs3",
  "fuseblk",
  "zfs",
  "nfs",
  "nfs4",
  "cifs",
  "smb3",
  "ceph",
]);

/**
 * How long one statfs may take: a hung NFS server must not stall the whole sample. Each runs
 * beside the others (not through the read gate), so dead mounts cost this once, not in turn;
 * the sampler's deadline for a collector is longer.
 */
export const STATFS_TIMEOUT_MS = 2000;

/** Mount paths in /proc/mounts escape space, tab, newline and backslash as octal. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** One real filesystem mount from /proc/mounts. */
export interface MountEntry {
  /** Source as /proc/mounts names it (`/dev/nvme0n1p1`, `server:/export`). */
  device: string;
  /** Mount point, unescaped (`/media/nvidia/USB STICK`). */
  mount: string;
  /** Filesystem type (`ext4`, `nfs4`…). */
  fs: string;
}

/** Parses /proc/mounts, keeping real filesystems and one mount (the shortest path) per device. */
export function parseMounts(text: string): MountEntry[] {
  const byDevice = new Map<string, MountEntry>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3) continue;
    const [device, rawMount, type] = f;
    if (!REAL_FS.has(type)) continue;
    const mount = unescapeMountPath(rawMount);
    if (!mount.startsWith("/")) continue;
    const seen = byDevice.get(device);
    if (!seen || mount.length < seen.mount.length) {
      byDevice.set(device, { device, mount, fs: type });
    }
  }
  return [...byDevice.values()];
}

function joinRoot(root: string, mount: string): string {
  if (root === "/" || root === "") return mount;
  return root.replace(/\/+$/, "") + mount;
}

async function statfsBounded(path: string): Promise<FsStats | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), STATFS_TIMEOUT_MS);
  });
  try {
    return await Promise.race([statfs(path).catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function usageOf(root: string, entry: MountEntry): Promise<DiskUsage | undefined> {
  const s = await statfsBounded(joinRoot(root, entry.mount));
  if (!s) return undefined;
  // f_frsize is the unit of the block counts.
  const unit = s.frsize || s.bsize;
  const total = s.blocks * unit;
  if (!(total > 0)) return undefined;
  const used = Math.max(0, (s.blocks - s.bfree) * unit);
  const avail = Math.max(0, s.bavail * unit);
  // Same percentage as df: blocks reserved for root count as neither used nor available.
  const pct = used + avail > 0 ? Math.round((used / (used + avail)) * 10000) / 100 : 0;
  return {
    mount: entry.mount.slice(0, 256),
    device: entry.device.slice(0, 256),
    fs: entry.fs,
    total_b: total,
    used_b: used,
    pct: Math.min(100, pct),
  };
}

/**
 * Creates the filesystem-usage collector. It keeps no state between calls.
 *
 * @example
 * ```ts
 * const disks = createDisksCollector();
 * const { disks: mounts } = await disks.collect({ root: "/", now: Date.now() });
 * ```
 */
export function createDisksCollector(): Collector {
  async function collect(ctx: CollectContext): Promise<Partial<SampleMetrics>> {
    let text: string;
    try {
      text = await readTextFile(`${ctx.root}/proc/mounts`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return {};
      throw err;
    }
    const entries = parseMounts(text).slice(0, 256);
    const usages = await Promise.all(entries.map((e) => usageOf(ctx.root, e)));
    const disks = usages.filter((u): u is DiskUsage => u !== undefined);
    return disks.length ? { disks } : {};
  }
  return { name: "disks", collect };
}
