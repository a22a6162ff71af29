/**
 * The protocol's enumerations as plain constants, without zod, so the browser can import them
 * without the schema library. The zod schemas in this folder are built from them.
 *
 * @module
 */

/** Node status as computed by the hub from the age of its last sample. */
export const NODE_STATUSES = ["pending", "online", "degraded", "offline"] as const;

/** Token kinds. */
/** Token kinds (`metrics`: may read only `/metrics`, for a Prometheus scraper). */
export const TOKEN_KINDS = ["admin", "viewer", "node", "enrollment", "metrics"] as const;

/** Job states. */
export const JOB_STATES = ["pending", "claimed", "running", "done", "failed", "cancelled"] as const;

/** How a job runs. */
export const JOB_EXECUTORS = ["process", "docker"] as const;

/** Roamer states. */
export const ROAMER_STATES = [
  "IDLE",
  "ASSIGNED",
  "PROVISIONING",
  "RUNNING",
  "CLEANUP",
  "FAILED",
] as const;

/** How long a roamer assignment lasts. */
export const ASSIGN_MODES = ["until_idle", "minutes", "manual"] as const;

/** Where one node of a batch exec stands. */
export const EXEC_NODE_STATES = [
  "running",
  "exited",
  "timed_out",
  "cancelled",
  "interrupted",
  "offline",
  "error",
] as const;

/** Which pipe a piece of output came from. */
export const OUTPUT_STREAMS = ["stdout", "stderr"] as const;

/** What an agent offers on its control channel. */
export const CONTROL_CAPABILITIES = ["exec", "pty", "docker", "net", "actions", "backup"] as const;

/** Error codes of control replies. */
export const CONTROL_ERROR_CODES = [
  "bad_request",
  "not_found",
  "conflict",
  "unavailable",
  "failed",
] as const;

/** Where a batch exec run stands. */
export const EXEC_RUN_STATES = ["running", "done", "cancelled", "interrupted"] as const;

/** Close codes of the agents' control socket (`/api/v1/agent/ws`). */
export const AGENT_CLOSE = {
  replaced: 4001,
  noPong: 4002,
  revoked: 4003,
  noHello: 4400,
  /** Another connection of the node, made with a different token, is live. */
  taken: 4009,
} as const;

/** Close codes of the terminal socket (besides 1000 = the shell exited, 1001 = hub stopping). */
export const TERMINAL_CLOSE = {
  idle: 4001,
  nodeLost: 4002,
  tooSlow: 4003,
  notConnected: 4004,
  failed: 4005,
  tooMany: 4006,
  /** The token was revoked, the node deleted or the browser session ended. */
  revoked: 4008,
} as const;

/** Node actions an admin starts from the hub. */
export const NODE_ACTIONS = ["cleanup", "recover", "restart"] as const;
/** What an alert rule watches. */
export const ALERT_KINDS = [
  "offline",
  "temperature",
  "disk",
  "gpu_pinned",
  "spool_dropping",
  "job_failure_rate",
  "roamer_stuck",
  "backup_stale",
] as const;

/** How loud an alert is. */
export const ALERT_SEVERITIES = ["info", "warning", "critical"] as const;

/** An alert fires, then resolves (and stays as history). */
export const ALERT_STATES = ["firing", "resolved"] as const;

/** Where one webhook delivery stands. */
export const DELIVERY_STATES = ["pending", "retrying", "delivered", "failed"] as const;

/** A swarm task as the UI shows it: `complete` (exited 0) is grey "stopped", `failed` is red. */
export const SWARM_TASK_PHASES = [
  "pending",
  "running",
  "complete",
  "failed",
  "shutdown",
] as const;

/** A build (and push) run of the swarm catalog. */
export const SWARM_BUILD_STATES = ["running", "succeeded", "failed", "cancelled"] as const;

/** A swarm node's role. */
export const SWARM_NODE_ROLES = ["manager", "worker"] as const;

/** A swarm node's availability. */
export const SWARM_NODE_AVAILABILITIES = ["active", "pause", "drain"] as const;

/** Where one backup (a snapshot of one target on one node) stands. Only `done` is a good one. */
export const BACKUP_STATES = [
  "running",
  "done",
  "partial",
  "failed",
  "cancelled",
  "interrupted",
  "pruned",
] as const;

/** What a backup copies: a Docker volume, a config path, the swarm state, any path. */
export const BACKUP_TARGET_KINDS = ["volume", "config", "swarm", "path"] as const;

/** Where a restore stands. */
export const RESTORE_STATES = ["running", "done", "failed", "cancelled", "interrupted"] as const;
