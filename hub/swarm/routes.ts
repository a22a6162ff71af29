/**
 * Swarm routes under `/api/v1/swarm/` (docs/swarm.md): reads for viewers and admins, writes for
 * admins. Every route first checks that the hub's engine is a reachable swarm manager (409 / 503
 * otherwise); every write is audited with who, what and the result, refused ones included
 * (bad input and unknown targets change nothing and leave no entry).
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import { type Env, requireAuth } from "../core/auth.ts";
import { validate } from "../core/validate.ts";
import { recordAudit } from "../core/store.ts";
import type { HubServices } from "../core/services.ts";
import {
  SwarmBuildRequest,
  SwarmCatalogPut,
  SwarmDeploy,
  SwarmLiveName,
  SwarmNodeAction,
  SwarmNodeLabels,
  SwarmScale,
  SwarmServiceName,
  SwarmStackDeploy,
  SwarmStackName,
  SwarmUpdate,
} from "../../shared/protocol/mod.ts";

const NameParam = z.strictObject({ name: SwarmServiceName });
const LiveParam = z.strictObject({ name: SwarmLiveName });
const VersionParam = z.strictObject({
  name: SwarmServiceName,
  version: z.coerce.number().int().positive(),
});
const DiffQuery = z.strictObject({ version: z.coerce.number().int().positive().optional() });
const LogsQuery = z.strictObject({
  tail: z.coerce.number().int().min(0).max(10_000).default(200),
  follow: z.stringbool().default(false),
});
const BuildsQuery = z.strictObject({
  service: SwarmServiceName.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const BuildParam = z.strictObject({ id: z.uuid() });
const StackParam = z.strictObject({ name: SwarmStackName });
const NodeParam = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "a swarm node id or hostname"),
});
const NodeActionParam = NodeParam.extend({ action: SwarmNodeAction });
const ForceQuery = z.strictObject({ force: z.stringbool().default(false) });
const Repository = z.string().max(255).regex(
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/,
  "repository: lowercase path like fleet/app",
);
const TagsQuery = z.strictObject({ repository: Repository });
const TagDeleteQuery = z.strictObject({
  repository: Repository,
  tag: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "tag"),
  force: z.stringbool().default(false),
});

/** Extra detail a handler adds to its audit entry. */
const auditDetail = new WeakMap<Request, Record<string, unknown>>();

/** The service a build belongs to (the audit target of a cancel), or null for an unknown one. */
function buildService(s: HubServices, id: string | undefined): string | null {
  try {
    return id ? s.swarm.builds.get(id).service : null;
  } catch {
    return null;
  }
}

function noteAudit(c: Context, detail: Record<string, unknown>): void {
  auditDetail.set(c.req.raw, { ...auditDetail.get(c.req.raw), ...detail });
}

/**
 * Audits a write after it ran: `ok` for a 2xx, `error` for a refusal by the swarm's state (409,
 * 5xx: engine not a manager, unreachable, failed); none for bad input or an unknown target.
 */
function audited(
  s: HubServices,
  action: string,
  target: (c: Context<Env>) => string | null,
): MiddlewareHandler<Env> {
  return async (c, next) => {
    await next();
    const status = c.res.status;
    if (status < 300 || status === 409 || status >= 500) {
      const params = c.req.param() as Record<string, string>;
      await recordAudit(s.db, {
        actor: c.get("principal"),
        action,
        target: target(c),
        result: status < 300 ? "ok" : "error",
        detail: {
          ...params,
          ...auditDetail.get(c.req.raw),
          ...(status >= 300 ? { status, error: c.error?.message ?? `HTTP ${status}` } : {}),
        },
      });
    }
  };
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

/** Routes for the swarm. */
export function swarmRoutes(s: HubServices): Hono<Env> {
  const app = new Hono<Env>();
  const sw = s.swarm;
  const read = requireAuth(s.verifier, "read");
  const admin = requireAuth(s.verifier, "admin");
  const manager: MiddlewareHandler<Env> = async (_c, next) => {
    await sw.engine.manager();
    await next();
  };
  const param = (k: string) => (c: Context<Env>) => c.req.param(k) ?? null;

  app.get(
    "/swarm/join-token",
    requireAuth(s.verifier, "node_or_admin"),
    async (c) => c.json(await sw.engine.joinInfo()),
  );

  app.get("/swarm/health", read, manager, async (c) => c.json(await sw.health()));

  // --- catalog ---
  // Catalog reads come from the hub's database: they answer without an engine too.
  app.get("/swarm/catalog", read, async (c) => c.json(await sw.catalogWithLive()));
  app.post(
    "/swarm/catalog",
    admin,
    validate("json", SwarmCatalogPut),
    audited(s, "swarm.catalog.create", () => null),
    manager,
    async (c) => {
      const body = c.req.valid("json");
      const { def, yaml } = sw.catalog.parse(body);
      const r = await sw.catalog.put(def, {
        yaml,
        note: body.note ?? null,
        by: c.get("principal").name,
        create: true,
      });
      noteAudit(c, { name: def.name, version: r.entry.version });
      return c.json(r.entry, 201);
    },
  );
  app.get(
    "/swarm/catalog/:name",
    read,
    validate("param", NameParam),
    (c) => c.json(sw.catalog.get(c.req.valid("param").name)),
  );
  app.put(
    "/swarm/catalog/:name",
    admin,
    validate("param", NameParam),
    validate("json", SwarmCatalogPut),
    audited(s, "swarm.catalog.update", param("name")),
    manager,
    async (c) => {
      const body = c.req.valid("json");
      const { def, yaml } = sw.catalog.parse(body, c.req.valid("param").name);
      const r = await sw.catalog.put(def, {
        yaml,
        note: body.note ?? null,
        by: c.get("principal").name,
      });
      noteAudit(c, { version: r.entry.version, changed: r.changed });
      return c.json(r.entry, r.created ? 201 : 200);
    },
  );
  app.delete(
    "/swarm/catalog/:name",
    admin,
    validate("param", NameParam),
    audited(s, "swarm.catalog.delete", param("name")),
    manager,
    async (c) => {
      await sw.catalog.delete(c.req.valid("param").name);
      return c.body(null, 204);
    },
  );
  app.get(
    "/swarm/catalog/:name/versions",
    read,
    validate("param", NameParam),
    (c) => c.json(sw.catalog.versions(c.req.valid("param").name)),
  );
  app.get(
    "/swarm/catalog/:name/versions/:version",
    read,
    validate("param", VersionParam),
    (c) => {
      const { name, version } = c.req.valid("param");
      return c.json(sw.catalog.version(name, version));
    },
  );
  app.get(
    "/swarm/catalog/:name/diff",
    read,
    validate("param", NameParam),
    validate("query", DiffQuery),
    manager,
    async (c) =>
      c.json(await sw.services.diff(c.req.valid("param").name, c.req.valid("query").version)),
  );
  app.post(
    "/swarm/catalog/:name/deploy",
    admin,
    validate("param", NameParam),
    validate("json", SwarmDeploy),
    audited(s, "swarm.service.deploy", param("name")),
    manager,
    async (c) => {
      const r = await sw.services.deploy(
        c.req.valid("param").name,
        c.req.valid("json").version,
      );
      noteAudit(c, { version: r.version });
      return c.json(r);
    },
  );
  app.post(
    "/swarm/deploy",
    admin,
    validate("json", SwarmCatalogPut),
    audited(s, "swarm.service.deploy", () => null),
    manager,
    async (c) => {
      const r = await sw.registerAndDeploy(c.req.valid("json"), c.get("principal").name);
      noteAudit(c, { name: r.name, version: r.version });
      return c.json(r);
    },
  );

  // --- builds ---
  app.post(
    "/swarm/catalog/:name/build",
    admin,
    validate("param", NameParam),
    validate("json", SwarmBuildRequest),
    audited(s, "swarm.build", param("name")),
    manager,
    async (c) => {
      const run = await sw.builds.start(
        c.req.valid("param").name,
        c.req.valid("json"),
        c.get("principal"),
      );
      noteAudit(c, { build: run.id, image: run.image, push: run.push });
      return c.json(run, 202);
    },
  );
  app.get(
    "/swarm/builds",
    read,
    validate("query", BuildsQuery),
    manager,
    (c) => {
      const q = c.req.valid("query");
      return c.json(sw.builds.list(q.service, q.limit));
    },
  );
  app.get(
    "/swarm/builds/:id",
    read,
    validate("param", BuildParam),
    manager,
    (c) => c.json(sw.builds.get(c.req.valid("param").id)),
  );
  app.post(
    "/swarm/builds/:id/cancel",
    admin,
    validate("param", BuildParam),
    audited(s, "swarm.build.cancel", (c) => buildService(s, c.req.param("id"))),
    manager,
    async (c) => {
      const run = await sw.builds.cancel(c.req.valid("param").id, c.get("principal"));
      noteAudit(c, { build: run.id, image: run.image, state: run.state });
      return c.json(run);
    },
  );
  app.get(
    "/swarm/builds/:id/events",
    read,
    validate("param", BuildParam),
    manager,
    (c) =>
      new Response(sw.builds.events(c.req.valid("param").id, c.get("principal")), {
        headers: SSE_HEADERS,
      }),
  );
  app.get("/swarm/projects", read, manager, async (c) => c.json(await sw.builds.projects()));

  // --- live services ---
  app.get("/swarm/services", read, manager, async (c) => c.json(await sw.services.list()));
  app.get(
    "/swarm/services/:name",
    read,
    validate("param", LiveParam),
    manager,
    async (c) => c.json(await sw.services.detail(c.req.valid("param").name)),
  );
  app.post(
    "/swarm/services/:name/scale",
    admin,
    validate("param", LiveParam),
    validate("json", SwarmScale),
    audited(s, "swarm.service.scale", param("name")),
    manager,
    async (c) => {
      const { replicas } = c.req.valid("json");
      noteAudit(c, { replicas });
      return c.json(await sw.services.scale(c.req.valid("param").name, replicas));
    },
  );
  app.post(
    "/swarm/services/:name/update",
    admin,
    validate("param", LiveParam),
    validate("json", SwarmUpdate),
    audited(s, "swarm.service.update", param("name")),
    manager,
    async (c) => {
      const u = c.req.valid("json");
      noteAudit(c, { ...u });
      return c.json(await sw.services.update(c.req.valid("param").name, u));
    },
  );
  app.post(
    "/swarm/services/:name/restart",
    admin,
    validate("param", LiveParam),
    audited(s, "swarm.service.restart", param("name")),
    manager,
    async (c) => c.json(await sw.services.restart(c.req.valid("param").name)),
  );
  app.delete(
    "/swarm/services/:name",
    admin,
    validate("param", LiveParam),
    audited(s, "swarm.service.stop", param("name")),
    manager,
    async (c) => c.json(await sw.services.stop(c.req.valid("param").name)),
  );
  app.get(
    "/swarm/services/:name/logs",
    read,
    validate("param", LiveParam),
    validate("query", LogsQuery),
    manager,
    async (c) => {
      const { name } = c.req.valid("param");
      const { tail, follow } = c.req.valid("query");
      if (!follow) return c.json({ name, lines: await sw.logs.tail(name, tail) });
      const body = await sw.logs.follow(name, tail, c.get("principal"));
      return new Response(body, { headers: SSE_HEADERS });
    },
  );

  // --- stacks ---
  app.get("/swarm/stacks", read, manager, async (c) => c.json(await sw.stacks.list()));
  app.get(
    "/swarm/stacks/:name",
    read,
    validate("param", StackParam),
    manager,
    async (c) => c.json(await sw.stacks.get(c.req.valid("param").name)),
  );
  app.post(
    "/swarm/stacks",
    admin,
    validate("json", SwarmStackDeploy),
    audited(s, "swarm.stack.deploy", () => null),
    manager,
    async (c) => {
      const body = c.req.valid("json");
      noteAudit(c, { name: body.name });
      return c.json(await sw.stacks.deploy(body, c.get("principal").name));
    },
  );
  app.delete(
    "/swarm/stacks/:name",
    admin,
    validate("param", StackParam),
    audited(s, "swarm.stack.remove", param("name")),
    manager,
    async (c) => c.json(await sw.stacks.remove(c.req.valid("param").name)),
  );

  // --- nodes ---
  app.get("/swarm/nodes", read, manager, async (c) => c.json(await sw.nodes.list()));
  app.get(
    "/swarm/nodes/:id",
    read,
    validate("param", NodeParam),
    manager,
    async (c) => c.json(await sw.nodes.get(c.req.valid("param").id)),
  );
  app.post(
    "/swarm/nodes/:id/:action",
    admin,
    validate("param", NodeActionParam),
    audited(s, "swarm.node.action", param("id")),
    manager,
    async (c) => {
      const { id, action } = c.req.valid("param");
      return c.json(await sw.nodes.act(id, action));
    },
  );
  app.patch(
    "/swarm/nodes/:id/labels",
    admin,
    validate("param", NodeParam),
    validate("json", SwarmNodeLabels),
    audited(s, "swarm.node.labels", param("id")),
    manager,
    async (c) => {
      const change = c.req.valid("json");
      noteAudit(c, { add: Object.keys(change.add ?? {}), remove: change.remove ?? [] });
      return c.json(await sw.nodes.labels(c.req.valid("param").id, change));
    },
  );
  app.delete(
    "/swarm/nodes/:id",
    admin,
    validate("param", NodeParam),
    validate("query", ForceQuery),
    audited(s, "swarm.node.remove", param("id")),
    manager,
    async (c) => {
      const force = c.req.valid("query").force;
      noteAudit(c, { force }); // before the call: a refusal is audited with it too
      const n = await sw.nodes.remove(c.req.valid("param").id, force);
      noteAudit(c, { hostname: n.hostname });
      return c.body(null, 204);
    },
  );

  // --- registry ---
  app.get("/swarm/registry", read, manager, async (c) => c.json(await sw.registry.catalog()));
  app.get(
    "/swarm/registry/tags",
    read,
    validate("query", TagsQuery),
    manager,
    async (c) => c.json(await sw.registry.tags(c.req.valid("query").repository)),
  );
  app.delete(
    "/swarm/registry/tags",
    admin,
    validate("query", TagDeleteQuery),
    audited(s, "swarm.registry.delete", (c) => {
      const q = new URL(c.req.url).searchParams;
      return `${q.get("repository")}:${q.get("tag")}`;
    }),
    manager,
    async (c) => {
      const q = c.req.valid("query");
      const r = await sw.registry.deleteTag(q.repository, q.tag, q.force);
      noteAudit(c, { digest: r.digest, ...(r.also.length ? { also: r.also } : {}) });
      return c.body(null, 204);
    },
  );
  return app;
}
