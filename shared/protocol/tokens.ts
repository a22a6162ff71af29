/**
 * Tokens, enrollment and browser sessions.
 *
 * @module
 */
import { z } from "zod";
import { NodeId } from "./common.ts";
import { TOKEN_KINDS } from "./enums.ts";

/**
 * Token kinds. `enrollment` tokens are one-time and expiring: a new node exchanges one
 * for its own `node` token at `POST /api/v1/enroll`.
 */
export const TokenKind = z.enum(TOKEN_KINDS);
export type TokenKind = z.infer<typeof TokenKind>;

/** `POST /api/v1/tokens` body. */
export const TokenCreate = z.strictObject({
  kind: TokenKind,
  name: z.string().min(1).max(128).optional(),
  node_id: NodeId.optional(),
  /** Lifetime in seconds (enrollment tokens default to 24 h). */
  ttl_s: z.number().int().min(60).max(365 * 86_400).optional(),
  /** Enrollment only: the token replaces `node_id`'s current token (a reinstalled node). */
  reenroll: z.boolean().optional(),
}).refine((t) => t.kind !== "node" || t.node_id !== undefined, {
  message: "node_id is required for kind node",
  path: ["node_id"],
}).refine((t) => t.kind === "node" || t.kind === "enrollment" || t.node_id === undefined, {
  message: "node_id is only for node and enrollment tokens",
  path: ["node_id"],
}).refine((t) => !t.reenroll || (t.kind === "enrollment" && t.node_id !== undefined), {
  message: "reenroll is only for enrollment tokens that name the node (node_id)",
  path: ["reenroll"],
});
export type TokenCreate = z.infer<typeof TokenCreate>;

/** A token as listed: never the secret, never its hash. */
export const TokenInfo = z.object({
  id: z.string(),
  name: z.string(),
  kind: TokenKind,
  node_id: z.string().nullable(),
  created_at: z.number(),
  expires_at: z.number().nullable(),
  last_used_at: z.number().nullable(),
  revoked_at: z.number().nullable(),
  /** When an enrollment token was exchanged (it works once). */
  used_at: z.number().nullable(),
  /** An enrollment token that replaces `node_id`'s token when used. */
  reenroll: z.boolean(),
});
export type TokenInfo = z.infer<typeof TokenInfo>;

/** `POST /api/v1/enroll` body (public: the enrollment token is the credential). */
export const EnrollRequest = z.strictObject({
  token: z.string().min(1).max(512),
  hostname: z.string().min(1).max(253),
  arch: z.string().max(32),
  os: z.string().max(256).optional(),
  kernel: z.string().max(256).optional(),
  cpus: z.number().int().positive().max(4096).optional(),
  mem_b: z.number().nonnegative().optional(),
});
export type EnrollRequest = z.infer<typeof EnrollRequest>;

/** `POST /api/v1/enroll` answer: the node's own token, shown once. */
export const EnrollResponse = z.object({ node_id: NodeId, token: z.string() });
export type EnrollResponse = z.infer<typeof EnrollResponse>;

/** `POST /api/v1/tokens` answer: the only time the secret is shown. */
export const TokenCreated = TokenInfo.extend({ token: z.string() });
export type TokenCreated = z.infer<typeof TokenCreated>;

/** `POST /api/v1/session` body: log the browser in with a token (sets an HttpOnly cookie). */
export const SessionCreate = z.strictObject({ token: z.string().min(1).max(512) });

/** `GET /api/v1/session` answer. */
export const SessionInfo = z.object({ kind: TokenKind, name: z.string() });
export type SessionInfo = z.infer<typeof SessionInfo>;
