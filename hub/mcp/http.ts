/**
 * The MCP server over Streamable HTTP, stateless: every POST gets a fresh server and transport,
 * so no session state lives in the hub and any hub process can answer any request. The answer is
 * plain JSON, or an SSE stream when the request carries a progress token (progress notifications
 * then precede the result on the same response).
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
  // A JSON answer cannot carry progress notifications: a request asking for them gets SSE.
  const streamed = wantsProgress(await req.clone().json().catch(() => undefined));
  const server = await buildMcpServer(api, options);
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: !streamed,
  });
  await server.connect(transport);
  let res: Response;
  try {
    res = await transport.handleRequest(req);
  } catch (error) {
    await server.close();
    throw error;
  }
  if (!streamed || !res.body) {
    // The JSON answer is complete once handleRequest resolves: nothing stays open.
    await server.close();
    return res;
  }
  // The SSE stream ends after the answer (or when the client goes): only then close the server.
  const close = () => void server.close();
  const body = res.body.pipeThrough(new TransformStream({ flush: close, cancel: close }));
  return new Response(body, { status: res.status, headers: res.headers });
}

/** Whether a JSON-RPC message (or batch) asks for progress (`params._meta.progressToken`). */
function wantsProgress(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) =>
    (m as { params?: { _meta?: { progressToken?: unknown } } } | null)?.params?._meta
      ?.progressToken !== undefined
  );
}
