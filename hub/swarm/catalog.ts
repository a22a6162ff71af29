/**
 * The service catalog: definitions stored in SQLite with a version per change, from JSON or YAML.
 * An unchanged definition stores no new version.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import { BadInput, Conflict, NotFound } from "../core/errors.ts";
import type {
  SwarmCatalogEntry,
  SwarmCatalogPut,
  SwarmCatalogVersion,
  SwarmDefinition,
} from "../../shared/protocol/mod.ts";
import { parseDefinitionJson, parseDefinitionYaml } from "./definition.ts";
import {
  deleteCatalog,
  getCatalog,
  getVersion,
  listCatalog,
  listVersions,
  markDeployed,
  putDefinition,
} from "./store.ts";

/** The result of storing a definition. */
export interface PutResult {
  entry: SwarmCatalogEntry;
  changed: boolean;
  created: boolean;
}

/** Catalog operations (no engine needed). */
export class SwarmCatalog {
  #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  list(): SwarmCatalogEntry[] {
    return listCatalog(this.#db);
  }

  /** @throws {NotFound} */
  get(name: string): SwarmCatalogEntry {
    const e = getCatalog(this.#db, name);
    if (!e) {
      throw new NotFound(`no definition ${name} in the catalog: see GET /api/v1/swarm/catalog`);
    }
    return e;
  }

  /** The definition of a body (JSON or YAML), validated; `name` must match when given. */
  parse(body: SwarmCatalogPut, name?: string): { def: SwarmDefinition; yaml: string | null } {
    const def = "yaml" in body ? parseDefinitionYaml(body.yaml) : parseDefinitionJson(
      body.definition,
    );
    if (name !== undefined && def.name !== name) {
      throw new BadInput(
        `the definition's name (${def.name}) is not the one in the path (${name})`,
        [{ path: "name", message: `must be ${name}` }],
      );
    }
    return { def, yaml: "yaml" in body ? body.yaml : null };
  }

  /**
   * Stores a definition as a new version (or the first). `create` refuses an existing name.
   *
   * @throws {Conflict} with `create` when the name exists.
   */
  async put(
    def: SwarmDefinition,
    meta: { yaml: string | null; note: string | null; by: string; create?: boolean },
  ): Promise<PutResult> {
    const r = await this.#db.write((tx) => {
      if (meta.create && getCatalog(tx, def.name)) return undefined;
      return putDefinition(tx, def, { ...meta, now: Date.now() });
    });
    if (!r) {
      throw new Conflict(
        `${def.name} is already in the catalog: PUT /api/v1/swarm/catalog/${def.name} stores a ` +
          "new version",
      );
    }
    return { entry: this.get(def.name), changed: r.changed, created: r.created };
  }

  /** @throws {NotFound} */
  async delete(name: string): Promise<void> {
    const gone = await this.#db.write((tx) => deleteCatalog(tx, name));
    if (!gone) throw new NotFound(`no definition ${name} in the catalog`);
  }

  /** @throws {NotFound} */
  versions(name: string): SwarmCatalogVersion[] {
    this.get(name);
    return listVersions(this.#db, name);
  }

  /** One version (default: the newest). @throws {NotFound} */
  version(name: string, v?: number): SwarmCatalogVersion {
    const at = v ?? this.get(name).version;
    const found = getVersion(this.#db, name, at);
    if (!found) {
      throw new NotFound(
        `${name} has no version ${at}: see GET /api/v1/swarm/catalog/${name}/versions`,
      );
    }
    return found;
  }

  async markDeployed(name: string, version: number): Promise<void> {
    await this.#db.write((tx) => markDeployed(tx, name, version, Date.now()));
  }
}
