/**
 * Build and push: a definition's `build_context` (a folder of the projects directory) is sent to
 * the engine's `/build` as a tar stream, the image is tagged for the configured registry and
 * pushed. Output is streamed live to SSE followers and stored with the run; the run's end is
 * audited. One build per service at a time. A running build can be cancelled: its request to the
 * engine is cut, which makes the engine stop the build (and remove its build containers).
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { Database } from "../core/db.ts";
import type { ConnectionOwner, LiveConnections } from "../core/connections.ts";
import { BadInput, Conflict, NotFound } from "../core/errors.ts";
import { type AuditActor, recordAudit } from "../core/store.ts";
import { readJsonMessages } from "../../shared/docker_api.ts";
import type { SwarmBuildRequest, SwarmBuildRun, SwarmProject } from "../../shared/protocol/mod.ts";
import { getLogger } from "../../shared/log.ts";
import type { SwarmEngine } from "./engine.ts";
import type { SwarmCatalog } from "./catalog.ts";
import { REGISTRY_AUTH_NONE } from "./services.ts";
import { failInterruptedBuilds, finishBuild, getBuild, insertBuild, listBuilds } from "./store.ts";
import { tarDirectory } from "./tar.ts";

const logger = getLogger("swarm.build");
const encoder = new TextEncoder();

/** Output kept per run (head and tail are kept when it is longer). */
export const BUILD_OUTPUT_CAP = 1024 * 1024;
/** A build (and push) taking longer than this is stopped. */
const BUILD_TIMEOUT_MS = 60 * 60_000;

/** An image reference split into registry, repository path and tag. */
export function splitImage(
  ref: string,
): { registry: string | null; path: string; tag: string | null } {
  const noDigest = ref.split("@")[0];
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  const tag = colon > slash ? noDigest.slice(colon + 1) : null;
  const rest = tag === null ? noDigest : noDigest.slice(0, colon);
  const first = rest.split("/")[0];
  if (rest.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return { registry: first, path: rest.slice(first.length + 1), tag };
  }
  return { registry: null, path: rest, tag };
}

interface LiveRun {
  run: SwarmBuildRun;
  output: string;
  listeners: Set<(frame: string) => void>;
  abort: AbortController;
  /** Who cancelled it, once someone did. */
  cancelledBy?: string;
  /** Settles when the run is stored as ended. */
  done?: Promise<void>;
}

/** Collaborators of {@link SwarmBuilds}. */
export interface SwarmBuildsOptions {
  engine: SwarmEngine;
  db: Database;
  catalog: SwarmCatalog;
  connections: LiveConnections;
  /** Where build contexts live. */
  projectsDir: string;
  /** The registry's origin (`http://host:port`), or undefined. */
  registry: string | undefined;
}

/** Builds and pushes. */
export class SwarmBuilds {
  #o: SwarmBuildsOptions;
  #live = new Map<string, LiveRun>();
  #running = new Set<Promise<void>>();

  constructor(o: SwarmBuildsOptions) {
    this.#o = o;
  }

  /** Marks runs a stopped hub left `running` as failed. */
  async recover(): Promise<void> {
    const n = await this.#o.db.write((tx) => failInterruptedBuilds(tx, Date.now()));
    if (n) logger.warn("builds interrupted by a hub stop marked failed", { builds: n });
  }

  /** `host:port` of the configured registry, or null. */
  get registryHost(): string | null {
    return this.#o.registry ? new URL(this.#o.registry).host : null;
  }

  /** Folders of the projects directory (an absent directory has none). */
  async projects(): Promise<SwarmProject[]> {
    const out: SwarmProject[] = [];
    try {
      for await (const e of Deno.readDir(this.#o.projectsDir)) {
        if (!e.isDirectory || e.name.startsWith(".")) continue;
        const dir = join(this.#o.projectsDir, e.name);
        const st = await Deno.stat(dir).catch(() => undefined);
        const df = await Deno.stat(join(dir, "Dockerfile")).then(() => true, () => false);
        out.push({ name: e.name, has_dockerfile: df, modified_at: st?.mtime?.getTime() ?? null });
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The context folder of a definition, inside the projects directory. */
  async #context(rel: string): Promise<string> {
    const root = await Deno.realPath(this.#o.projectsDir).catch(() => {
      throw new Conflict(
        `the projects directory ${this.#o.projectsDir} does not exist: create it or set ` +
          "--swarm-projects-dir",
      );
    });
    const dir = await Deno.realPath(resolve(root, rel)).catch(() => {
      throw new BadInput(`build_context ${rel}: no such folder in ${this.#o.projectsDir}`, [
        { path: "build_context", message: "no such folder in the projects directory" },
      ]);
    });
    // A symlink must not lead the build outside the projects directory.
    if (dir !== root && !dir.startsWith(root + "/")) {
      throw new BadInput(`build_context ${rel} leads outside the projects directory`, [
        { path: "build_context", message: "outside the projects directory" },
      ]);
    }
    return dir;
  }

  /** Starts a build of a catalog entry; answers at once with the running run. */
  async start(name: string, req: SwarmBuildRequest, by: AuditActor): Promise<SwarmBuildRun> {
    const entry = this.#o.catalog.get(name);
    const def = entry.definition;
    if (!def.build_context) {
      throw new Conflict(
        `${name} has no build_context: add one (a folder of the projects directory) to build it`,
      );
    }
    for (const r of this.#live.values()) {
      if (r.run.service === name) {
        throw new Conflict(`${name} is already being built (build ${r.run.id})`);
      }
    }
    const push = req.push ?? this.registryHost !== null;
    if (push && !this.registryHost) {
      throw new Conflict(
        "no registry is configured to push to: set --swarm-registry (e.g. http://192.168.1.100:5000)",
      );
    }
    const dir = await this.#context(def.build_context);
    const dockerfile = def.dockerfile ?? "Dockerfile";
    if (!(await Deno.stat(join(dir, dockerfile)).then((s) => s.isFile, () => false))) {
      throw new BadInput(`${def.build_context} has no ${dockerfile}`, [
        { path: "dockerfile", message: `no ${dockerfile} in ${def.build_context}` },
      ]);
    }
    const img = splitImage(def.image);
    const tag = req.tag ?? img.tag ?? "latest";
    const registry = this.registryHost ?? img.registry;
    const image = `${registry ? `${registry}/` : ""}${img.path}:${tag}`;
    const run: SwarmBuildRun = {
      id: crypto.randomUUID(),
      service: name,
      context: def.build_context,
      dockerfile,
      image,
      platform: req.platform ?? def.platform ?? null,
      push,
      state: "running",
      step: "build",
      error: null,
      digest: null,
      started_at: Date.now(),
      finished_at: null,
      started_by: by.name,
      output_b: 0,
    };
    await this.#o.db.write((tx) => insertBuild(tx, run));
    const live: LiveRun = { run, output: "", listeners: new Set(), abort: new AbortController() };
    this.#live.set(run.id, live);
    const p = this.#run(live, dir, req, by).finally(() => this.#running.delete(p));
    live.done = p;
    this.#running.add(p);
    return { ...run };
  }

  /**
   * Cancels a running build and answers the run as stored once it ended (`cancelled`).
   *
   * @throws {NotFound} for an unknown build; {@link Conflict} for one that already ended.
   */
  async cancel(id: string, by: AuditActor): Promise<SwarmBuildRun> {
    const live = this.#live.get(id);
    if (!live) {
      const r = this.get(id);
      throw new Conflict(`build ${id} is not running: it ${r.state}`);
    }
    live.cancelledBy ??= by.name;
    live.abort.abort(new Error(`cancelled by ${by.name}`));
    await live.done;
    const { output: _, ...run } = this.get(id);
    return run;
  }

  #emit(live: LiveRun, text: string): void {
    if (!text) return;
    live.output += text;
    if (live.output.length > BUILD_OUTPUT_CAP) {
      const head = live.output.slice(0, BUILD_OUTPUT_CAP / 4);
      const tail = live.output.slice(-BUILD_OUTPUT_CAP / 2);
      live.output = `${head}\n… output shortened …\n${tail}`;
    }
    const frame = `event: output\ndata: ${JSON.stringify({ text })}\n\n`;
    for (const l of live.listeners) l(frame);
  }

  async #run(live: LiveRun, dir: string, req: SwarmBuildRequest, by: AuditActor): Promise<void> {
    const { run } = live;
    const signal = AbortSignal.any([live.abort.signal, AbortSignal.timeout(BUILD_TIMEOUT_MS)]);
    try {
      this.#emit(live, `building ${run.image} from ${run.context}\n`);
      const res = await this.#o.engine.stream("POST", "/build", {
        query: {
          t: run.image,
          dockerfile: run.dockerfile,
          rm: 1,
          forcerm: 1,
          ...(req.no_cache ? { nocache: 1 } : {}),
          ...(req.network && req.network !== "default" ? { networkmode: req.network } : {}),
          ...(run.platform ? { platform: run.platform } : {}),
        },
        raw: { body: tarDirectory(dir), contentType: "application/x-tar" },
        signal,
      });
      let failure: string | null = null;
      await readJsonMessages(res.body!, (m) => {
        if (typeof m.stream === "string") this.#emit(live, m.stream);
        if (typeof m.error === "string") failure = m.error;
      });
      if (failure) throw new Error(`build failed: ${failure}`);
      if (run.push) {
        run.step = "push";
        const { path, tag } = splitImage(run.image);
        const registry = this.registryHost!;
        this.#emit(live, `pushing ${run.image}\n`);
        const pushRes = await this.#o.engine.stream(
          "POST",
          `/images/${registry}/${path}/push`,
          {
            query: { tag: tag ?? "latest" },
            headers: { "x-registry-auth": REGISTRY_AUTH_NONE },
            signal,
          },
        );
        await readJsonMessages(pushRes.body!, (m) => {
          if (typeof m.error === "string") failure = m.error;
          const aux = m.aux as { Digest?: string } | undefined;
          if (aux?.Digest) run.digest = aux.Digest;
          const pd = m.progressDetail as Record<string, unknown> | undefined;
          if (typeof m.status === "string" && (!pd || !Object.keys(pd).length)) {
            this.#emit(live, `${m.id ? `${m.id}: ` : ""}${m.status}\n`);
          }
        });
        if (failure) throw new Error(`push failed: ${failure}`);
      }
      if (req.update_catalog !== false) {
        const entry = this.#o.catalog.get(run.service);
        if (entry.definition.image !== run.image) {
          const put = await this.#o.catalog.put({ ...entry.definition, image: run.image }, {
            yaml: null,
            note: `image from build ${run.id}`,
            by: by.name,
          });
          this.#emit(
            live,
            `catalog: ${run.service} version ${put.entry.version} uses ${run.image}\n`,
          );
        }
      }
      run.state = "succeeded";
      run.step = "done";
      this.#emit(live, `done${run.digest ? `: ${run.digest}` : ""}\n`);
    } catch (error) {
      const e = this.#o.engine.problem(error);
      run.state = live.cancelledBy ? "cancelled" : "failed";
      run.error = live.cancelledBy
        ? `cancelled by ${live.cancelledBy} during the ${run.step}`
        : signal.aborted && !live.abort.signal.aborted
        ? `the build took longer than ${BUILD_TIMEOUT_MS / 60_000} minutes`
        : e.message;
      this.#emit(live, `error: ${run.error}\n`);
    }
    run.finished_at = Date.now();
    await this.#o.db.write((tx) => finishBuild(tx, run.id, run, live.output));
    await recordAudit(this.#o.db, {
      actor: by,
      action: "swarm.build.finish",
      target: run.service,
      result: run.state === "succeeded" ? "ok" : "error",
      detail: {
        build: run.id,
        image: run.image,
        push: run.push,
        ...(run.digest ? { digest: run.digest } : {}),
        ...(run.error ? { error: run.error } : {}),
      },
    });
    this.#live.delete(run.id);
    const end = `event: end\ndata: ${JSON.stringify({ run: this.get(run.id) })}\n\n`;
    for (const l of live.listeners) l(end);
    live.listeners.clear();
  }

  list(service: string | undefined, limit: number): SwarmBuildRun[] {
    return listBuilds(this.#o.db, service, limit).map((r) => this.#withLive(r));
  }

  #withLive(r: SwarmBuildRun): SwarmBuildRun {
    const live = this.#live.get(r.id);
    if (!live) return r;
    return {
      ...r,
      step: live.run.step,
      output_b: encoder.encode(live.output).length,
      ...(r.output !== undefined ? { output: live.output } : {}),
    };
  }

  /** @throws {NotFound} */
  get(id: string): SwarmBuildRun {
    const r = getBuild(this.#o.db, id);
    if (!r) throw new NotFound(`no build ${id}: see GET /api/v1/swarm/builds`);
    return this.#withLive(r);
  }

  /**
   * The run's output as server-sent events: what was written so far, then live `output` events,
   * then `end` with the stored run.
   */
  events(id: string, owner: ConnectionOwner): ReadableStream<Uint8Array> {
    const run = this.get(id);
    const live = this.#live.get(id);
    let cleanup = () => {};
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        let closed = false;
        const close = () => {
          if (closed) return;
          closed = true;
          cleanup();
          try {
            controller.close();
          } catch { /* already closed */ }
        };
        const send = (frame: string) => {
          if (closed) return;
          try {
            controller.enqueue(encoder.encode(frame));
          } catch {
            close();
          }
          if (frame.startsWith("event: end")) close();
        };
        if (!live) {
          if (run.output) send(`event: output\ndata: ${JSON.stringify({ text: run.output })}\n\n`);
          const { output: _, ...rest } = run;
          send(`event: end\ndata: ${JSON.stringify({ run: rest })}\n\n`);
          return;
        }
        if (live.output) send(`event: output\ndata: ${JSON.stringify({ text: live.output })}\n\n`);
        live.listeners.add(send);
        const untrack = this.#o.connections.track("logs", owner, close);
        const heartbeat = setInterval(() => send(": heartbeat\n\n"), 15_000);
        cleanup = () => {
          live.listeners.delete(send);
          untrack();
          clearInterval(heartbeat);
        };
      },
      cancel: () => cleanup(),
    });
  }

  /** Stops running builds and waits for their records. */
  async shutdown(): Promise<void> {
    for (const r of this.#live.values()) r.abort.abort(new Error("the hub is stopping"));
    await Promise.allSettled([...this.#running]);
  }
}
