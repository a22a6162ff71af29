/**
 * Every long-lived connection (SSE stream, terminal, agent control socket, log follow) by the
 * token and browser session that opened it, so revoking a token, deleting a node or logging out
 * closes them at once instead of letting them run on. A periodic sweep catches revocations made
 * by another process (`fleet-hub token revoke` beside a running hub) and sessions that expire.
 *
 * @module
 */
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("connections");

/** Who opened a connection. */
export interface ConnectionOwner {
  token_id: string;
  session_id?: string | null;
}

/** What a connection is, for logs and counts. */
export type ConnectionKind = "sse" | "terminal" | "agent" | "logs";

interface Connection {
  kind: ConnectionKind;
  owner: ConnectionOwner;
  close: (reason: string) => void;
}

/** Checks the sweep asks: is this token / session still good? */
export interface ConnectionChecks {
  tokenLive(tokenId: string): boolean;
  sessionLive(sessionId: string): boolean;
  /** Called for sessions with an open connection: an open live view counts as use. */
  sessionInUse?(sessionIds: string[]): void;
}

/** The registry. */
export class LiveConnections {
  #all = new Set<Connection>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Open connections (of one kind). */
  count(kind?: ConnectionKind): number {
    if (!kind) return this.#all.size;
    let n = 0;
    for (const c of this.#all) if (c.kind === kind) n++;
    return n;
  }

  /** Open connections of one token (and kind). */
  countForToken(tokenId: string, kind?: ConnectionKind): number {
    let n = 0;
    for (const c of this.#all) {
      if (c.owner.token_id === tokenId && (!kind || c.kind === kind)) n++;
    }
    return n;
  }

  /**
   * Registers a connection; `close` must end it (idempotently). Returns the function that
   * forgets it, to call when it ends by itself.
   */
  track(kind: ConnectionKind, owner: ConnectionOwner, close: (reason: string) => void): () => void {
    const conn: Connection = { kind, owner, close };
    this.#all.add(conn);
    return () => {
      this.#all.delete(conn);
    };
  }

  #closeWhere(pred: (c: Connection) => boolean, reason: string): number {
    const hit = [...this.#all].filter(pred);
    for (const c of hit) {
      this.#all.delete(c);
      try {
        c.close(reason);
      } catch (error) {
        logger.warn("closing a connection failed", { kind: c.kind, error });
      }
    }
    if (hit.length > 0) {
      const kinds: Record<string, number> = {};
      for (const c of hit) kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
      logger.info("connections closed", { reason, ...kinds });
    }
    return hit.length;
  }

  /** Closes everything a token opened (it was revoked or expired). */
  closeToken(tokenId: string, reason: string): number {
    return this.#closeWhere((c) => c.owner.token_id === tokenId, reason);
  }

  /** Closes everything a browser session opened (logout, expiry). */
  closeSession(sessionId: string, reason: string): number {
    return this.#closeWhere((c) => c.owner.session_id === sessionId, reason);
  }

  /** Closes the connections whose token or session is no longer good; returns how many. */
  sweep(checks: ConnectionChecks): number {
    const tokens = new Map<string, boolean>();
    const sessions = new Map<string, boolean>();
    for (const c of this.#all) {
      if (!tokens.has(c.owner.token_id)) {
        tokens.set(c.owner.token_id, checks.tokenLive(c.owner.token_id));
      }
      const sid = c.owner.session_id;
      if (sid && !sessions.has(sid)) sessions.set(sid, checks.sessionLive(sid));
    }
    let closed = 0;
    for (const [id, ok] of tokens) {
      if (!ok) closed += this.closeToken(id, "the token was revoked or expired");
    }
    for (const [id, ok] of sessions) {
      if (!ok) closed += this.closeSession(id, "the session ended");
    }
    const inUse = [...sessions].filter(([, ok]) => ok).map(([id]) => id);
    if (inUse.length > 0) checks.sessionInUse?.(inUse);
    return closed;
  }

  /** Runs {@link sweep} every `everyMs`. */
  start(checks: ConnectionChecks, everyMs: number): void {
    this.#timer = setInterval(() => {
      try {
        this.sweep(checks);
      } catch (error) {
        logger.warn("connection sweep failed", { error });
      }
    }, everyMs);
  }

  /** Stops the sweep. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
