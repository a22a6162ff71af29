/**
 * libc through `Deno.dlopen`, for the few calls Deno has no API for (statfs, a symlink's own
 * times). Only where the structs these callers pass have the layout they assume: 64-bit Linux
 * (x86_64, aarch64) with glibc. Elsewhere, or when it cannot be opened, callers get null and use
 * their fallback.
 *
 * @module
 */

/**
 * Opens libc with `symbols`, or null where that is not possible.
 *
 * @example
 * ```ts
 * const lib = openLibc({ getpid: { parameters: [], result: "i32" } } as const);
 * ```
 */
export function openLibc<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): Deno.DynamicLibrary<S> | null {
  try {
    return Deno.build.os === "linux" &&
        (Deno.build.arch === "x86_64" || Deno.build.arch === "aarch64")
      ? Deno.dlopen("libc.so.6", symbols)
      : null;
  } catch {
    return null;
  }
}
