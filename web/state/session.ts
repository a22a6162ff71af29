/**
 * Who is logged in. The token itself never stays in the page: `POST /api/v1/session` turns it
 * into an HttpOnly cookie, and the UI only learns the token's kind and name.
 *
 * @module
 */
import { computed, effect, signal } from "@preact/signals";
import type { SessionInfo } from "../../shared/api_client.ts";
import { api, unauthorized } from "./api.ts";

/** The logged-in principal; `undefined` while checking, `null` when logged out. */
export const session = signal<SessionInfo | null | undefined>(undefined);

/** Admins see action controls; viewers see everything else. */
export const isAdmin = computed(() => session.value?.kind === "admin");

/** Asks the hub whether the cookie is still good. */
export async function checkSession(): Promise<void> {
  try {
    session.value = await api.session();
  } catch {
    session.value = null;
  }
}

/** Logs in with an admin or viewer token; throws the hub's message on refusal. */
export async function login(token: string): Promise<void> {
  session.value = await api.openSession(token.trim());
}

/** Ends the session (clears the cookie). */
export async function logout(): Promise<void> {
  await api.endSession().catch(() => {});
  session.value = null;
}

effect(() => {
  if (unauthorized.value > 0) session.value = null;
});
