/**
 * The backups feature's HTTP routes: start, list, show, cancel, browse, restore and verify node
 * backups; the hub database's snapshot; retention; the node config sync for agents. Each
 * handler validates, calls one service and answers.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  BackupCreate,
  BackupListQuery,
  ConfigSync,
  RestoreRequest,
  TreeQuery,
  VerifyRequest,
} from "../../shared/protocol/mod.ts";
import { type Env, nodeCaller, requireAuth } from "../core/auth.ts";
import type { HubServices } from "../core/services.ts";
import { validate } from "../core/validate.ts";

const IdParam = z.object({ id: z.string().regex(/^[0-9]{1,15}$/, "a backup id (digits)") });

/** Routes of the backups feature. */
export function backupRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");
  const node = requireAuth(s.verifier, "node");

  app.post("/backups", admin, validate("json", BackupCreate), async (c) => {
    const backups = await s.backups.create(c.req.valid("json"), c.get("principal"));
    return c.json({ backups }, 201);
  });

  app.get("/backups", read, validate("query", BackupListQuery), (c) => {
    return c.json(s.backups.list(c.req.valid("query")));
  });

  app.get("/backups/status", read, (c) => {
    return c.json(
      s.backups.status((name) => s.backupSchedules.nextRun(name), s.backupSchedules.hubDbNext),
    );
  });

  app.post("/backups/hub-db", admin, async (c) => {
    return c.json(await s.backupSchedules.hubDb(c.get("principal")), 201);
  });

  app.post("/backups/prune", admin, async (c) => {
    return c.json(await s.backups.applyRetention(c.get("principal")));
  });

  app.get("/backups/restores/:id", read, validate("param", IdParam), (c) => {
    return c.json(s.restores.get(c.req.valid("param").id));
  });

  app.get("/backups/:id", read, validate("param", IdParam), (c) => {
    return c.json(s.backups.get(c.req.valid("param").id));
  });

  app.post("/backups/:id/cancel", admin, validate("param", IdParam), async (c) => {
    return c.json(await s.backups.cancel(c.req.valid("param").id, c.get("principal")));
  });

  app.get(
    "/backups/:id/tree",
    read,
    validate("param", IdParam),
    validate("query", TreeQuery),
    async (c) => {
      return c.json(await s.backups.tree(c.req.valid("param").id, c.req.valid("query")));
    },
  );

  app.post(
    "/backups/:id/restore",
    admin,
    validate("param", IdParam),
    validate("json", RestoreRequest),
    async (c) => {
      const req = c.req.valid("json");
      const { restore, done } = await s.restores.start(
        c.req.valid("param").id,
        req,
        c.get("principal"),
      );
      // A dry run is a question: answer it. A real restore runs on; follow it on the stream.
      if (req.dry_run) return c.json(await done, 200);
      return c.json(restore, 202);
    },
  );

  app.post(
    "/backups/:id/verify",
    admin,
    validate("param", IdParam),
    validate("json", VerifyRequest),
    async (c) => {
      const { read_data } = c.req.valid("json");
      return c.json(
        await s.backups.verify(c.req.valid("param").id, read_data, c.get("principal")),
      );
    },
  );

  app.get("/agent/configs", node, async (c) => {
    return c.json(await s.nodeConfigs.pull(nodeCaller(c.get("principal"))));
  });

  app.put("/agent/configs", node, validate("json", ConfigSync), async (c) => {
    const { files } = c.req.valid("json");
    return c.json(await s.nodeConfigs.push(nodeCaller(c.get("principal")), files));
  });

  return app;
}
