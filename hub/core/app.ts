/**
 * Assembles the hub's Hono app from its route modules and turns every error into an
 * `application/problem+json` answer. No logic of its own.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import { type ContentSecurityPolicyOptionHandler, NONCE, secureHeaders } from "hono/secure-headers";
import { BadInput, HttpProblem, NotFound, PayloadTooLarge } from "./errors.ts";
import type { HubServices } from "./services.ts";
import { fleetRoutes } from "../fleet/routes.ts";
import { jobRoutes } from "../jobs/routes.ts";
import { controlRoutes } from "../control/routes.ts";
import { onboardingRoutes } from "../onboarding/routes.ts";
import { configRoutes } from "./routes.ts";
import { swarmRoutes } from "../swarm/routes.ts";
import { mcpRoutes } from "../mcp/routes.ts";
import { linkRoutes } from "../network/links_routes.ts";
import { networkRoutes } from "../network/routes.ts";
import { backupRoutes } from "../backups/routes.ts";
import { healthRoutes, statsRoutes } from "./routes.ts";
import { webRoutes } from "../web.ts";
import { alertRoutes } from "../alerts/routes.ts";
import { metricsRoutes } from "../metrics/routes.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("http");

function problemResponse(p: HttpProblem): Response {
  return new Response(JSON.stringify(p.toProblem()), {
    status: p.status,
    headers: { "content-type": "application/problem+json" },
  });
}

/**
 * The problem answer to an error thrown while answering `method path`: typed errors become their
 * problem, the framework's own (e.g. malformed JSON) theirs, anything else a logged 500.
 */
export function errorResponse(
  error: unknown,
  method: string,
  path: string,
  maxBodyBytes: number,
): Response {
  if (error instanceof HttpProblem) return problemResponse(error);
  if (error instanceof HTTPException) {
    if (error.status === 400) return problemResponse(new BadInput(error.message));
    if (error.status === 413) return problemResponse(new PayloadTooLarge(maxBodyBytes));
    return problemResponse(new HttpProblem(error.status, "http", error.message, error.message));
  }
  logger.error("unhandled error", {
    method,
    path,
    error: (error as Error).message,
    stack: (error as Error).stack,
  });
  return problemResponse(
    new HttpProblem(500, "internal", "Internal error", "the hub failed; see its log"),
  );
}

/** The ingest route, whose answers go to agents only (see {@link buildApp}'s headers). */
export const INGEST_PATH = "/api/v1/ingest";

/**
 * The security headers the app sets on the answers of `POST path`, read from its answer to a
 * request without a credential: for a handler that answers without the app
 * (`fleet/ingest_route.ts`).
 */
export async function answerHeaders(app: Hono, path: string): Promise<[string, string][]> {
  const probe = await app.request(path, { method: "POST" });
  await probe.body?.cancel();
  return [...probe.headers].filter(([name]) =>
    name !== "content-type" && name !== "content-length"
  );
}

/** The Content-Security-Policy of every answer, with its style sources. */
function csp(styleSrc: (string | ContentSecurityPolicyOptionHandler)[]) {
  return {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    // The page adds a per-response nonce: xterm.js writes its theme into <style> elements, and
    // the nonce lets it without 'unsafe-inline'.
    styleSrc,
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    objectSrc: ["'none'"],
  };
}

/**
 * Refuses a body over `maxSize` (413). A declared length is checked from the header alone: the
 * framework's own limit touches `request.body` first, which turns every later read into a stream
 * read (reading from the header: ingest +5 % at 1 sample/request, the hub's RSS 5–14 MB less).
 * A body without a declared length is counted as it is read, by the framework's limit.
 */
function declaredBodyLimit(maxSize: number): MiddlewareHandler {
  const counted = bodyLimit({
    maxSize,
    onError: () => {
      throw new PayloadTooLarge(maxSize);
    },
  });
  return (c, next) => {
    const headers = c.req.raw.headers;
    const length = headers.get("content-length");
    if (length === null || headers.has("transfer-encoding")) return counted(c, next);
    if (parseInt(length, 10) > maxSize) throw new PayloadTooLarge(maxSize);
    return next();
  };
}

/**
 * Builds the app.
 *
 * @example
 * ```ts
 * const app = buildApp(services);
 * Deno.serve({ port: 8765 }, app.fetch);
 * ```
 */
export function buildApp(s: HubServices): Hono {
  const app = new Hono();
  // Only the page needs a nonce (its <style> elements, see web/ui/csp_nonce.ts): every other
  // answer but ingest's (below) — claims included — gets the same policy without paying for one.
  const pageHeaders = secureHeaders({ contentSecurityPolicy: csp(["'self'", NONCE]) });
  const otherHeaders = secureHeaders({ contentSecurityPolicy: csp(["'self'"]) });
  // Ingest answers are small JSON acks read by agents, never shown by a browser: they keep the
  // header that says how to read a body. The twelve of a page cost ~10 µs per answer to build
  // (7 % of ingest at 1 sample/request), for policies that apply to documents.
  const ingestHeaders: MiddlewareHandler = async (c, next) => {
    await next();
    c.res.headers.set("x-content-type-options", "nosniff");
  };
  app.use((c, next) =>
    (c.req.path === "/"
      ? pageHeaders
      : c.req.method === "POST" && c.req.path === INGEST_PATH
      ? ingestHeaders
      : otherHeaders)(
        c,
        next,
      )
  );
  const limitBody = declaredBodyLimit(s.config.maxBodyBytes);
  app.use("/api/*", limitBody);
  app.use("/mcp", limitBody);
  app.route("/", healthRoutes(s));
  app.route("/", webRoutes());
  app.route("/", onboardingRoutes(s));
  app.route("/api/v1", fleetRoutes(s));
  app.route("/api/v1", jobRoutes(s));
  app.route("/api/v1", configRoutes(s));
  app.route("/api/v1", swarmRoutes(s));
  app.route("/api/v1", statsRoutes(s));
  app.route("/api/v1", controlRoutes(s));
  app.route("/api/v1", linkRoutes(s));
  app.route("/api/v1", networkRoutes(s));
  app.route("/api/v1", alertRoutes(s));
  app.route("/", metricsRoutes(s));
  app.route("/api/v1", backupRoutes(s));
  // Its tools call this very app in-process, with the caller's own token.
  app.route("/", mcpRoutes(s, (req) => app.fetch(req)));

  app.notFound((c) =>
    problemResponse(new NotFound(`no route ${c.req.method} ${new URL(c.req.url).pathname}`))
  );
  app.onError((error, c) =>
    errorResponse(error, c.req.method, new URL(c.req.url).pathname, s.config.maxBodyBytes)
  );
  return app;
}
