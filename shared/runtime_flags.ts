/**
 * V8 flags each program runs with: under `deno run` (the `start` task, the test helpers) and
 * baked into the compiled binaries (`deno compile --v8-flags`), so both behave the same.
 *
 * A small young generation keeps memory flat under a steady stream of short-lived objects
 * (request bodies, SSE frames): measured by `deno task bench`, the hub with 1,000 nodes and 20
 * SSE clients peaks at ~110 MB with 2 MB semi-spaces against ~165 MB with V8's default, for a
 * throughput cost within run-to-run noise; the agent saves ~5 MB with 1 MB.
 *
 * @module
 */

/** `--v8-flags` value for `fleet-hub`. */
export const HUB_V8_FLAGS = "--max-semi-space-size=2";

/** `--v8-flags` value for `fleet-agent`. */
export const AGENT_V8_FLAGS = "--max-semi-space-size=1";
