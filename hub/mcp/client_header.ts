/**
 * The header the MCP server's client sends, so the hub's audit entries say "via mcp". Its own
 * file: the hub's routes need it without loading the MCP server until a client calls.
 *
 * @module
 */

/** `x-fleet-client: mcp`. */
export const MCP_CLIENT_HEADER = { "x-fleet-client": "mcp" } as const;
