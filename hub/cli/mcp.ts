/**
 * `fleet-hub mcp`: the fleet's MCP server on stdio, talking to a running hub over its HTTP API
 * (so an assistant on a laptop can drive a remote fleet). stdout carries the protocol and
 * nothing else; logs go to stderr.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import { EXIT_CODES_HELP, RefusedError, UsageError } from "../../shared/cli.ts";
import { checkHubUrl } from "./client.ts";
import { getLogger } from "../../shared/log.ts";
import { buildMcpServer, MCP_CLIENT_HEADER } from "../mcp/server.ts";

/** Help of `mcp`. */
export const MCP_HELP = `Usage: fleet-hub mcp [options]

Serves the fleet to an AI assistant over MCP on stdin/stdout.

Options:
  --hub URL      hub address, with http:// or https://
                                      [env FLEET_HUB, default http://127.0.0.1:8765]
  --token T      admin or viewer token [env FLEET_TOKEN]
  --read-only    offer only read-only tools [env FLEET_MCP_READ_ONLY=1]
  -h, --help

A viewer token gets the read-only tools only.

${EXIT_CODES_HELP}
`;

/** `fleet-hub mcp`. */
export async function mcpCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      hub: { type: "string" },
      token: { type: "string" },
      "read-only": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.error(MCP_HELP);
    return 0;
  }
  // Anything printed to stdout would corrupt the protocol stream: send stray prints to stderr.
  console.log = console.error;
  console.info = console.error;
  const hub = values.hub ?? Deno.env.get("FLEET_HUB") ?? "http://127.0.0.1:8765";
  const token = values.token ?? Deno.env.get("FLEET_TOKEN");
  checkHubUrl(hub);
  if (!token) throw new UsageError("no token: pass --token or set FLEET_TOKEN");
  const envReadOnly = (Deno.env.get("FLEET_MCP_READ_ONLY") ?? "").toLowerCase();
  const readOnly = values["read-only"] === true || ["1", "true", "yes"].includes(envReadOnly);
  const logger = getLogger("mcp");
  const api = new ApiClient({ hub, token, timeoutMs: 30_000, headers: MCP_CLIENT_HEADER });
  // A token the hub refuses would make every tool fail: say so now. A hub that is down at start
  // is allowed (its tools report it until it is back).
  let tokenKind: string | undefined;
  try {
    tokenKind = (await api.session()).kind;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      throw new RefusedError(
        `the hub refused this token (${error.status}): check --token or FLEET_TOKEN`,
      );
    }
  }
  const server = await buildMcpServer(api, { readOnly, tokenKind });
  const transport = new StdioServerTransport();
  const closed = Promise.withResolvers<void>();
  transport.onclose = () => closed.resolve();
  server.server.onclose = () => closed.resolve();
  await server.connect(transport);
  logger.info("mcp server on stdio", { hub, read_only: readOnly });
  // The client closing our stdin ends the session (the transport itself does not watch for it).
  process.stdin.once("end", () => closed.resolve());
  await closed.promise;
  return 0;
}
