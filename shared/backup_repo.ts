/**
 * Where the fleet keeps its backup repositories inside the backups bucket, shared by the hub and
 * the agent: node snapshots under one prefix (so chunks dedupe across nodes), the hub database
 * under another; and the engine's repository from the access an agent is handed.
 *
 * @module
 */
import type { RepoRef } from "./backup/mod.ts";
import type { S3Access } from "./protocol/mod.ts";

/** Prefix of the node snapshots' repository inside the backups bucket. */
export const NODES_PREFIX = "nodes";
/** Prefix of the hub database's repository inside the backups bucket. */
export const HUB_PREFIX = "hub";
/** Target name of the hub database's snapshots. */
export const HUB_DB_TARGET = "hub-db";

/** The node repository from what the hub handed over the control channel. */
export function repoFromAccess(a: S3Access): RepoRef {
  return {
    s3: {
      endpoint: a.endpoint,
      region: a.region,
      bucket: a.bucket,
      pathStyle: a.path_style,
      accessKey: a.access_key,
      secretKey: a.secret_key,
    },
    prefix: NODES_PREFIX,
    ...(a.encryption_key ? { encryptionKey: a.encryption_key } : {}),
  };
}
