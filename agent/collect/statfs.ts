/**
 * statfs(2) of a path. Deno has no statfs of its own, and `node:fs` would load Node's file-system
 * layer (~7 MB of the agent's memory) for this one call, so the agent calls libc directly
 * (`Deno.dlopen`, nonblocking: on its own thread, like node's). Where libc cannot be opened (not
 * glibc) it falls back to `node:fs`, loaded then.
 *
 * @module
 */
import { lazyImport } from "../../shared/lazy_import.ts";
import { openLibc } from "../../shared/libc.ts";

/** The statfs fields the disks collector uses (counts in units of `frsize`). */
export interface FsStats {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

const SYMBOLS = {
  statfs: { parameters: ["buffer", "buffer"], result: "i32", nonblocking: true },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>;

let libc: Libc | null | undefined;

/** libc, opened once; the struct statfs read below is the 64-bit Linux layout. */
function libcOnce(): Libc | null {
  if (libc === undefined) libc = openLibc(SYMBOLS);
  return libc;
}

/** statfs(2) of `path`; undefined when it fails (missing, unreadable). */
export async function statfs(path: string): Promise<FsStats | undefined> {
  const lib = libcOnce();
  if (!lib) {
    const { promises } = await lazyImport<typeof import("node:fs")>(import.meta.url, "node:fs");
    const s = await promises.statfs(path).catch(() => undefined);
    if (!s) return undefined;
    const frsize = (s as { frsize?: number }).frsize || s.bsize;
    return { bsize: s.bsize, frsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail };
  }
  // 64-bit struct statfs: f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree,
  // f_fsid, f_namelen, f_frsize, f_flags, f_spare[4]: 15 words of 8 bytes.
  const buf = new BigUint64Array(15);
  const rc = await lib.symbols.statfs(new TextEncoder().encode(`${path}\0`), buf);
  if (rc !== 0) return undefined;
  const bsize = Number(buf[1]);
  return {
    bsize,
    frsize: Number(buf[9]) || bsize,
    blocks: Number(buf[2]),
    bfree: Number(buf[3]),
    bavail: Number(buf[4]),
  };
}
