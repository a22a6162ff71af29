/**
 * The swarm feature's SQL: catalog entries and their versions, build runs, stacks the hub
 * deployed. Definitions are stored as their validated JSON.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type {
  SwarmBuildRun,
  SwarmCatalogEntry,
  SwarmCatalogVersion,
  SwarmDefinition,
} from "../../shared/protocol/mod.ts";

interface CatalogRow {
  name: string;
  version: number;
  created_at: number;
  updated_at: number;
  updated_by: string;
  deployed_version: number | null;
  deployed_at: number | null;
  definition: string;
}

interface VersionRow {
  name: string;
  version: number;
  definition: string;
  yaml: string | null;
  note: string | null;
  created_at: number;
  created_by: string;
}

const ENTRY_SQL = `SELECT c.*, v.definition FROM swarm_catalog c
  JOIN swarm_catalog_versions v ON v.name = c.name AND v.version = c.version`;

function entry(r: CatalogRow): SwarmCatalogEntry {
  return {
    name: r.name,
    version: r.version,
    definition: JSON.parse(r.definition),
    created_at: r.created_at,
    updated_at: r.updated_at,
    updated_by: r.updated_by,
    deployed_version: r.deployed_version,
    deployed_at: r.deployed_at,
    live: null,
  };
}

function version(r: VersionRow): SwarmCatalogVersion {
  return { ...r, definition: JSON.parse(r.definition) };
}

/** Every catalog entry at its newest version, by name. */
export function listCatalog(db: Database): SwarmCatalogEntry[] {
  return db.all<CatalogRow>(`${ENTRY_SQL} ORDER BY c.name`).map(entry);
}

/** One entry, or undefined. */
export function getCatalog(db: Database, name: string): SwarmCatalogEntry | undefined {
  const r = db.get<CatalogRow>(`${ENTRY_SQL} WHERE c.name = ?`, name);
  return r ? entry(r) : undefined;
}

/** Versions of an entry, newest first. */
export function listVersions(db: Database, name: string): SwarmCatalogVersion[] {
  return db.all<VersionRow>(
    "SELECT * FROM swarm_catalog_versions WHERE name = ? ORDER BY version DESC",
    name,
  ).map(version);
}

/** One version, or undefined. */
export function getVersion(
  db: Database,
  name: string,
  v: number,
): SwarmCatalogVersion | undefined {
  const r = db.get<VersionRow>(
    "SELECT * FROM swarm_catalog_versions WHERE name = ? AND version = ?",
    name,
    v,
  );
  return r ? version(r) : undefined;
}

/**
 * Stores `def` as the entry's next version (inside a write). When it equals the newest version
 * nothing is stored and that version is returned with `changed: false`.
 */
export function putDefinition(
  db: Database,
  def: SwarmDefinition,
  meta: { yaml: string | null; note: string | null; by: string; now: number },
): { version: number; changed: boolean; created: boolean } {
  const json = JSON.stringify(def);
  const cur = db.get<{ version: number; definition: string }>(
    `SELECT c.version, v.definition FROM swarm_catalog c
     JOIN swarm_catalog_versions v ON v.name = c.name AND v.version = c.version WHERE c.name = ?`,
    def.name,
  );
  if (cur && cur.definition === json) {
    return { version: cur.version, changed: false, created: false };
  }
  // Versions of a deleted entry are gone: a re-registered name starts again at 1.
  const next = (cur?.version ?? 0) + 1;
  db.run(
    `INSERT INTO swarm_catalog_versions (name, version, definition, yaml, note, created_at, created_by)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    def.name,
    next,
    json,
    meta.yaml,
    meta.note,
    meta.now,
    meta.by,
  );
  db.run(
    `INSERT INTO swarm_catalog (name, version, created_at, updated_at, updated_by)
     VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET version = excluded.version,
       updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    def.name,
    next,
    meta.now,
    meta.now,
    meta.by,
  );
  return { version: next, changed: true, created: !cur };
}

/** Forgets an entry and its versions; false when there was none. */
export function deleteCatalog(db: Database, name: string): boolean {
  db.run("DELETE FROM swarm_catalog_versions WHERE name = ?", name);
  return db.run("DELETE FROM swarm_catalog WHERE name = ?", name).changes > 0;
}

/** Notes that `version` of `name` was deployed now. */
export function markDeployed(db: Database, name: string, v: number, now: number): void {
  db.run(
    "UPDATE swarm_catalog SET deployed_version = ?, deployed_at = ? WHERE name = ?",
    v,
    now,
    name,
  );
}

interface BuildRow {
  id: string;
  service: string;
  context: string;
  dockerfile: string;
  image: string;
  platform: string | null;
  push: number;
  state: SwarmBuildRun["state"];
  step: string;
  error: string | null;
  digest: string | null;
  started_at: number;
  finished_at: number | null;
  started_by: string;
  output_b: number;
  output?: string;
}

function build(r: BuildRow): SwarmBuildRun {
  const { push, output, ...rest } = r;
  return { ...rest, push: push === 1, ...(output === undefined ? {} : { output }) };
}

const BUILD_COLUMNS = `id, service, context, dockerfile, image, platform, push, state, step, error,
  digest, started_at, finished_at, started_by, length(CAST(output AS BLOB)) AS output_b`;

/** Inserts a new (running) build run. */
export function insertBuild(db: Database, run: SwarmBuildRun): void {
  db.run(
    `INSERT INTO swarm_builds (id, service, context, dockerfile, image, platform, push, state,
       step, started_at, started_by)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    run.id,
    run.service,
    run.context,
    run.dockerfile,
    run.image,
    run.platform,
    run.push ? 1 : 0,
    run.state,
    run.step,
    run.started_at,
    run.started_by,
  );
}

/** Stores a build's end (state, error, digest, its whole output). */
export function finishBuild(
  db: Database,
  id: string,
  end: Pick<SwarmBuildRun, "state" | "step" | "error" | "digest" | "finished_at">,
  output: string,
): void {
  db.run(
    `UPDATE swarm_builds SET state = ?, step = ?, error = ?, digest = ?, finished_at = ?, output = ?
     WHERE id = ?`,
    end.state,
    end.step,
    end.error,
    end.digest,
    end.finished_at,
    output,
    id,
  );
}

/** Build runs newest first (without output). */
export function listBuilds(
  db: Database,
  service: string | undefined,
  limit: number,
): SwarmBuildRun[] {
  return db.all<BuildRow>(
    `SELECT ${BUILD_COLUMNS} FROM swarm_builds ${service ? "WHERE service = ?" : ""}
     ORDER BY started_at DESC, id DESC LIMIT ?`,
    ...(service ? [service, limit] : [limit]),
  ).map(build);
}

/** One run with its output. */
export function getBuild(db: Database, id: string): SwarmBuildRun | undefined {
  const r = db.get<BuildRow>(`SELECT ${BUILD_COLUMNS}, output FROM swarm_builds WHERE id = ?`, id);
  return r ? build(r) : undefined;
}

/** Runs left `running` by a hub that stopped: they failed. */
export function failInterruptedBuilds(db: Database, now: number): number {
  return db.run(
    `UPDATE swarm_builds SET state = 'failed', error = 'the hub stopped during the build',
       finished_at = ? WHERE state = 'running'`,
    now,
  ).changes;
}

/** Stacks the hub deployed: name → when, by whom, the compose file. */
export function listStackRows(
  db: Database,
): { name: string; compose: string; deployed_at: number; deployed_by: string }[] {
  return db.all("SELECT * FROM swarm_stacks ORDER BY name");
}

/** Records a deploy of a stack. */
export function putStack(db: Database, name: string, compose: string, by: string, now: number) {
  db.run(
    `INSERT INTO swarm_stacks (name, compose, deployed_at, deployed_by) VALUES (?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET compose = excluded.compose,
       deployed_at = excluded.deployed_at, deployed_by = excluded.deployed_by`,
    name,
    compose,
    now,
    by,
  );
}

/** Forgets a removed stack. */
export function deleteStack(db: Database, name: string): void {
  db.run("DELETE FROM swarm_stacks WHERE name = ?", name);
}
