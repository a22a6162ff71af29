/**
 * The UI's hub API: the shared typed client (`shared/api_client.ts`) in its same-origin mode —
 * the session cookie rides along, no token — so every error is an `ApiError` whose message is
 * the hub's own problem `detail`. A 401 ends the session so the login form shows.
 *
 * @module
 */
import { signal } from "@preact/signals";
import { ApiClient } from "../../shared/api_client.ts";

/** Bumped on every 401 so the session module can react without an import cycle. */
export const unauthorized = signal(0);

// No timeout: a slow answer (a week of metrics) is still worth waiting for, and views abort
// what they no longer show.
const TIMEOUT_MS = 0;

/**
 * The API for every view and store. A 401 on any path but the session's own (asking who is
 * logged in, logging in or out) ends the session.
 *
 * @example
 * ```ts
 * const { jobs } = await api.jobs({ limit: 50 });
 * await api.jobAction("7", "cancel");
 * ```
 */
export const api: ApiClient = new ApiClient({
  timeoutMs: TIMEOUT_MS,
  onUnauthorized: (path) => {
    if (path !== "/api/v1/session") unauthorized.value++;
  },
});

/**
 * The same API for requests that explain a 401 themselves (why a terminal was refused, a logs
 * dialog's error) rather than end the session.
 */
export const probeApi: ApiClient = new ApiClient({ timeoutMs: TIMEOUT_MS });
