/**
 * Onboarding over HTTP, all public (SPEC §5): `GET /install.sh`, `GET /dist/:file` (the agent
 * binaries and `SHA256SUMS`, read-only, no paths) and `POST /api/v1/enroll`, which exchanges a
 * valid, unexpired, unused enrollment token for the node's own token — once.
 *
 * @module
 */
import { Hono } from "hono";
import { join } from "node:path";
import { EnrollRequest, type EnrollResponse, NodeId } from "../../shared/protocol.ts";
import { hashToken, mintToken, storeMintedToken } from "../auth.ts";
import { Conflict, NotFound, Unauthorized } from "../errors.ts";
import { tokenByHash, useEnrollmentToken } from "../store/tokens.ts";
import { installScript } from "../install_script.ts";
import type { HubServices } from "../services.ts";
import { validate } from "./validate.ts";
import { getLogger } from "../../shared/log.ts";

const logger = getLogger("enroll");

/** Node id for an enrollment: the token's name when it is a valid id, else the hostname. */
function nodeIdFor(tokenName: string, hostname: string): string {
  if (NodeId.safeParse(tokenName).success) return tokenName;
  const host = hostname.split(".")[0].replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);
  return NodeId.safeParse(host).success ? host : `node-${crypto.randomUUID().slice(0, 8)}`;
}

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
    const nodeId = nodeIdFor(row.name, req.hostname);
    const minted = mintToken({ kind: "node", node_id: nodeId, name: nodeId });
    const created = await s.db.write((tx) => {
      if (!useEnrollmentToken(tx, row.id, now)) return undefined;
      return storeMintedToken(tx, minted);
    });
    if (!created) {
      logger.warn("enrollment refused: token already used", {
        token_id: row.id,
        hostname: req.hostname,
      });
      throw new Conflict(`enrollment token ${row.id} was already used: it works once`);
    }
    s.verifier.invalidate();
    s.fleet.added(nodeId);
    logger.info("node enrolled", {
      node_id: nodeId,
      token_id: row.id,
      hostname: req.hostname,
      arch: req.arch,
    });
    const body: EnrollResponse = { node_id: nodeId, token: created.token };
    return c.json(body, 201);
  });

  return app;
}
