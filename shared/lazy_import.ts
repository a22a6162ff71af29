/**
 * Loads a module the first time it is needed, outside the module graph Deno builds before a
 * program starts. `deno run` reads, analyses and keeps every module a literal `import("./x.ts")`
 * names, with the npm packages behind it, whether or not the run ever calls it: ~5 MB of an
 * agent's memory for exec, terminals, backups, YAML and zod that most runs never touch. A URL
 * built at run time is not followed, so `deno compile` must be told about each module it names:
 * `bootstrap/dist.ts` lists them with `--include`, and a unit test holds that list to the calls.
 *
 * ```ts
 * const { ExecRunner } = await lazyImport<typeof import("./exec.ts")>(import.meta.url, "./exec.ts");
 * ```
 *
 * @module
 */

/** Imports `specifier` resolved against `base`, the caller's `import.meta.url`. */
export function lazyImport<T>(base: string, specifier: string): Promise<T> {
  return import(new URL(specifier, base).href);
}
