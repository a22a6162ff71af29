/**
 * `Swarm`: the swarm feature's parts built once (engine, catalog, live services, logs, builds,
 * stacks, nodes, registry) and the operations that span them (catalog with the live flag,
 * register-and-deploy, health).
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type { LiveConnections } from "../core/connections.ts";
import type {
  SwarmCatalogEntry,
  SwarmCatalogPut,
  SwarmHealth,
  SwarmServiceActionResult,
} from "../../shared/protocol/mod.ts";
import { HttpProblem } from "../core/errors.ts";
import { SwarmEngine } from "./engine.ts";
import { SwarmCatalog } from "./catalog.ts";
import { SwarmServices } from "./services.ts";
import { SwarmLogs } from "./logs.ts";
import { SwarmBuilds } from "./builds.ts";
import { SwarmStacks } from "./stacks.ts";
import { SwarmNodes } from "./nodes.ts";
import { RegistryBrowser } from "./registry.ts";
import { swarmHealth } from "./health.ts";

/** What the swarm feature needs from the hub. */
export interface SwarmOptions {
  db: Database;
  connections: LiveConnections;
  dockerSocket: string;
  projectsDir: string;
  /** Registry origin, e.g. `http://192.168.1.100:5000`. */
  registry: string | undefined;
}

/** The swarm feature. */
export class Swarm {
  readonly engine: SwarmEngine;
  readonly catalog: SwarmCatalog;
  readonly services: SwarmServices;
  readonly logs: SwarmLogs;
  readonly builds: SwarmBuilds;
  readonly stacks: SwarmStacks;
  readonly nodes: SwarmNodes;
  readonly registry: RegistryBrowser;

  constructor(o: SwarmOptions) {
    this.engine = new SwarmEngine(o.dockerSocket);
    this.catalog = new SwarmCatalog(o.db);
    this.services = new SwarmServices({ engine: this.engine, db: o.db, catalog: this.catalog });
    this.logs = new SwarmLogs({
      engine: this.engine,
      services: this.services,
      connections: o.connections,
    });
    this.builds = new SwarmBuilds({
      engine: this.engine,
      db: o.db,
      catalog: this.catalog,
      connections: o.connections,
      projectsDir: o.projectsDir,
      registry: o.registry,
    });
    this.stacks = new SwarmStacks({ engine: this.engine, db: o.db, services: this.services });
    this.nodes = new SwarmNodes({ engine: this.engine, db: o.db });
    this.registry = new RegistryBrowser(o.registry);
  }

  /** Builds a stopped hub left running are marked failed. */
  async start(): Promise<void> {
    await this.builds.recover();
  }

  /** The catalog with each entry's `live` flag. */
  async catalogWithLive(): Promise<SwarmCatalogEntry[]> {
    // Without a (manager) engine the stored catalog still shows, with `live` unknown.
    const live = await this.engine.manager().then(() => this.services.liveNames(), (e) => {
      if (e instanceof HttpProblem && (e.status === 503 || e.status === 409)) return null;
      throw e;
    });
    return this.catalog.list().map((e) => ({ ...e, live: live ? live.has(e.name) : null }));
  }

  /** Registers (or updates) a definition and deploys that version. */
  async registerAndDeploy(
    body: SwarmCatalogPut,
    by: string,
  ): Promise<SwarmServiceActionResult> {
    const { def, yaml } = this.catalog.parse(body);
    const put = await this.catalog.put(def, { yaml, note: body.note ?? null, by });
    return await this.services.deploy(def.name, put.entry.version);
  }

  health(): Promise<SwarmHealth> {
    return swarmHealth(this.engine, this.nodes, this.services, this.registry);
  }

  async shutdown(): Promise<void> {
    this.logs.closeFollows();
    await this.builds.shutdown();
    this.engine.close();
  }
}
