/**
 * Sets the modification (and access) time of a symlink itself, not of what it points to: Deno's
 * `utime` follows links. Calls libc's `utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW)`
 * (`Deno.dlopen`, nonblocking), or `touch -h` where libc cannot be opened (not glibc).
 *
 * @module
 */
import { openLibc } from "./libc.ts";

const SYMBOLS = {
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32", nonblocking: true },
} as const;

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

let libc: Deno.DynamicLibrary<typeof SYMBOLS> | null | undefined;

/**
 * Sets `path`'s own atime and mtime to `mtimeMs` (ms since the epoch) without following a symlink;
 * false when it could not.
 *
 * @example
 * ```ts
 * await Deno.symlink("target", "/tmp/link");
 * await lutimes("/tmp/link", Date.UTC(2020, 0, 1));
 * ```
 */
export async function lutimes(path: string, mtimeMs: number): Promise<boolean> {
  const sec = Math.floor(mtimeMs / 1000);
  const nsec = Math.round((mtimeMs - sec * 1000) * 1e6);
  // struct timespec is two 64-bit words on the 64-bit Linux that openLibc accepts.
  const lib = libc === undefined ? (libc = openLibc(SYMBOLS)) : libc;
  if (lib) {
    const times = new BigInt64Array([BigInt(sec), BigInt(nsec), BigInt(sec), BigInt(nsec)]);
    const rc = await lib.symbols.utimensat(
      AT_FDCWD,
      new TextEncoder().encode(`${path}\0`),
      times,
      AT_SYMLINK_NOFOLLOW,
    );
    return rc === 0;
  }
  const stamp = `@${sec}.${String(nsec).padStart(9, "0")}`;
  const out = await new Deno.Command("touch", { args: ["-h", "-d", stamp, "--", path] }).output()
    .catch(() => null);
  return out?.success ?? false;
}
