/**
 * The registry browser over the Docker Registry HTTP API v2 (plain HTTP for a LAN registry):
 * repositories, tags with digest, size and architecture, and deleting a tag (its manifest; the
 * registry must run with `storage.delete.enabled: true`).
 *
 * @module
 */
import { Conflict, HttpProblem, NotFound, Upstream } from "../core/errors.ts";
import type { RegistryCatalog, RegistryTag, RegistryTags } from "../../shared/protocol/mod.ts";

const TIMEOUT_MS = 10_000;
/** Most repositories listed, and tags detailed per repository. */
const MAX_REPOSITORIES = 1000;
const MAX_TAGS = 500;
/** Parallel requests to the registry. */
const CONCURRENCY = 8;

const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

/** 503: the registry does not answer. */
export class RegistryUnreachable extends HttpProblem {
  constructor(detail: string) {
    super(503, "registry-unreachable", "Registry unreachable", detail);
  }
}

interface Manifest {
  mediaType?: string;
  config?: { digest: string; size: number };
  layers?: { size: number }[];
  manifests?: {
    digest: string;
    mediaType?: string;
    platform?: { architecture?: string; os?: string };
  }[];
}

async function mapLimit<T, R>(items: T[], fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** A client of one registry. */
export class RegistryBrowser {
  #base: string | undefined;

  /** `base` is the registry's origin (`http://host:port`), or undefined when none is set. */
  constructor(base: string | undefined) {
    this.#base = base;
  }

  get host(): string | null {
    return this.#base ? new URL(this.#base).host : null;
  }

  #need(): string {
    if (!this.#base) {
      throw new Conflict(
        "no registry is configured: set --swarm-registry (e.g. http://192.168.1.100:5000)",
      );
    }
    return this.#base;
  }

  async #fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const base = this.#need();
    try {
      return await fetch(base + path, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (error) {
      throw new RegistryUnreachable(
        `registry unreachable at ${base}: ${(error as Error).message}`,
      );
    }
  }

  async #json<T>(path: string, accept?: string): Promise<{ body: T; res: Response }> {
    const res = await this.#fetch(path, accept ? { headers: { accept } } : {});
    if (res.status === 404) {
      await res.body?.cancel();
      throw new NotFound(`the registry has no ${path.replace(/^\/v2\//, "")}`);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      throw new Upstream(`registry ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    }
    return { body: await res.json() as T, res };
  }

  /** Whether the registry's v2 API answers (401 counts: it is up, it wants a login). */
  async ping(): Promise<{ registry: string; reachable: boolean; error: string | null } | null> {
    if (!this.#base) return null;
    try {
      const res = await fetch(`${this.#base}/v2/`, { signal: AbortSignal.timeout(3_000) });
      await res.body?.cancel();
      const up = res.ok || res.status === 401;
      return { registry: this.host!, reachable: up, error: up ? null : `HTTP ${res.status}` };
    } catch (error) {
      return { registry: this.host!, reachable: false, error: (error as Error).message };
    }
  }

  /** Repositories and their tag counts. */
  async catalog(): Promise<RegistryCatalog> {
    if (!this.#base) return { registry: null, repositories: [] };
    const { body } = await this.#json<{ repositories?: string[] }>(
      `/v2/_catalog?n=${MAX_REPOSITORIES}`,
    );
    const names = (body.repositories ?? []).slice(0, MAX_REPOSITORIES);
    const repositories = await mapLimit(names, async (name) => ({
      name,
      tags: (await this.#tagNames(name).catch(() => [])).length,
    }));
    return { registry: this.host, repositories };
  }

  async #tagNames(repo: string): Promise<string[]> {
    const { body } = await this.#json<{ tags?: string[] | null }>(`/v2/${repo}/tags/list`);
    return (body.tags ?? []).sort();
  }

  async #tag(repo: string, tag: string): Promise<RegistryTag> {
    const { body: m, res } = await this.#json<Manifest>(
      `/v2/${repo}/manifests/${encodeURIComponent(tag)}`,
      MANIFEST_TYPES,
    );
    const digest = res.headers.get("docker-content-digest") ?? "";
    const mediaType = m.mediaType ?? res.headers.get("content-type") ?? "";
    let image = m;
    let architectures: string[] = [];
    if (m.manifests) {
      architectures = [
        ...new Set(m.manifests.map((x) => x.platform?.architecture ?? "").filter(Boolean)),
      ].filter((a) => a !== "unknown");
      const first = m.manifests.find((x) => x.platform?.architecture !== "unknown");
      image = first
        ? (await this.#json<Manifest>(`/v2/${repo}/manifests/${first.digest}`, MANIFEST_TYPES))
          .body
        : {};
    }
    let created: number | null = null;
    if (image.config) {
      const cfg = await this.#json<{ architecture?: string; created?: string }>(
        `/v2/${repo}/blobs/${image.config.digest}`,
      ).then((r) => r.body, () => ({} as { architecture?: string; created?: string }));
      if (!architectures.length && cfg.architecture) architectures = [cfg.architecture];
      created = cfg.created ? Date.parse(cfg.created) || null : null;
    }
    const size = (image.config?.size ?? 0) +
      (image.layers ?? []).reduce((n, l) => n + (l.size ?? 0), 0);
    return { tag, digest, size_b: size, architectures, media_type: mediaType, created_at: created };
  }

  /** Tags of a repository with digest, size and architectures. */
  async tags(repo: string): Promise<RegistryTags> {
    const names = (await this.#tagNames(repo)).slice(0, MAX_TAGS);
    return { repository: repo, tags: await mapLimit(names, (t) => this.#tag(repo, t)) };
  }

  /**
   * Deletes a tag's manifest. Other tags of the same digest would go with it: refused unless
   * `force`, naming them.
   */
  async deleteTag(
    repo: string,
    tag: string,
    force: boolean,
  ): Promise<{ digest: string; also: string[] }> {
    const names = await this.#tagNames(repo);
    if (!names.includes(tag)) throw new NotFound(`${repo} has no tag ${tag}`);
    const head = await this.#fetch(`/v2/${repo}/manifests/${encodeURIComponent(tag)}`, {
      method: "HEAD",
      headers: { accept: MANIFEST_TYPES },
    });
    await head.body?.cancel();
    const digest = head.headers.get("docker-content-digest");
    if (!head.ok || !digest) {
      throw new Upstream(`registry: no digest for ${repo}:${tag} (HTTP ${head.status})`);
    }
    const also: string[] = [];
    for (const other of names) {
      if (other === tag) continue;
      const h = await this.#fetch(`/v2/${repo}/manifests/${encodeURIComponent(other)}`, {
        method: "HEAD",
        headers: { accept: MANIFEST_TYPES },
      });
      await h.body?.cancel();
      if (h.headers.get("docker-content-digest") === digest) also.push(other);
    }
    if (also.length && !force) {
      throw new Conflict(
        `${repo}:${tag} shares its manifest with ${also.join(", ")}: deleting it deletes those ` +
          "tags too (repeat with force=1 to do so)",
      );
    }
    const del = await this.#fetch(`/v2/${repo}/manifests/${digest}`, { method: "DELETE" });
    const text = await del.text().catch(() => "");
    if (del.status === 405) {
      throw new Conflict(
        "the registry does not allow deletes: run it with storage.delete.enabled: true " +
          "(REGISTRY_STORAGE_DELETE_ENABLED=true)",
      );
    }
    if (!del.ok) throw new Upstream(`registry delete: HTTP ${del.status} ${text.slice(0, 300)}`);
    return { digest, also };
  }
}
