/**
 * Onboarding over HTTP, all public (SPEC §5): `GET /install.sh`, `GET /dist/:file` (the agent
 * binaries and `SHA256SUMS`, read-only, no paths) and `POST /api/v1/enroll`, which exchanges a
 * valid, unexpired, unused enrollment token for the node's own token — once.
 *
 * @module
 */
import { Hono } from "hono";
import { join } from "node:path";
import { EnrollRequest, type EnrollResponse, NodeId } from "../../shared/protocol/mod.ts";
import { hashToken, mintToken, storeMintedToken } from "../auth.ts";
import { Conflict, NotFound, Unauthorized } from "../errors.ts";
import {
  getTokenRow,
  liveNodeTokens,
  revokeNodeTokens,
  tokenByHash,
  type TokenRow,
  useEnrollmentToken,
} from "../store/tokens.ts";
import { insertAudit } from "../store/audit.ts";
import type { Database } from "../store/db.ts";
import { installScript } from "../install_script.ts";
import type { HubServices } from "../services.ts";
import { validate } from "./validate.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("enroll");

/** The audit log names the enrollment token that was used. */
const ENROLL_ACTOR = (row: TokenRow) => ({ name: row.name, kind: "enrollment", token_id: row.id });

/** The node id a hostname suggests (its first label, cleaned), or a random one. */
function idFromHostname(hostname: string): string {
  const host = hostname.split(".")[0].replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);
  return NodeId.safeParse(host).success ? host : `node-${crypto.randomUUID().slice(0, 8)}`;
}

/** `base`, or `base-2`, `base-3`, … : the first that no live node token holds. */
function freeNodeId(db: Database, base: string, now: number): string {
  if (liveNodeTokens(db, base, now).length === 0) return base;
  for (let i = 2; i < 1000; i++) {
    const id = `${base.slice(0, 63 - String(i).length - 1)}-${i}`;
    if (liveNodeTokens(db, id, now).length === 0) return id;
  }
  return `node-${crypto.randomUUID().slice(0, 8)}`;
}

/** What an enrollment resolved to. */
type Enrolled =
  | { ok: true; nodeId: string; token: string; replaced: string[]; collided?: string }
  | { ok: false; reason: "used" | "taken"; nodeId?: string };

/** Routes for onboarding. */
export function installRoutes(s: HubServices): Hono {
  const app = new Hono();

  app.get("/install.sh", (c) => {
    const url = new URL(c.req.url);
    return c.body(installScript(`${url.protocol}//${url.host}`), 200, {
      "content-type": "text/x-shellscript; charset=utf-8",
      "cache-control": "no-store",
    });
  });

  app.get("/dist/:file", async (c) => {
    const file = c.req.param("file");
    // One plain file name: no directories, no dot files, so nothing outside dist is reachable.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file)) throw new NotFound(`no file ${file}`);
    const path = join(s.config.distDir, file);
    let f: Deno.FsFile;
    try {
      f = await Deno.open(path, { read: true });
      if (!(await f.stat()).isFile) {
        f.close();
        throw new Deno.errors.NotFound();
      }
    } catch {
      throw new NotFound(`no ${file} in the hub's dist dir: build it with 'deno task dist'`);
    }
    return new Response(f.readable, {
      headers: {
        "content-type": file === "SHA256SUMS"
          ? "text/plain; charset=utf-8"
          : "application/octet-stream",
        "cache-control": "no-cache",
      },
    });
  });

  app.post("/api/v1/enroll", validate("json", EnrollRequest), async (c) => {
    const req = c.req.valid("json");
    const row = tokenByHash(s.db, hashToken(req.token));
    const now = Date.now();
    if (!row || row.kind !== "enrollment" || row.revoked_at !== null) {
      logger.warn("enrollment refused: unknown token", { hostname: req.hostname });
      throw new Unauthorized(
        "not a valid enrollment token: create one with 'fleet-hub token create --kind enrollment --name NODE'",
      );
    }
    if (row.expires_at !== null && row.expires_at <= now) {
      logger.warn("enrollment refused: expired token", {
        token_id: row.id,
        hostname: req.hostname,
      });
      throw new Unauthorized(`enrollment token ${row.id} expired: create a new one`);
    }
    // The node id: the one the token was made for, else its name when that is a valid id,
    // else the hostname's. Only the first two are the operator's word; a hostname is a claim.
    const named = row.node_id ?? (NodeId.safeParse(row.name).success ? row.name : undefined);
    const result = await s.db.write((tx): Enrolled => {
      let nodeId: string;
      let replaced: string[] = [];
      let collided: string | undefined;
      if (getTokenRow(tx, row.id)?.used_at !== null) return { ok: false, reason: "used" };
      if (row.reenroll === 1 && row.node_id) {
        nodeId = row.node_id;
      } else if (named) {
        // Never a second identity for a node that has a working token: that is re-enrollment.
        if (liveNodeTokens(tx, named, now).length > 0) {
          insertAudit(tx, {
            actor: ENROLL_ACTOR(row),
            action: "node.enroll",
            target: named,
            result: "error",
            detail: { error: "node already has a live token", hostname: req.hostname },
          });
          return { ok: false, reason: "taken", nodeId: named };
        }
        nodeId = named;
      } else {
        const wanted = idFromHostname(req.hostname);
        nodeId = freeNodeId(tx, wanted, now);
        if (nodeId !== wanted) collided = wanted;
      }
      if (!useEnrollmentToken(tx, row.id, now)) return { ok: false, reason: "used" };
      if (row.reenroll === 1) replaced = revokeNodeTokens(tx, nodeId, now, false);
      const created = storeMintedToken(tx, mintToken({ kind: "node", node_id: nodeId }, now));
      insertAudit(tx, {
        actor: ENROLL_ACTOR(row),
        action: row.reenroll === 1 ? "node.reenroll" : "node.enroll",
        target: nodeId,
        result: "ok",
        detail: {
          hostname: req.hostname,
          arch: req.arch,
          token_id: created.id,
          ...(collided ? { requested: collided, reason: "id taken by a live node" } : {}),
          ...(replaced.length ? { revoked: replaced } : {}),
        },
      });
      return { ok: true, nodeId, token: created.token, replaced, collided };
    });
    if (!result.ok && result.reason === "taken") {
      s.verifier.invalidate();
      logger.warn("enrollment refused: node already has a live token", {
        token_id: row.id,
        node_id: result.nodeId,
        hostname: req.hostname,
      });
      throw new Conflict(
        `node ${result.nodeId} already has a live token: to replace its agent, make a ` +
          `re-enrollment token (fleet-hub token create --kind enrollment --node ${result.nodeId} ` +
          "--reenroll), or revoke the old token first",
      );
    }
    if (!result.ok) {
      logger.warn("enrollment refused: token already used", {
        token_id: row.id,
        hostname: req.hostname,
      });
      throw new Conflict(`enrollment token ${row.id} was already used: it works once`);
    }
    const nodeId = result.nodeId;
    s.verifier.invalidate();
    // The replaced agent is cut off at once (control socket, streams).
    for (const t of result.replaced) s.connections.closeToken(t, `${nodeId} was re-enrolled`);
    s.fleet.added(nodeId);
    if (result.collided) {
      logger.warn("enrollment: hostname id taken by a live node, gave a fresh id", {
        requested: result.collided,
        node_id: nodeId,
        hostname: req.hostname,
      });
    }
    logger.info(row.reenroll === 1 ? "node re-enrolled" : "node enrolled", {
      node_id: nodeId,
      token_id: row.id,
      hostname: req.hostname,
      arch: req.arch,
    });
    const body: EnrollResponse = { node_id: nodeId, token: result.token };
    return c.json(body, 201);
  });

  return app;
}
