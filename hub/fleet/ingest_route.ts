/**
 * `POST /api/v1/ingest` in its usual form answered without the framework: a node's bearer token,
 * a declared length within the body limit, a JSON body. That is every batch an agent sends, and
 * the framework's router, context and middleware chain cost it 2–10 % of its throughput at
 * 1 sample/request (profile pairs). Any other request to the route (another credential or none, a chunked or too
 * large body, another media type) goes to the app, whose route answers it and its errors.
 *
 * The checks, the admission bound, the service call, the problems and the security headers are
 * the route's own (`routes.ts`), so both ways answer alike; a test holds them to it. A large body
 * (a replayed backlog) is parsed and checked on the parse thread when the hub runs one
 * (`batch_parser.ts`, held by the fleet's nodes service).
 *
 * @module
 */
import type { Hono } from "hono";
import { type IngestAck, IngestBatch } from "../../shared/protocol/mod.ts";
import type { HubServices } from "../core/services.ts";
import { bearerSecret, type Principal } from "../core/auth.ts";
import { answerHeaders, errorResponse, INGEST_PATH as PATH } from "../core/app.ts";
import { BadInput, MALFORMED_JSON } from "../core/errors.ts";
import { checker, usedAsParsed } from "../core/validate.ts";
import { Overloaded, refuse } from "./admission.ts";
import { sampleTexts } from "./sample_text.ts";

/** Decodes as `Request.text()` does (a BOM dropped, bad bytes replaced). */
const UTF8 = new TextDecoder();

/** The media types the framework's JSON validator reads (others get an empty body there). */
const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** The path of `url` (an absolute URL as the server gives it), without parsing it. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  return start < 0 ? "/" : url.slice(start);
}

/**
 * The hub's request handler: ingest in its usual form here, everything else to `app`.
 *
 * @example
 * ```ts
 * Deno.serve({ port: 8765 }, await ingestFirst(buildApp(services), services));
 * ```
 */
export async function ingestFirst(
  app: Hono,
  s: HubServices,
): Promise<(request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>> {
  const security = await answerHeaders(app, PATH);
  const jsonHeaders: [string, string][] = [...security, ["content-type", "application/json"]];
  const check = checker("json", IngestBatch, { markAsParsed: true });
  const maxBody = s.config.maxBodyBytes;
  const parser = s.nodes.parser;

  /** With the security headers, as the app's middleware would set them. */
  const secured = (response: Response): Response => {
    for (const [name, value] of security) response.headers.set(name, value);
    return response;
  };

  /** The app's answer to an error (a problem; a logged 500 for an unexpected one). */
  const failed = (error: unknown): Response => secured(errorResponse(error, "POST", PATH, maxBody));

  const answer = (ack: IngestAck): Response =>
    new Response(JSON.stringify(ack), { headers: jsonHeaders });

  async function ingest(request: Request, nodeId: string, bytes: number): Promise<Response> {
    try {
      s.nodes.gate.enter(bytes);
    } catch (error) {
      if (error instanceof Overloaded) return secured(refuse(request, error));
      return failed(error);
    }
    try {
      let text: string;
      // As the app's JSON validator: a body that cannot be read (the client went away
      // mid-upload) or parsed is bad input, not a failure of the hub.
      if (parser?.takes(bytes)) {
        let body: ArrayBuffer;
        try {
          body = await request.arrayBuffer();
        } catch {
          throw new BadInput(MALFORMED_JSON);
        }
        if (parser.takes(bytes)) {
          const parsed = await parser.parse(body);
          if ("batch" in parsed) return answer(await s.nodes.ingest(nodeId, parsed.batch));
          // Not passed by the fast check: zod decides, here.
          text = parsed.text;
        } else text = UTF8.decode(body); // the thread stopped while the body was read
      } else {
        try {
          text = await request.text();
        } catch {
          throw new BadInput(MALFORMED_JSON);
        }
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new BadInput(MALFORMED_JSON);
      }
      const batch = check(value);
      // Each sample's own text from the body, when zod did not rewrite the batch.
      const texts = usedAsParsed(batch) ? sampleTexts(text) : undefined;
      return answer(await s.nodes.ingest(nodeId, batch, texts));
    } catch (error) {
      return failed(error);
    } finally {
      s.nodes.gate.leave(bytes);
    }
  }

  return (request, info) => {
    if (request.method !== "POST" || pathOf(request.url) !== PATH) return app.fetch(request, info);
    const headers = request.headers;
    const authorization = headers.get("authorization");
    const length = headers.get("content-length");
    const type = headers.get("content-type");
    if (
      authorization === null || length === null || type === null ||
      headers.has("transfer-encoding") || !JSON_TYPE.test(type.split(";")[0].trim())
    ) return app.fetch(request, info);
    const bytes = Number(length);
    const secret = bearerSecret(authorization);
    let principal: Principal | undefined;
    try {
      principal = secret ? s.verifier.verify(secret) : undefined;
    } catch (error) {
      return failed(error);
    }
    if (!(bytes > 0 && bytes <= maxBody) || principal?.kind !== "node") {
      return app.fetch(request, info);
    }
    return ingest(request, principal.node_id, bytes);
  };
}
