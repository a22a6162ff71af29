/**
 * The hub's view of the S3 repository: where node snapshots and the hub's own database live
 * (prefixes of one bucket, so chunks dedupe across nodes), what an agent is handed over its
 * control channel, and engine failures turned into messages and HTTP problems.
 *
 * @module
 */
import type { RepoRef } from "../../shared/backup/mod.ts";
import { BackupError } from "../../shared/backup/mod.ts";
import { openS3, S3Failure } from "../../shared/s3.ts";
import type { S3Access } from "../../shared/protocol/mod.ts";
import { NODES_PREFIX } from "../../shared/backup_repo.ts";
import { HttpProblem, NotFound, Unavailable, Upstream } from "../core/errors.ts";
import type { S3Settings } from "./config.ts";

/** The repository of node snapshots. */
export function nodesRepo(s3: S3Settings): RepoRef {
  return repoAt(s3, s3.bucket, NODES_PREFIX);
}

/** A repository in `bucket` under `prefix` with the configured keys. */
export function repoAt(s3: S3Settings, bucket: string, prefix: string): RepoRef {
  return {
    s3: {
      endpoint: s3.endpoint,
      region: s3.region,
      bucket,
      pathStyle: s3.pathStyle,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
    },
    prefix,
    ...(s3.encryptionKey ? { encryptionKey: s3.encryptionKey } : {}),
  };
}

/** What an agent needs to write into the node repository (sent on the control socket only). */
export function agentAccess(s3: S3Settings): S3Access {
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    access_key: s3.accessKey,
    secret_key: s3.secretKey,
    path_style: s3.pathStyle,
    ...(s3.encryptionKey ? { encryption_key: s3.encryptionKey } : {}),
  };
}

/** Words for an S3 failure kind, naming what to fix. */
const S3_HINTS: Record<string, string> = {
  credentials: "S3 refused the credentials: check s3.access_key / s3.secret_key (FLEET_S3_*)",
  unreachable: "the S3 endpoint cannot be reached: check s3.endpoint (FLEET_S3_ENDPOINT)",
  "no-bucket": "the bucket does not exist: create it (e.g. mc mb) or fix s3.bucket",
};

/** A one-line message for any failure of the engine or S3, with no secret in it. */
export function failureMessage(error: unknown): string {
  if (error instanceof BackupError) return `${error.code}: ${error.message}`;
  if (error instanceof S3Failure) {
    const hint = S3_HINTS[error.kind];
    return hint ? `${hint} (${error.message})` : `S3 ${error.kind}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The HTTP problem for a failure of the engine or S3 on the hub. */
export function failureProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  const message = failureMessage(error);
  const code = error instanceof BackupError
    ? error.code
    : error instanceof S3Failure
    ? `s3-${error.kind}`
    : "";
  if (code === "not-found" || code === "s3-not-found") return new NotFound(message);
  if (code === "s3-unreachable" || code === "repo-busy") return new Unavailable(message);
  return new Upstream(message);
}

/**
 * Checks that the bucket answers with these keys, within `timeoutMs`; resolves with the
 * problem's message, or null when it is usable.
 */
export async function bucketProblem(s3: S3Settings, timeoutMs = 15_000): Promise<string | null> {
  try {
    const store = openS3(repoAt(s3, s3.bucket, NODES_PREFIX).s3, { retries: 1, timeoutMs });
    await store.checkBucket({ signal: AbortSignal.timeout(timeoutMs) });
    return null;
  } catch (error) {
    return failureMessage(error);
  }
}

/** What the CLI and MCP say when the hub has no S3 (so no backups can exist or start). */
export const S3_UNCONFIGURED = "S3 is not configured (set s3: in fleet.yml or FLEET_S3_*)";

/** Throws 503 when S3 is not configured. */
export function requireS3(s3: S3Settings | null): S3Settings {
  if (!s3) {
    throw new Unavailable(
      "S3 is not configured: set s3.endpoint, s3.access_key and s3.secret_key in fleet.yml " +
        "(or FLEET_S3_ENDPOINT, FLEET_S3_ACCESS_KEY, FLEET_S3_SECRET_KEY) and restart the hub",
    );
  }
  return s3;
}
