/**
 * V8 flags each program runs with: under `deno run` (the `start` task, the test helpers) and
 * baked into the compiled binaries (`deno compile --v8-flags`), so both behave the same.
 *
 * The hub's old generation grows by 25 % over what survived the last full collection instead of
 * V8's adaptive factor (up to 4×): under saturating ingest short-lived request objects get
 * promoted faster than a mark-compact runs, and V8 let the old space climb from a ~30 MB live set
 * to ~100 MB. Measured by `deno task bench` on a shared 2-core machine: hub RSS 155–172 MB against
 * 238–241 MB at 1 sample/request, 177–190 against 272–283 MB at 10, 230–239 against 377 MB in a
 * flood, for 10–15 % less ingest throughput (the full collections, mostly on the second core).
 * 4 MB semi-spaces promote less than 2 MB ones for the same memory; the agent saves ~5 MB with 1 MB.
 *
 * @module
 */

/** `--v8-flags` value for `fleet-hub`. */
export const HUB_V8_FLAGS = "--max-semi-space-size=4,--heap-growing-percent=25";

/** `--v8-flags` value for `fleet-agent`. */
export const AGENT_V8_FLAGS = "--max-semi-space-size=1";
