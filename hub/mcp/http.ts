/**
 * The MCP server over Streamable HTTP, stateless: every POST gets a fresh server and transport,
 * so no session state lives in the hub and any hub process can answer any request.
 *
 * @module
 */
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { ApiClient } from "../../shared/api_client.ts";
import { buildMcpServer, type McpServerOptions } from "./server.ts";

/** Answers one MCP request (JSON-RPC over POST) with a server built over `api`. */
export async function answerMcpRequest(
  req: Request,
  api: ApiClient,
  options: McpServerOptions,
): Promise<Response> {
  if (req.method !== "POST") {
    // Stateless: no stream to open (GET) and no session to end (DELETE).
    return Response.json({
      jsonrpc: "2.0",
      error: { code: -32000, message: `${req.method} is not offered: this endpoint is stateless` },
      id: null,
    }, { status: 405, headers: { allow: "POST" } });
  }
  const server = await buildMcpServer(api, options);
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await server.connect(transport);
  try {
    return await transport.handleRequest(req);
  } finally {
    // The JSON answer is complete once handleRequest resolves: nothing stays open.
    await server.close();
  }
}
