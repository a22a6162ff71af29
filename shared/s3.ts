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
export function openS3(_config: S3Config, _options: S3Options = {}): S3Store {
  throw new Error("not yet");
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
