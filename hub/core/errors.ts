/**
 * Typed errors thrown inside the hub; `app.ts` turns each into an `application/problem+json`
 * answer (RFC 9457) with a stable `type`, a `title` and a `detail` that says what to do.
 *
 * @module
 */
import type { Problem } from "../../shared/protocol/mod.ts";

/** What a body that is not JSON is told, in the framework's JSON validator's words. */
export const MALFORMED_JSON = "Malformed JSON in request body";

/** Base of every error that maps to an HTTP answer. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly errors?: Problem["errors"];

  constructor(
    status: number,
    type: string,
    title: string,
    detail: string,
    errors?: Problem["errors"],
  ) {
    super(detail);
    this.status = status;
    this.type = type;
    this.title = title;
    this.errors = errors;
  }

  /** The problem body. */
  toProblem(): Problem {
    return {
      type: `https://fleet-commander.dev/problems/${this.type}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

/** 400: the request is malformed or fails its schema; `errors` names each field. */
export class BadInput extends HttpProblem {
  constructor(detail: string, errors?: Problem["errors"]) {
    super(400, "bad-input", "Bad input", detail, errors);
  }
}

/** 401: no token, an unknown token, or a revoked one. */
export class Unauthorized extends HttpProblem {
  constructor(detail = "a valid token is required: send 'Authorization: Bearer <token>'") {
    super(401, "unauthorized", "Unauthorized", detail);
  }
}

/** 403: the token is valid but may not do this. */
export class Forbidden extends HttpProblem {
  constructor(detail: string) {
    super(403, "forbidden", "Forbidden", detail);
  }
}

/** 404: no such resource. */
export class NotFound extends HttpProblem {
  constructor(detail: string) {
    super(404, "not-found", "Not found", detail);
  }
}

/** 409: the request conflicts with the current state. */
export class Conflict extends HttpProblem {
  constructor(detail: string) {
    super(409, "conflict", "Conflict", detail);
  }
}

/** 413: the body is larger than the configured limit. */
export class PayloadTooLarge extends HttpProblem {
  constructor(limit: number) {
    super(413, "payload-too-large", "Payload too large", `request body exceeds ${limit} bytes`);
  }
}

/** 503: the thing the request needs is not reachable right now (e.g. the node's agent). */
export class Unavailable extends HttpProblem {
  constructor(detail: string) {
    super(503, "unavailable", "Unavailable", detail);
  }
}

/** 502: a system behind the hub (a node's Docker engine) failed the request. */
export class Upstream extends HttpProblem {
  constructor(detail: string) {
    super(502, "upstream", "Upstream failure", detail);
  }
}

/** Turns zod issues into problem `errors` entries (`path` dotted, e.g. `samples.0.cpu.pct`). */
export function issuesToErrors(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): NonNullable<Problem["errors"]> {
  return issues.map((i) => ({
    path: i.path.map(String).join(".") || "(body)",
    message: i.message,
  }));
}
