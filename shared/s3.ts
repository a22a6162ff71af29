/**
 * S3 access for backups and config sync, over `npm:@bradenmacdonald/s3-lite-client` (works
 * against MinIO, Ceph RGW and AWS; path-style addressing for MinIO). Every object is a single PUT
 * of at most {@link MAX_OBJECT_BYTES}: nothing depends on multipart uploads. Requests run with a
 * bounded concurrency and are retried with backoff on throttling, 5xx and network errors; failures
 * become an {@link S3Failure} whose `kind` says what an operator must fix (credentials, endpoint,
 * bucket). Access and secret keys never appear in an error message or a log line, and presigned
 * URLs are returned to the caller only.
 *
 * @module
 */
import { S3Client, S3Errors } from "@bradenmacdonald/s3-lite-client";
import { backoffDelay, sleep } from "./backoff.ts";

/** Where and how to reach a bucket. Keys come from fleet.yml or `FLEET_S3_*` env variables. */
export interface S3Config {
  /** `http(s)://host[:port]`, e.g. `http://192.168.1.100:9000`. */
  endpoint: string;
  /** Signing region; MinIO and RGW accept `us-east-1`. */
  region: string;
  bucket: string;
  /** Path-style addressing (`endpoint/bucket/key`): needed for MinIO and RGW. Default true. */
  pathStyle?: boolean;
  accessKey: string;
  secretKey: string;
}

/** Tuning of {@link openS3}. */
export interface S3Options {
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Retries of a retryable failure (default 4; backoff 200 ms doubling, capped at 5 s). */
  retries?: number;
  /** Per-request timeout in ms (default 60 000). */
  timeoutMs?: number;
}

/** Largest object this module PUTs (8 MiB): one request, no multipart. */
export const MAX_OBJECT_BYTES = 8 * 1024 * 1024;

/** One object of a listing or a stat. `lastModified` is the server's clock. */
export interface S3ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  etag: string;
}

/** What went wrong, in the terms an operator acts on. */
export type S3FailureKind =
  | "credentials" // access key unknown, signature mismatch, access denied
  | "unreachable" // connection refused, DNS, TLS, timeout
  | "no-bucket" // the bucket does not exist
  | "not-found" // the object does not exist
  | "too-large" // an object over MAX_OBJECT_BYTES was refused before sending
  | "aborted" // the caller's signal fired
  | "server" // 5xx after every retry, or an unexpected answer
  | "config"; // endpoint/bucket malformed

/** A failed S3 request; the message names endpoint, bucket and key, never a secret. */
export class S3Failure extends Error {
  constructor(
    readonly kind: S3FailureKind,
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "S3Failure";
  }
}

/** Counters of one {@link S3Store} since it was opened (benchmarks and tests read them). */
export interface S3Stats {
  puts: number;
  putBytes: number;
  gets: number;
  getBytes: number;
  heads: number;
  lists: number;
  deletes: number;
  retries: number;
}

/** Options common to every request. */
export interface S3RequestOptions {
  signal?: AbortSignal;
}

/** A bucket; keys are relative to it. */
export interface S3Store {
  readonly bucket: string;
  /** `endpoint/bucket`, safe to show (no keys). */
  readonly where: string;
  readonly stats: S3Stats;
  /** Fails with kind `no-bucket`, `credentials` or `unreachable` unless the bucket is usable. */
  checkBucket(options?: S3RequestOptions): Promise<void>;
  /** Creates the bucket when missing (tests, first setup). */
  ensureBucket(options?: S3RequestOptions): Promise<void>;
  /** One PUT of at most {@link MAX_OBJECT_BYTES}. */
  put(
    key: string,
    body: Uint8Array,
    options?: S3RequestOptions & { contentType?: string },
  ): Promise<void>;
  /** The whole object, or `length` bytes from `offset`; kind `not-found` when missing. */
  get(
    key: string,
    options?: S3RequestOptions & { offset?: number; length?: number },
  ): Promise<Uint8Array>;
  /** Size and date, or null when the object does not exist. */
  stat(key: string, options?: S3RequestOptions): Promise<S3ObjectInfo | null>;
  /** Every object under `prefix` (recursive), in key order, paged by the server. */
  list(prefix: string, options?: S3RequestOptions): AsyncIterable<S3ObjectInfo>;
  /** Deletes one object; a missing object is not an error. */
  delete(key: string, options?: S3RequestOptions): Promise<void>;
  /** A presigned GET URL valid for `expirySeconds` (1 s … 7 days). Hand it only to its user. */
  presignGet(key: string, expirySeconds: number): Promise<string>;
}

/** Opens a bucket (no request yet; call {@link S3Store.checkBucket} to find problems early). */
export function openS3(config: S3Config, options: S3Options = {}): S3Store {
  return new LiteS3Store(config, options);
}

/**
 * The S3 settings from `FLEET_S3_ENDPOINT`, `FLEET_S3_REGION` (default `us-east-1`),
 * `FLEET_S3_BUCKET`, `FLEET_S3_ACCESS_KEY`, `FLEET_S3_SECRET_KEY`; null unless endpoint, bucket
 * and both keys are set. `FLEET_S3_PATH_STYLE=false` turns path-style addressing off.
 */
export function s3ConfigFromEnv(
  get: (name: string) => string | undefined = (n) => Deno.env.get(n),
): S3Config | null {
  const endpoint = get("FLEET_S3_ENDPOINT");
  const bucket = get("FLEET_S3_BUCKET");
  const accessKey = get("FLEET_S3_ACCESS_KEY");
  const secretKey = get("FLEET_S3_SECRET_KEY");
  if (!endpoint || !bucket || !accessKey || !secretKey) return null;
  return {
    endpoint,
    region: get("FLEET_S3_REGION") || "us-east-1",
    bucket,
    pathStyle: get("FLEET_S3_PATH_STYLE") !== "false",
    accessKey,
    secretKey,
  };
}

/** Counts requests in flight and queues the rest (FIFO). */
class Gate {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = Math.max(1, n);
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

class LiteS3Store implements S3Store {
  readonly bucket: string;
  readonly where: string;
  readonly stats: S3Stats = {
    puts: 0,
    putBytes: 0,
    gets: 0,
    getBytes: 0,
    heads: 0,
    lists: 0,
    deletes: 0,
    retries: 0,
  };
  #client: S3Client;
  #gate: Gate;
  #retries: number;
  #timeoutMs: number;

  constructor(config: S3Config, options: S3Options) {
    let url: URL;
    try {
      url = new URL(config.endpoint);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("scheme");
    } catch {
      throw new S3Failure("config", `S3 endpoint "${config.endpoint}" is not an http(s) URL`);
    }
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(config.bucket)) {
      throw new S3Failure("config", `S3 bucket name "${config.bucket}" is not valid`);
    }
    this.bucket = config.bucket;
    this.where = `${url.origin}/${config.bucket}`;
    this.#client = new S3Client({
      endPoint: url.origin,
      region: config.region || "us-east-1",
      bucket: config.bucket,
      pathStyle: config.pathStyle ?? true,
      accessKey: config.accessKey,
      secretKey: config.secretKey,
    });
    this.#gate = new Gate(options.concurrency ?? 8);
    this.#retries = options.retries ?? 4;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Runs one request through the gate, with timeout, abort and retries. */
  async #call<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0;; attempt++) {
      if (signal?.aborted) throw new S3Failure("aborted", `S3 ${what}: aborted`);
      try {
        return await this.#gate.run(() => this.#bounded(fn, signal));
      } catch (e) {
        const f = this.#classify(what, e);
        const retryable = f.kind === "server" || f.kind === "unreachable";
        if (!retryable || attempt >= this.#retries) throw f;
        this.stats.retries++;
        await sleep(backoffDelay(attempt, { baseMs: 200, capMs: 5000, jitter: "equal" }), signal)
          .catch(() => {});
      }
    }
  }

  /** `fn` raced against the timeout and the caller's signal (the request itself cannot be cut). */
  #bounded<T>(fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError()), this.#timeoutMs);
      const onAbort = () => reject(new S3Failure("aborted", "aborted"));
      signal?.addEventListener("abort", onAbort, { once: true });
      fn().then(resolve, reject).finally(() => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      });
    });
  }

  #classify(what: string, e: unknown): S3Failure {
    if (e instanceof S3Failure) {
      return e.kind === "aborted" ? new S3Failure("aborted", `S3 ${what}: aborted`) : e;
    }
    const at = `S3 ${this.where}: ${what}`;
    if (e instanceof TimeoutError) {
      return new S3Failure("unreachable", `${at}: no answer within ${this.#timeoutMs} ms`);
    }
    if (e instanceof S3Errors.ServerError) {
      const s = e.statusCode;
      const code = e.code;
      if (code === "NoSuchBucket") {
        return new S3Failure("no-bucket", `${at}: bucket "${this.bucket}" does not exist`, s);
      }
      if (
        s === 403 || code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch" ||
        code === "AccessDenied"
      ) {
        return new S3Failure(
          "credentials",
          `${at}: access denied (${
            code === "UnrecognizedError" ? s : code
          }); check the access and secret key`,
          s,
        );
      }
      if (s === 404) return new S3Failure("not-found", `${at}: not found`, s);
      if (s >= 500 || s === 429 || code === "SlowDown" || code === "RequestTimeout") {
        return new S3Failure("server", `${at}: server error ${s} ${code}`, s);
      }
      return new S3Failure("server", `${at}: refused with ${s} ${code}`, s);
    }
    if (e instanceof TypeError) {
      // fetch's network errors: name the cause, not the request URL.
      const m = String(e.message);
      const cause = /refused|tcp connect/i.test(m)
        ? "connection refused"
        : /dns|lookup|resolve/i.test(m)
        ? "host name does not resolve"
        : /certificate|tls|ssl/i.test(m)
        ? "TLS failed"
        : /reset|closed|broken pipe|incomplete/i.test(m)
        ? "connection lost"
        : "network error";
      return new S3Failure("unreachable", `${at}: cannot reach the endpoint (${cause})`);
    }
    if (e instanceof S3Errors.S3Error) {
      return new S3Failure("config", `${at}: ${e.name}`);
    }
    return new S3Failure("server", `${at}: ${e instanceof Error ? e.name : "failed"}`);
  }

  async checkBucket(options: S3RequestOptions = {}): Promise<void> {
    const ok = await this.#call("check bucket", options.signal, async () => {
      this.stats.heads++;
      return await this.#client.bucketExists(this.bucket);
    });
    if (!ok) {
      throw new S3Failure("no-bucket", `S3 ${this.where}: bucket "${this.bucket}" does not exist`);
    }
  }

  async ensureBucket(options: S3RequestOptions = {}): Promise<void> {
    try {
      await this.checkBucket(options);
    } catch (e) {
      if (!(e instanceof S3Failure) || e.kind !== "no-bucket") throw e;
      await this.#call("create bucket", options.signal, () => this.#client.makeBucket(this.bucket));
    }
  }

  async put(
    key: string,
    body: Uint8Array,
    options: S3RequestOptions & { contentType?: string } = {},
  ): Promise<void> {
    if (body.byteLength > MAX_OBJECT_BYTES) {
      throw new S3Failure(
        "too-large",
        `S3 ${this.where}: PUT ${key}: ${body.byteLength} bytes is over the ${MAX_OBJECT_BYTES} limit`,
      );
    }
    await this.#call(`PUT ${key}`, options.signal, async () => {
      const headers = new Headers({
        "Content-Type": options.contentType ?? "application/octet-stream",
      });
      await this.#client.makeRequest({
        method: "PUT",
        bucketName: this.bucket,
        objectName: key,
        headers,
        payload: body as Uint8Array<ArrayBuffer>,
      });
      this.stats.puts++;
      this.stats.putBytes += body.byteLength;
    });
  }

  async get(
    key: string,
    options: S3RequestOptions & { offset?: number; length?: number } = {},
  ): Promise<Uint8Array> {
    const offset = options.offset ?? 0;
    const length = options.length ?? 0;
    if (offset < 0 || length < 0) throw new S3Failure("config", `GET ${key}: negative range`);
    return await this.#call(`GET ${key}`, options.signal, async () => {
      const res = await this.#client.getPartialObject(key, { offset, length });
      const bytes = new Uint8Array(await res.arrayBuffer());
      this.stats.gets++;
      this.stats.getBytes += bytes.byteLength;
      return bytes;
    });
  }

  async stat(key: string, options: S3RequestOptions = {}): Promise<S3ObjectInfo | null> {
    try {
      return await this.#call(`HEAD ${key}`, options.signal, async () => {
        this.stats.heads++;
        const s = await this.#client.statObject(key);
        return { key, size: s.size, lastModified: s.lastModified, etag: s.etag };
      });
    } catch (e) {
      if (e instanceof S3Failure && e.kind === "not-found") return null;
      throw e;
    }
  }

  async *list(prefix: string, options: S3RequestOptions = {}): AsyncIterable<S3ObjectInfo> {
    // One page per request through the gate, so a long listing cannot starve uploads.
    let token: string | undefined;
    do {
      const page = await this.#call(`LIST ${prefix}`, options.signal, async () => {
        this.stats.lists++;
        const q: Record<string, string> = { "list-type": "2", prefix, "max-keys": "1000" };
        if (token) q["continuation-token"] = token;
        const res = await this.#client.makeRequest({
          method: "GET",
          bucketName: this.bucket,
          objectName: "",
          query: q,
          returnBody: true,
        });
        return parseListV2(await res.text());
      });
      for (const o of page.objects) yield o;
      token = page.next;
    } while (token);
  }

  async delete(key: string, options: S3RequestOptions = {}): Promise<void> {
    try {
      await this.#call(`DELETE ${key}`, options.signal, async () => {
        await this.#client.deleteObject(key);
        this.stats.deletes++;
      });
    } catch (e) {
      if (e instanceof S3Failure && e.kind === "not-found") return;
      throw e;
    }
  }

  async presignGet(key: string, expirySeconds: number): Promise<string> {
    if (!(expirySeconds >= 1 && expirySeconds <= 7 * 86400)) {
      throw new S3Failure("config", `presigned GET ${key}: expiry must be 1 s … 7 days`);
    }
    return await this.#client.presignedGetObject(key, { expirySeconds });
  }
}

class TimeoutError extends Error {}

/** The objects and continuation token of a ListObjectsV2 answer. */
function parseListV2(xml: string): { objects: S3ObjectInfo[]; next: string | undefined } {
  const objects: S3ObjectInfo[] = [];
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const body = m[1];
    const tag = (t: string) => body.match(new RegExp(`<${t}>([\\s\\S]*?)</${t}>`))?.[1] ?? "";
    objects.push({
      key: unescapeXml(tag("Key")),
      size: Number(tag("Size")),
      lastModified: new Date(tag("LastModified")),
      etag: unescapeXml(tag("ETag")).replaceAll('"', ""),
    });
  }
  const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
  const next = xml.match(/<NextContinuationToken>([\s\S]*?)<\/NextContinuationToken>/)?.[1];
  return { objects, next: truncated && next ? unescapeXml(next) : undefined };
}

function unescapeXml(s: string): string {
  return s.replace(
    /&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-f]+));/gi,
    (_, n, d, h) =>
      d
        ? String.fromCodePoint(Number(d))
        : h
        ? String.fromCodePoint(parseInt(h, 16))
        : ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" } as Record<string, string>)[n],
  );
}
