/**
 * The wire protocol of Fleet Commander, version 1: one zod schema per message, shared by hub,
 * agent, web UI, MCP server and tests. The hub validates at its HTTP edge with these schemas and
 * trusts the parsed values inside.
 *
 * Conventions: times are milliseconds since the Unix epoch (`ts`), sizes are bytes (`_b`), rates
 * are per second (`_bps` = bytes per second), power is milliwatts (`_mw`), temperatures are
 * degrees Celsius (`_c`). A source that a node lacks is an absent field, never an error.
 *
 * One file per message family; this module re-exports them all.
 *
 * @module
 */
export * from "./enums.ts";
export * from "./common.ts";
export * from "./samples.ts";
export * from "./nodes.ts";
export * from "./tokens.ts";
export * from "./api.ts";
export * from "./jobs.ts";
export * from "./roamers.ts";
export * from "./control.ts";
export * from "./events.ts";
export * from "./canvas.ts";
export * from "./network.ts";
export * from "./links.ts";
export * from "./node_actions.ts";
export * from "./alerts.ts";
export * from "./swarm.ts";
export * from "./backups.ts";
