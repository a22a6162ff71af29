/**
 * Schema migrations, applied in order; `PRAGMA user_version` holds how many ran. Never edit a
 * migration that has shipped: append a new one.
 *
 * @module
 */

/** The rollup series of migration 1 (frozen: later series need a new migration). */
const V1_SERIES = [
  "cpu_pct",
  "mem_pct",
  "swap_pct",
  "gpu_pct",
  "temp_c",
  "power_mw",
  "load1",
  "net_rx_bps",
  "net_tx_bps",
  "disk_read_bps",
  "disk_write_bps",
  "disk_pct",
];

const rollupColumns = V1_SERIES.map((s) =>
  `${s}_min REAL, ${s}_max REAL, ${s}_sum REAL NOT NULL DEFAULT 0, ${s}_n INTEGER NOT NULL DEFAULT 0`
).join(",\n  ");

/** Migration SQL; index i brings the schema from version i to i + 1. */
export const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  hostname TEXT,
  arch TEXT,
  agent_version TEXT,
  first_seen INTEGER,
  last_seen INTEGER,
  last_seq INTEGER NOT NULL DEFAULT 0,
  spool_dropped INTEGER NOT NULL DEFAULT 0
);
-- A rowid table: rows are ~2 KB of JSON, which WITHOUT ROWID handles three times slower.
-- Pruning walks samples_node_ts node by node, so no index on ts alone is needed.
CREATE TABLE samples (
  id INTEGER PRIMARY KEY,
  node_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  data TEXT NOT NULL,
  UNIQUE (node_id, seq)
);
CREATE INDEX samples_node_ts ON samples (node_id, ts);
CREATE TABLE rollups (
  node_id TEXT NOT NULL,
  minute INTEGER NOT NULL,
  ${rollupColumns},
  PRIMARY KEY (node_id, minute)
) WITHOUT ROWID;
CREATE INDEX rollups_minute ON rollups (minute);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  node_id TEXT,
  hash BLOB NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER,
  revoked_at INTEGER
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`,
  `
-- Jobs. The integer id gives FIFO order within a priority.
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  state TEXT NOT NULL,
  template TEXT,
  executor TEXT NOT NULL,
  image TEXT,
  command TEXT,
  env TEXT NOT NULL DEFAULT '{}',
  mounts TEXT NOT NULL DEFAULT '[]',
  gpu INTEGER NOT NULL DEFAULT 0,
  cluster TEXT,
  node TEXT,
  payload TEXT,
  priority INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  timeout_s INTEGER NOT NULL,
  claimed_by TEXT,
  lease_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  claimed_at INTEGER,
  started_at INTEGER,
  finished_at INTEGER,
  result TEXT,
  error TEXT,
  exit_code INTEGER,
  log_tail TEXT
);
CREATE INDEX jobs_pending ON jobs (priority DESC, id) WHERE state = 'pending';
CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE state IN ('claimed', 'running');
CREATE INDEX jobs_state ON jobs (state, id);
CREATE TABLE job_events (
  job_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  state TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  node TEXT,
  detail TEXT
);
CREATE INDEX job_events_job ON job_events (job_id, at);
`,
  `
-- Roamer pool: one row per roamer node with its state and assignment.
CREATE TABLE roamers (
  node_id TEXT PRIMARY KEY,
  state TEXT NOT NULL DEFAULT 'IDLE',
  cluster TEXT,
  template TEXT,
  mode TEXT,
  until INTEGER,
  assigned_by TEXT,
  assigned_at INTEGER,
  release_requested INTEGER NOT NULL DEFAULT 0,
  state_at INTEGER NOT NULL,
  detail TEXT
);
`,
  `
-- Enrollment tokens work once.
ALTER TABLE tokens ADD COLUMN used_at INTEGER;
`,
  `
-- The last boot recovery each node reported (steps as JSON).
ALTER TABLE nodes ADD COLUMN recovery TEXT;
`,
  `
-- Canvas layouts: node positions saved per user token kind (admin, viewer).
CREATE TABLE layouts (
  kind TEXT PRIMARY KEY,
  positions TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`,
  `
-- Control channel: batch exec runs, one result row per target node, and the audit log.
CREATE TABLE exec_runs (
  id INTEGER PRIMARY KEY,
  command TEXT NOT NULL,
  cluster TEXT,
  timeout_s INTEGER NOT NULL,
  state TEXT NOT NULL,
  by_name TEXT NOT NULL,
  by_kind TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX exec_runs_running ON exec_runs (id) WHERE state = 'running';
CREATE TABLE exec_results (
  exec_id INTEGER NOT NULL REFERENCES exec_runs (id) ON DELETE CASCADE,
  node_id TEXT NOT NULL,
  state TEXT NOT NULL,
  exit_code INTEGER,
  output TEXT NOT NULL DEFAULT '[]',
  truncated INTEGER NOT NULL DEFAULT 0,
  output_bytes INTEGER NOT NULL DEFAULT 0,
  tail TEXT,
  error TEXT,
  started_at INTEGER,
  finished_at INTEGER,
  PRIMARY KEY (exec_id, node_id)
) WITHOUT ROWID;
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor_name TEXT NOT NULL,
  actor_kind TEXT NOT NULL,
  token_id TEXT,
  action TEXT NOT NULL,
  target TEXT,
  result TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX audit_action ON audit (action, id);
`,
  `
-- Browser sessions: the cookie holds a random id whose SHA-256 is stored here, never the token.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  hash BLOB NOT NULL UNIQUE,
  token_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ended_at INTEGER,
  ended_reason TEXT
);
CREATE INDEX sessions_token ON sessions (token_id);
-- An enrollment token made to replace exactly one node's token (node_id names it).
ALTER TABLE tokens ADD COLUMN reenroll INTEGER NOT NULL DEFAULT 0;
`,
  `
-- Ingest hardening. recv_ts: when the hub received the sample; agent_ts: the agent's own ts when
-- the hub placed the sample on its clock (a skewed node clock). Per node: the clock skew measured
-- at its last batch (NULL while in sync) and how many unknown sample keys it sent.
ALTER TABLE samples ADD COLUMN recv_ts INTEGER;
ALTER TABLE samples ADD COLUMN agent_ts INTEGER;
ALTER TABLE nodes ADD COLUMN clock_skew_ms INTEGER;
ALTER TABLE nodes ADD COLUMN unknown_keys INTEGER NOT NULL DEFAULT 0;
-- Seqs above 2^48 (accepted before seqs were bounded) pinned their node's last_seq; drop them
-- and bring last_seq back to the highest sane seq, so the node's agent can push again.
DELETE FROM samples WHERE seq > 281474976710656
  AND node_id IN (SELECT id FROM nodes WHERE last_seq > 281474976710656);
UPDATE nodes SET last_seq = coalesce((SELECT max(seq) FROM samples WHERE node_id = nodes.id), 0)
  WHERE last_seq > 281474976710656;
`,
  `
-- A roamer assigned to a custom image: {image, command, env, gpu} as JSON (NULL otherwise).
ALTER TABLE roamers ADD COLUMN custom TEXT;
`,
  `
-- Network scans run from nodes (LAN sweep, port scan, WAN check): parameters, progress and the
-- result as JSON; kept up to network.keep_scans.
CREATE TABLE network_scans (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  node_id TEXT NOT NULL,
  target TEXT NOT NULL,
  params TEXT NOT NULL,
  state TEXT NOT NULL,
  stopped TEXT,
  progress TEXT NOT NULL,
  by_name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  error TEXT,
  result TEXT
);
CREATE INDEX network_scans_node ON network_scans (node_id, created_at);
CREATE INDEX network_scans_created ON network_scans (created_at);
`,
  `
-- Per-job resource limits: memory in bytes and CPUs (NULL = none); gpu exists already.
ALTER TABLE jobs ADD COLUMN memory_b INTEGER;
ALTER TABLE jobs ADD COLUMN cpus REAL;
`,
  `
-- Link quality per node and minute: control-channel pings, the agent's probe, rates.
CREATE TABLE link_minutes (
  node_id TEXT NOT NULL,
  minute INTEGER NOT NULL,
  rtt_ms REAL,
  rtt_max_ms REAL,
  loss_pct REAL,
  probe_rtt_ms REAL,
  probe_loss_pct REAL,
  rx_bps REAL,
  tx_bps REAL,
  PRIMARY KEY (node_id, minute)
) WITHOUT ROWID;
CREATE INDEX link_minutes_minute ON link_minutes (minute);
`,
  `
-- Alerts: one row per firing (kept as history once resolved; at most one firing row per key),
-- silences per rule and subject, and webhook deliveries with their attempts.
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  rule TEXT NOT NULL,
  kind TEXT NOT NULL,
  severity TEXT NOT NULL,
  state TEXT NOT NULL,
  node_id TEXT,
  subject TEXT,
  message TEXT NOT NULL,
  value REAL,
  threshold REAL,
  fired_at INTEGER NOT NULL,
  resolved_at INTEGER,
  acked_at INTEGER,
  acked_by TEXT
);
CREATE UNIQUE INDEX alerts_firing ON alerts (key) WHERE state = 'firing';
CREATE INDEX alerts_node ON alerts (node_id, id);
CREATE INDEX alerts_resolved ON alerts (resolved_at) WHERE state = 'resolved';
CREATE TABLE alert_silences (
  key TEXT PRIMARY KEY,
  until INTEGER NOT NULL,
  by_name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE alert_deliveries (
  id INTEGER PRIMARY KEY,
  webhook TEXT NOT NULL,
  alert_id INTEGER,
  event TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER,
  last_status INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX alert_deliveries_open ON alert_deliveries (next_at) WHERE state IN ('pending', 'retrying');
CREATE INDEX alert_deliveries_webhook ON alert_deliveries (webhook, id);
`,
  `
-- Swarm: the service catalog (one row per definition, its versions apart), build runs with their
-- output, and the compose files of stacks the hub deployed.
CREATE TABLE swarm_catalog (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  deployed_version INTEGER,
  deployed_at INTEGER
);
CREATE TABLE swarm_catalog_versions (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  definition TEXT NOT NULL,
  yaml TEXT,
  note TEXT,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE TABLE swarm_builds (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  context TEXT NOT NULL,
  dockerfile TEXT NOT NULL,
  image TEXT NOT NULL,
  platform TEXT,
  push INTEGER NOT NULL,
  state TEXT NOT NULL,
  step TEXT NOT NULL,
  error TEXT,
  digest TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  started_by TEXT NOT NULL,
  output TEXT NOT NULL DEFAULT ''
);
CREATE INDEX swarm_builds_service ON swarm_builds (service, started_at);
CREATE TABLE swarm_stacks (
  name TEXT PRIMARY KEY,
  compose TEXT NOT NULL,
  deployed_at INTEGER NOT NULL,
  deployed_by TEXT NOT NULL
);
`,
  `
-- Backups to S3: one row per snapshot attempt of one target on one node (only state 'done' has a
-- manifest in the bucket and is listed as good), and the restores made from them.
CREATE TABLE backups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  node_id TEXT NOT NULL,
  target TEXT NOT NULL,
  target_label TEXT NOT NULL,
  state TEXT NOT NULL,
  snapshot_id TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  files INTEGER,
  size_b INTEGER,
  new_b INTEGER,
  chunks_new INTEGER,
  chunks_reused INTEGER,
  warnings TEXT NOT NULL DEFAULT '[]',
  error TEXT,
  schedule TEXT,
  note TEXT,
  by_name TEXT NOT NULL,
  by_kind TEXT NOT NULL,
  verified_at INTEGER,
  verify_ok INTEGER,
  verify_detail TEXT
);
CREATE INDEX backups_node ON backups (node_id, id);
CREATE INDEX backups_state ON backups (state, id);
CREATE TABLE backup_restores (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  backup_id INTEGER NOT NULL,
  node_id TEXT NOT NULL,
  dest TEXT NOT NULL,
  paths TEXT,
  dry_run INTEGER NOT NULL,
  state TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  files INTEGER,
  bytes INTEGER,
  written TEXT NOT NULL DEFAULT '[]',
  error TEXT,
  by_name TEXT NOT NULL,
  by_kind TEXT NOT NULL
);
`,
  // The highest sample id whose values are in rollups; newer ones are rolled up in memory first
  // and rebuilt from the samples after a kill. Every sample stored so far is in the table.
  `
CREATE TABLE rollup_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sample_id INTEGER NOT NULL
);
INSERT INTO rollup_state (id, sample_id) VALUES (1, (SELECT coalesce(max(id), 0) FROM samples));
`,
];
