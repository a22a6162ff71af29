/**
 * The one way the UI talks to the hub's API: same-origin fetch (the session cookie rides along),
 * JSON in and out, problem+json turned into an {@link ApiError} whose message is the hub's own
 * `detail`. A 401 ends the session so the login form shows.
 *
 * @module
 */
import { signal } from "@preact/signals";

/** An API call that failed, with the hub's problem `title` and `detail`. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly title: string, detail: string) {
    super(detail || title || `HTTP ${status}`);
  }
}

/** Bumped on every 401 so the session module can react without an import cycle. */
export const unauthorized = signal(0);

/**
 * Calls `/api/v1{path}`.
 *
 * @example
 * ```ts
 * const jobs = await api<{ jobs: JobInfo[] }>("/jobs?limit=50");
 * await api("/jobs/7/cancel", { method: "POST" });
 * ```
 */
export async function api<T = unknown>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method: init.method ?? "GET",
    headers: init.body === undefined ? {} : { "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: "same-origin",
    signal: init.signal,
  });
  if (res.status === 401 && path !== "/session") unauthorized.value++;
  const text = await res.text();
  const data = text ? safeJson(text) : undefined;
  if (!res.ok) {
    const p = (data ?? {}) as { title?: string; detail?: string };
    throw new ApiError(res.status, p.title ?? res.statusText, p.detail ?? text.slice(0, 300));
  }
  return data as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
