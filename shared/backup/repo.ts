/**
 * An opened repository: its S3 bucket, keys and chunker, the object names under its prefix, and
 * the lock objects that keep prune and backups apart.
 *
 * Locks: a backup holds a shared lock (`locks/backup-<id>`), a prune an exclusive one
 * (`locks/prune-<id>`). Each writes its lock first and lists the others second, so of two that
 * start together at least one sees the other (S3 lists are read-after-write consistent). A lock
 * is refreshed every minute; one whose `lastModified` (the server's clock, compared with the
 * caller's own fresh lock) is older than the stale limit belongs to a dead process and is ignored
 * (prune deletes it).
 *
 * @module
 */
import { openS3, S3Failure, type S3Store } from "../s3.ts";
import { DEFAULT_CHUNKER, gearTable } from "./chunker.ts";
import { BackupError, toBackupError } from "./errors.ts";
import {
  chunkId,
  decodeObject,
  encodeObject,
  newWrappedKey,
  type RepoKeys,
  unwrapKey,
} from "./format.ts";
import {
  describeIssues,
  type LockBody,
  lockSchema,
  type Manifest,
  manifestSchema,
  type RepoConfig,
  repoConfigSchema,
} from "./schema.ts";
import type { ChunkerParams } from "./chunker.ts";
import type { RepoRef } from "./types.ts";

/** A lock not refreshed for this long belongs to a dead process (default 15 min). */
export const DEFAULT_STALE_LOCK_MS = 15 * 60_000;
/** How often a holder re-writes its lock. */
export const LOCK_REFRESH_MS = 60_000;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An opened repository. */
export class Repo {
  private constructor(
    readonly s3: S3Store,
    readonly prefix: string,
    readonly config: RepoConfig,
    readonly keys: RepoKeys | null,
    readonly gear: Int32Array,
  ) {}

  /** Opens `ref`; `create` makes the config on first use, else an absent repo is `not-found`. */
  static async open(ref: RepoRef, create: boolean, signal?: AbortSignal): Promise<Repo> {
    try {
      const prefix = ref.prefix.replace(/^\/+|\/+$/g, "");
      if (prefix.split("/").some((s) => s === "..")) {
        throw new BackupError("bad-input", "repository prefix must not contain '..'");
      }
      const s3 = openS3(ref.s3, ref.s3Options);
      const key = (prefix ? prefix + "/" : "") + "config";
      let raw: Uint8Array | null = null;
      try {
        raw = await s3.get(key, { signal });
      } catch (e) {
        const be = toBackupError(e);
        if (be.code !== "not-found") throw be;
        // A missing object and a missing bucket both answer 404 on some servers: tell them apart.
        await s3.checkBucket({ signal });
      }
      if (!raw) {
        if (!create) {
          throw new BackupError("not-found", `no backup repository at ${s3.where}/${prefix}`);
        }
        const mine = await Repo.#newConfig(ref);
        await s3.put(key, enc.encode(JSON.stringify(mine.config)), { signal });
        // Two first backups at once: both wrote; whatever the bucket holds now wins.
        raw = await s3.get(key, { signal });
      }
      let config: RepoConfig;
      try {
        const parsed = repoConfigSchema.safeParse(JSON.parse(dec.decode(raw)));
        if (!parsed.success) throw new Error(describeIssues(parsed.error, "config"));
        config = parsed.data;
      } catch (e) {
        throw new BackupError(
          "bad-manifest",
          `repository config at ${s3.where}/${key} is invalid: ${(e as Error).message}`,
        );
      }
      let keys: RepoKeys | null = null;
      if (config.encryption && !ref.encryptionKey) {
        throw new BackupError(
          "encryption-mismatch",
          "this repository is encrypted: an encryption key is needed",
        );
      }
      if (!config.encryption && ref.encryptionKey) {
        throw new BackupError(
          "encryption-mismatch",
          "this repository is not encrypted, but an encryption key was given",
        );
      }
      if (config.encryption && ref.encryptionKey) {
        keys = await unwrapKey(ref.encryptionKey, config.encryption);
      }
      const seed = keys ? keys.chunkerSeed : hexBytes(config.chunker.seed ?? "00".repeat(16));
      return new Repo(s3, prefix, config, keys, await gearTable(seed));
    } catch (e) {
      throw toBackupError(e);
    }
  }

  static async #newConfig(ref: RepoRef): Promise<{ config: RepoConfig }> {
    const w = ref.encryptionKey ? await newWrappedKey(ref.encryptionKey) : null;
    const seed = Array.from(
      crypto.getRandomValues(new Uint8Array(16)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    return {
      config: {
        v: 1,
        id: crypto.randomUUID(),
        created: new Date().toISOString(),
        chunker: { ...DEFAULT_CHUNKER, seed: w ? null : seed },
        encryption: w ? w.wrapped : null,
      },
    };
  }

  get chunker(): ChunkerParams {
    return this.config.chunker;
  }

  /** Full object name of a repository-relative name. */
  key(rel: string): string {
    return this.prefix ? `${this.prefix}/${rel}` : rel;
  }

  chunkKey(id: string): string {
    return this.key(`chunks/${id.slice(0, 2)}/${id}`);
  }

  /** Every chunk in the bucket: id → size and server date. */
  async listChunks(
    signal?: AbortSignal,
  ): Promise<Map<string, { size: number; lastModified: Date }>> {
    const out = new Map<string, { size: number; lastModified: Date }>();
    const base = this.key("chunks/");
    for await (const o of this.s3.list(base, { signal })) {
      const id = o.key.slice(o.key.lastIndexOf("/") + 1);
      if (/^[0-9a-f]{64}$/.test(id)) out.set(id, { size: o.size, lastModified: o.lastModified });
    }
    return out;
  }

  /** Uploads encoded bytes of chunk `id`; returns the object's size. */
  async putChunk(id: string, data: Uint8Array, signal?: AbortSignal): Promise<number> {
    const obj = await encodeObject(data, id, this.keys);
    await this.s3.put(this.chunkKey(id), obj, { signal });
    return obj.length;
  }

  /** Downloads chunk `id` and checks that its plain bytes hash back to `id`. */
  async getChunk(id: string, signal?: AbortSignal): Promise<Uint8Array> {
    let obj: Uint8Array;
    try {
      obj = await this.s3.get(this.chunkKey(id), { signal });
    } catch (e) {
      const be = toBackupError(e);
      if (be.code === "not-found") {
        throw new BackupError("integrity", `chunk ${id.slice(0, 12)}… is missing from the bucket`);
      }
      throw be;
    }
    const data = await decodeObject(obj, id, this.keys);
    if ((await chunkId(data, this.keys)) !== id) {
      throw new BackupError("integrity", `chunk ${id.slice(0, 12)}… does not match its hash`);
    }
    return data;
  }

  /** Manifest ids in the bucket, oldest first (ids start with the time). */
  async listManifestIds(signal?: AbortSignal): Promise<string[]> {
    const base = this.key("snapshots/");
    const ids: string[] = [];
    for await (const o of this.s3.list(base, { signal })) ids.push(o.key.slice(base.length));
    return ids.filter((id) => /^[0-9A-Za-z-]{1,80}$/.test(id)).sort();
  }

  /** Reads and validates a manifest. */
  async getManifest(id: string, signal?: AbortSignal): Promise<Manifest> {
    if (!/^[0-9A-Za-z-]{1,80}$/.test(id)) {
      throw new BackupError("not-found", `snapshot id "${id.slice(0, 80)}" is not valid`);
    }
    let obj: Uint8Array;
    try {
      obj = await this.s3.get(this.key(`snapshots/${id}`), { signal });
    } catch (e) {
      const be = toBackupError(e);
      if (be.code === "not-found") throw new BackupError("not-found", `no snapshot ${id}`);
      throw be;
    }
    const plain = await decodeObject(obj, `snapshot:${id}`, this.keys);
    let parsed;
    try {
      parsed = manifestSchema.safeParse(JSON.parse(dec.decode(plain)));
    } catch {
      throw new BackupError("bad-manifest", `snapshot ${id}: manifest is not JSON`);
    }
    if (!parsed.success) {
      throw new BackupError("bad-manifest", describeIssues(parsed.error, `snapshot ${id}`));
    }
    if (parsed.data.id !== id) {
      throw new BackupError("bad-manifest", `snapshot ${id}: manifest names another id`);
    }
    return parsed.data;
  }

  /** Writes a manifest (the last step of a backup). */
  async putManifest(m: Manifest, signal?: AbortSignal): Promise<void> {
    const obj = await encodeObject(enc.encode(JSON.stringify(m)), `snapshot:${m.id}`, this.keys);
    await this.s3.put(this.key(`snapshots/${m.id}`), obj, { signal });
  }

  async deleteManifest(id: string, signal?: AbortSignal): Promise<void> {
    await this.s3.delete(this.key(`snapshots/${id}`), { signal });
  }

  /** Takes a lock (see the module doc); the caller must `release()` it. */
  async lock(kind: "backup" | "prune", host: string, signal?: AbortSignal): Promise<Lock> {
    const name = this.key(`locks/${kind}-${crypto.randomUUID()}`);
    const body: LockBody = { kind, host, pid: Deno.pid, time: new Date().toISOString() };
    const write = () => this.s3.put(name, enc.encode(JSON.stringify(body)), { signal });
    await write();
    let failures = 0;
    let refreshing: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      refreshing = write().then(() => {
        failures = 0;
      }, () => {
        failures++;
      });
    }, LOCK_REFRESH_MS);
    Deno.unrefTimer(timer);
    return {
      name,
      release: async () => {
        clearInterval(timer);
        // A refresh still in flight would write the lock again after the delete.
        await refreshing;
        await this.s3.delete(name).catch(() => {});
      },
      refreshFailures: () => failures,
    };
  }

  /** Every lock object with its server date, whether it is stale, and whether it is `mine`. */
  async listLocks(
    mine: string | null,
    staleMs = DEFAULT_STALE_LOCK_MS,
    signal?: AbortSignal,
  ): Promise<LockInfo[]> {
    const objs = [];
    for await (const o of this.s3.list(this.key("locks/"), { signal })) objs.push(o);
    const own = objs.find((o) => o.key === mine);
    // "Now" on the server's clock: our own lock was just written; else the newest lock.
    const now = own?.lastModified.getTime() ??
      Math.max(Date.now(), ...objs.map((o) => o.lastModified.getTime()));
    const out: LockInfo[] = [];
    for (const o of objs) {
      let body: LockBody | null = null;
      let gone = false;
      // A lock listed and then 404 was released in between (its backup or prune ended): read it
      // again to be sure, then skip it. Any other unreadable lock still counts, by "?".
      for (let attempt = 0; attempt < 3 && body === null; attempt++) {
        try {
          const parsed = lockSchema.safeParse(JSON.parse(dec.decode(await this.s3.get(o.key))));
          if (parsed.success) body = parsed.data;
          gone = false;
          break;
        } catch (e) {
          if (!(e instanceof S3Failure && e.kind === "not-found")) break;
          gone = true;
          if (attempt < 2) await new Promise((r) => setTimeout(r, 200));
        }
      }
      if (gone) continue;
      const kind = o.key.slice(this.key("locks/").length).startsWith("prune-") ? "prune" : "backup";
      out.push({
        key: o.key,
        kind,
        host: body?.host ?? "?",
        since: body?.time ?? o.lastModified.toISOString(),
        stale: now - o.lastModified.getTime() > staleMs,
        mine: o.key === mine,
        serverTime: o.lastModified,
      });
    }
    return out;
  }
}

/** A held lock. */
export interface Lock {
  name: string;
  release(): Promise<void>;
  refreshFailures(): number;
}

/** A lock object as listed. */
export interface LockInfo {
  key: string;
  kind: "backup" | "prune";
  host: string;
  since: string;
  stale: boolean;
  mine: boolean;
  serverTime: Date;
}

function hexBytes(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
}
