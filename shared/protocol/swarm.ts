/**
 * Docker Swarm control: the service catalog (definitions with versions, diff/drift), live
 * services and their tasks, builds, stacks, swarm nodes, the registry browser and cluster health.
 * Routes are under `/api/v1/swarm/`; see `docs/swarm.md`.
 *
 * @module
 */
import { z } from "zod";
import { NodeId } from "./common.ts";
import { ImageRef } from "./roamers.ts";
import {
  SWARM_BUILD_STATES,
  SWARM_NODE_AVAILABILITIES,
  SWARM_NODE_ROLES,
  SWARM_TASK_PHASES,
} from "./enums.ts";

/** Catalog and live service names: what Docker accepts for a service, kept short. */
export const SwarmServiceName = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/,
  "service name: 1-63 letters, digits, '_' or '-', starting with a letter or digit",
);
/** Live service names may carry their stack's prefix (`stack_web`) and dots. */
export const SwarmLiveName = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/,
  "service name or id: 1-128 letters, digits, '_', '.' or '-'",
);
/** A stack name (`docker stack deploy NAME`). */
export const SwarmStackName = z.string().regex(
  /^[a-z0-9][a-z0-9_-]{0,62}$/,
  "stack name: 1-63 lowercase letters, digits, '_' or '-', starting with a letter or digit",
);
/** An image reference, e.g. `127.0.0.1:5000/app:1.2` (the roamers' rule, non-empty). */
export const SwarmImageRef = ImageRef.min(1);
/** An image tag. */
export const ImageTag = z.string().regex(
  /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
  "tag: 1-128 letters, digits, '_', '.' or '-'",
);
const labelKey = z.string().min(1).max(256).regex(/^[A-Za-z0-9._/-]+$/, "label key");
const envKey = z.string().min(1).max(256).regex(
  /^[A-Za-z_][A-Za-z0-9_.-]*$/,
  "env name: letters, digits, '_', '.', '-', not starting with a digit",
);
const text = (max: number) => z.string().max(max);

/** A published port, `"8080:80"`, `"8080:80/udp"` or `"80"` (target only), as in compose. */
export const SwarmPortSpec = z.string().regex(
  /^(\d{1,5}:)?\d{1,5}(\/(tcp|udp|sctp))?$/,
  "port: 'published:target' with an optional '/tcp', '/udp' or '/sctp'",
);

/** A mount: `"/host:/container[:ro]"` (bind) or `"volume:/container"`, or the long form. */
export const SwarmMountSpec = z.union([
  z.string().min(3).max(1024).regex(
    /^[^:]+:\/[^:]*(:(ro|rw))?$/,
    "mount: 'source:/target' with an optional ':ro'",
  ),
  z.object({
    type: z.enum(["bind", "volume", "tmpfs"]),
    source: text(1024).optional(),
    target: z.string().min(1).max(1024).startsWith("/", "target: an absolute path"),
    read_only: z.boolean().optional(),
    /** tmpfs only: its size in bytes (e.g. 4 GiB at /dev/shm for PyTorch). */
    tmpfs_size_b: z.number().int().positive().max(2 ** 46).optional(),
  }).strict(),
]);
export type SwarmMountSpec = z.infer<typeof SwarmMountSpec>;

/** A generic resource a task reserves, e.g. `{kind: "NVIDIA-GPU", value: 1}`. */
export const SwarmGenericResource = z.object({
  kind: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, "kind: e.g. NVIDIA-GPU"),
  value: z.number().int().min(1).max(1024),
}).strict();

/** CPU and memory limits or reservations. */
export const SwarmResourceAmounts = z.object({
  /** CPUs, e.g. 0.5. */
  cpus: z.number().positive().max(1024).optional(),
  memory_b: z.number().int().positive().max(2 ** 50).optional(),
}).strict();

/** Resources of a service's tasks. */
export const SwarmResources = z.object({
  limits: SwarmResourceAmounts.optional(),
  reservations: SwarmResourceAmounts.extend({
    generic: z.array(SwarmGenericResource).max(16).optional(),
  }).strict().optional(),
}).strict();

/** How a rolling update proceeds. */
export const SwarmUpdatePolicy = z.object({
  parallelism: z.number().int().min(0).max(1000).optional(),
  delay_s: z.number().min(0).max(86_400).optional(),
  failure_action: z.enum(["pause", "continue", "rollback"]).optional(),
  order: z.enum(["stop-first", "start-first"]).optional(),
}).strict();
export type SwarmUpdatePolicy = z.infer<typeof SwarmUpdatePolicy>;

/** When swarm restarts a task; a batch job uses `none` (exit 0 = complete). */
export const SwarmRestartPolicy = z.object({
  condition: z.enum(["none", "on-failure", "any"]),
  max_attempts: z.number().int().min(0).max(1000).optional(),
  delay_s: z.number().min(0).max(86_400).optional(),
}).strict();

/**
 * A service definition (the catalog's unit). `image` is what runs; `build_context` (a folder
 * under the hub's projects directory) is what `build` makes it from.
 */
export const SwarmDefinition = z.object({
  name: SwarmServiceName,
  image: SwarmImageRef,
  mode: z.enum(["replicated", "global"]).default("replicated"),
  replicas: z.number().int().min(0).max(1000).default(1),
  command: z.array(text(4096)).max(256).optional(),
  args: z.array(text(4096)).max(256).optional(),
  ports: z.array(SwarmPortSpec).max(64).default([]),
  env: z.record(envKey, text(16_384)).default({}),
  constraints: z.array(z.string().min(1).max(512)).max(32).default([]),
  labels: z.record(labelKey, text(4096)).default({}),
  networks: z.array(z.string().min(1).max(128)).max(16).default([]),
  mounts: z.array(SwarmMountSpec).max(64).default([]),
  resources: SwarmResources.optional(),
  restart_policy: SwarmRestartPolicy.optional(),
  update_config: SwarmUpdatePolicy.optional(),
  /** Folder under the projects directory with a Dockerfile. */
  build_context: z.string().min(1).max(255).regex(
    /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
    "build_context: a relative folder under the projects directory (no '..')",
  ).refine((p) => !p.split("/").includes(".."), "build_context: '..' is not allowed")
    .optional(),
  /** Dockerfile path inside the context (default `Dockerfile`). */
  dockerfile: z.string().min(1).max(255).optional(),
  /** Target platform of the build, e.g. `linux/arm64` for Jetson nodes. */
  platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/, "platform: e.g. linux/arm64")
    .optional(),
}).strict();
export type SwarmDefinition = z.infer<typeof SwarmDefinition>;
/** A definition as written (defaults not yet applied). */
export type SwarmDefinitionInput = z.input<typeof SwarmDefinition>;

/** `POST /swarm/catalog`, `PUT /swarm/catalog/:name`: a definition as JSON or as YAML text. */
export const SwarmCatalogPut = z.union([
  z.object({ definition: z.unknown(), note: text(500).optional() }).strict(),
  z.object({ yaml: z.string().min(1).max(262_144), note: text(500).optional() }).strict(),
]);
export type SwarmCatalogPut = z.infer<typeof SwarmCatalogPut>;

/** One catalog entry: the newest version of a definition and what is deployed. */
export const SwarmCatalogEntry = z.object({
  name: SwarmServiceName,
  version: z.number().int().positive(),
  definition: SwarmDefinition,
  created_at: z.number(),
  updated_at: z.number(),
  updated_by: z.string(),
  /** The catalog version last deployed through the hub, or null. */
  deployed_version: z.number().int().nullable(),
  deployed_at: z.number().nullable(),
  /** Whether a live service of this name runs in the swarm now (null when not asked). */
  live: z.boolean().nullable(),
});
export type SwarmCatalogEntry = z.infer<typeof SwarmCatalogEntry>;

/** One stored version of a definition. */
export const SwarmCatalogVersion = z.object({
  name: SwarmServiceName,
  version: z.number().int().positive(),
  definition: SwarmDefinition,
  /** The YAML it came from, when it came as YAML. */
  yaml: z.string().nullable(),
  note: z.string().nullable(),
  created_at: z.number(),
  created_by: z.string(),
});
export type SwarmCatalogVersion = z.infer<typeof SwarmCatalogVersion>;

/** One field that differs between the definition and the live service. */
export const SwarmDiffField = z.object({
  /** Dotted field of the definition, e.g. `replicas`, `env.MODE`, `image`. */
  field: z.string(),
  catalog: z.unknown(),
  live: z.unknown(),
});
export type SwarmDiffField = z.infer<typeof SwarmDiffField>;

/** `GET /swarm/catalog/:name/diff`: the live service against a catalog version. */
export const SwarmDiff = z.object({
  name: SwarmServiceName,
  version: z.number().int().positive(),
  /** False when no service of this name runs: nothing to compare. */
  deployed: z.boolean(),
  drift: z.boolean(),
  fields: z.array(SwarmDiffField),
});
export type SwarmDiff = z.infer<typeof SwarmDiff>;

/** A task's phase as the UI shows it: complete (exit 0) is grey "stopped", failed is red. */
export const SwarmTaskPhase = z.enum(SWARM_TASK_PHASES);
export type SwarmTaskPhase = z.infer<typeof SwarmTaskPhase>;

/** One task of a service. */
export const SwarmTask = z.object({
  id: z.string(),
  service_id: z.string(),
  service_name: z.string(),
  slot: z.number().int().nullable(),
  /** Swarm node id and hostname; `fleet_node_id` when a fleet node has that hostname. */
  node_id: z.string().nullable(),
  node_hostname: z.string().nullable(),
  fleet_node_id: NodeId.nullable(),
  /** Docker's own state (`running`, `complete`, `failed`, `shutdown`, `rejected`, …). */
  state: z.string(),
  desired_state: z.string(),
  phase: SwarmTaskPhase,
  exit_code: z.number().int().nullable(),
  /** Docker's error text for a failed or rejected task. */
  error: z.string().nullable(),
  message: z.string(),
  image: z.string(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type SwarmTask = z.infer<typeof SwarmTask>;

/** A published port of a live service. */
export const SwarmPort = z.object({
  published: z.number().int().nullable(),
  target: z.number().int(),
  protocol: z.string(),
  mode: z.string(),
});

/** A live service of the swarm. */
export const SwarmService = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  mode: z.enum(["replicated", "global", "replicated-job", "global-job"]),
  /** Null for global services. */
  replicas_desired: z.number().int().nullable(),
  replicas_running: z.number().int(),
  tasks_complete: z.number().int(),
  tasks_failed: z.number().int(),
  stack: z.string().nullable(),
  /** The catalog entry of the same name, if there is one. */
  catalog: z.string().nullable(),
  /** True when the catalog has it and the live spec differs; null when not in the catalog. */
  drift: z.boolean().nullable(),
  ports: z.array(SwarmPort),
  labels: z.record(z.string(), z.string()),
  /** Rolling update: `updating`, `completed`, `paused`, `rollback_*`, or null. */
  update_state: z.string().nullable(),
  update_message: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
  /** Spec version (Docker's index), for optimistic updates. */
  spec_version: z.number().int(),
});
export type SwarmService = z.infer<typeof SwarmService>;

/** `GET /swarm/services/:name`: the service and its recent tasks (newest first). */
export const SwarmServiceDetail = SwarmService.extend({
  tasks: z.array(SwarmTask),
});
export type SwarmServiceDetail = z.infer<typeof SwarmServiceDetail>;

/** `POST /swarm/services/:name/scale`. */
export const SwarmScale = z.object({ replicas: z.number().int().min(0).max(1000) }).strict();

/** `POST /swarm/services/:name/update`: a rolling update. */
export const SwarmUpdate = z.object({
  image: SwarmImageRef.optional(),
  parallelism: z.number().int().min(0).max(1000).optional(),
  delay_s: z.number().min(0).max(86_400).optional(),
  failure_action: z.enum(["pause", "continue", "rollback"]).optional(),
  order: z.enum(["stop-first", "start-first"]).optional(),
  /** Recreate tasks even if nothing changed (a new push of `:latest`). */
  force: z.boolean().optional(),
}).strict();
export type SwarmUpdate = z.infer<typeof SwarmUpdate>;

/** `POST /swarm/catalog/:name/deploy`: a version (default newest). */
export const SwarmDeploy = z.object({
  version: z.number().int().positive().optional(),
}).strict();

/** `POST /swarm/deploy`: register (or update) a definition and deploy it in one step. */
export const SwarmDeployDefinition = SwarmCatalogPut;

/** An answer to a service action. */
export const SwarmServiceActionResult = z.object({
  name: z.string(),
  action: z.string(),
  ok: z.literal(true),
  /** The service's id after a deploy. */
  id: z.string().optional(),
  /** The catalog version deployed (deploys only). */
  version: z.number().int().optional(),
  /** Docker's warnings (e.g. an image not in a registry the nodes can pull from). */
  warnings: z.array(z.string()).default([]),
});
export type SwarmServiceActionResult = z.infer<typeof SwarmServiceActionResult>;

/** One log line of a service (JSON answer and the `log` event of the follow stream). */
export const SwarmLogLine = z.object({
  stream: z.enum(["stdout", "stderr"]),
  /** RFC 3339 time the engine stamped, or null. */
  ts: z.string().nullable(),
  line: z.string(),
});
export type SwarmLogLine = z.infer<typeof SwarmLogLine>;

/** `GET /swarm/services/:name/logs` without `follow`. */
export const SwarmLogs = z.object({ name: z.string(), lines: z.array(SwarmLogLine) });
export type SwarmLogs = z.infer<typeof SwarmLogs>;

/** A build's state. */
export const SwarmBuildState = z.enum(SWARM_BUILD_STATES);
export type SwarmBuildState = z.infer<typeof SwarmBuildState>;

/** `POST /swarm/catalog/:name/build`. */
export const SwarmBuildRequest = z.object({
  /** Tag of the built image (default: the definition image's tag, else `latest`). */
  tag: ImageTag.optional(),
  /** Push to the configured registry after the build (default true). */
  push: z.boolean().optional(),
  platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/, "platform: e.g. linux/arm64")
    .optional(),
  no_cache: z.boolean().optional(),
  /**
   * Network of the build's RUN steps: the engine's default (bridge), the host's (an engine without
   * a bridge, or a step that must reach the LAN), or none.
   */
  network: z.enum(["default", "host", "none"]).optional(),
  /** Set the catalog definition's image to the built reference (default true). */
  update_catalog: z.boolean().optional(),
}).strict();
export type SwarmBuildRequest = z.infer<typeof SwarmBuildRequest>;

/** One build (and push) run. `output` only in the single-run answer. */
export const SwarmBuildRun = z.object({
  id: z.string(),
  service: SwarmServiceName,
  context: z.string(),
  dockerfile: z.string(),
  /** The full reference built and pushed, e.g. `127.0.0.1:5000/app:2`. */
  image: z.string(),
  platform: z.string().nullable(),
  push: z.boolean(),
  state: SwarmBuildState,
  /** `build`, `push` or `done`: where a running build is. */
  step: z.string(),
  error: z.string().nullable(),
  /** Digest the registry gave the pushed image. */
  digest: z.string().nullable(),
  started_at: z.number(),
  finished_at: z.number().nullable(),
  started_by: z.string(),
  output_b: z.number().int(),
  output: z.string().optional(),
});
export type SwarmBuildRun = z.infer<typeof SwarmBuildRun>;

/** Events of `GET /swarm/builds/:id/events` (SSE): `output`, then one `end` with the run. */
export const SwarmBuildOutputEvent = z.object({ text: z.string() });
export const SwarmBuildEndEvent = z.object({ run: SwarmBuildRun });

/** A folder of the projects directory. */
export const SwarmProject = z.object({
  name: z.string(),
  has_dockerfile: z.boolean(),
  modified_at: z.number().nullable(),
});
export type SwarmProject = z.infer<typeof SwarmProject>;

/** `POST /swarm/stacks`: a compose file to deploy as a stack. */
export const SwarmStackDeploy = z.object({
  name: SwarmStackName,
  compose: z.string().min(1).max(262_144),
  /** Send the hub's registry credentials along (`--with-registry-auth`). */
  with_registry_auth: z.boolean().optional(),
  prune: z.boolean().optional(),
}).strict();
export type SwarmStackDeploy = z.infer<typeof SwarmStackDeploy>;

/** A stack in the swarm. */
export const SwarmStack = z.object({
  name: z.string(),
  services: z.number().int(),
  replicas_running: z.number().int(),
  replicas_desired: z.number().int(),
  /** When the hub deployed it last (null for stacks deployed elsewhere). */
  deployed_at: z.number().nullable(),
  deployed_by: z.string().nullable(),
});
export type SwarmStack = z.infer<typeof SwarmStack>;

/** `GET /swarm/stacks/:name`: the stack, its services and the compose file the hub deployed. */
export const SwarmStackDetail = SwarmStack.extend({
  service_list: z.array(SwarmService),
  compose: z.string().nullable(),
});
export type SwarmStackDetail = z.infer<typeof SwarmStackDetail>;

/** The answer of a stack deploy: what the docker CLI printed. */
export const SwarmStackResult = z.object({
  name: z.string(),
  action: z.enum(["deploy", "remove"]),
  ok: z.literal(true),
  output: z.string(),
});
export type SwarmStackResult = z.infer<typeof SwarmStackResult>;

/** A node's role. */
export const SwarmNodeRole = z.enum(SWARM_NODE_ROLES);
/** A node's availability. */
export const SwarmNodeAvailability = z.enum(SWARM_NODE_AVAILABILITIES);

/** A swarm node. */
export const SwarmNode = z.object({
  id: z.string(),
  hostname: z.string(),
  role: SwarmNodeRole,
  availability: SwarmNodeAvailability,
  /** `ready`, `down`, `unknown`, `disconnected`. */
  state: z.string(),
  /** Docker's message for a node that is not ready. */
  message: z.string().nullable(),
  addr: z.string().nullable(),
  leader: z.boolean(),
  /** Managers: `reachable`, `unreachable`, `unknown`; null on workers. */
  manager_reachability: z.string().nullable(),
  engine_version: z.string().nullable(),
  os: z.string().nullable(),
  arch: z.string().nullable(),
  nano_cpus: z.number().nullable(),
  memory_b: z.number().nullable(),
  /** Generic resources the node announces (e.g. NVIDIA-GPU). */
  generic_resources: z.array(z.object({ kind: z.string(), value: z.string() })),
  labels: z.record(z.string(), z.string()),
  /** The fleet node whose hostname (or id) matches, or null. */
  fleet_node_id: NodeId.nullable(),
  tasks_running: z.number().int(),
  /** This is the engine the hub talks to. */
  self: z.boolean(),
});
export type SwarmNode = z.infer<typeof SwarmNode>;

/** `POST /swarm/nodes/:id/:action`. */
export const SwarmNodeAction = z.enum(["drain", "activate", "pause", "promote", "demote"]);
export type SwarmNodeAction = z.infer<typeof SwarmNodeAction>;

/** `PATCH /swarm/nodes/:id/labels`: labels to set and to remove. */
export const SwarmNodeLabels = z.object({
  add: z.record(labelKey, text(4096)).optional(),
  remove: z.array(labelKey).max(64).optional(),
}).strict();
export type SwarmNodeLabels = z.infer<typeof SwarmNodeLabels>;

/** A repository of the registry. */
export const RegistryRepository = z.object({
  name: z.string(),
  tags: z.number().int(),
});
export type RegistryRepository = z.infer<typeof RegistryRepository>;

/** `GET /swarm/registry`: the configured registry and its repositories. */
export const RegistryCatalog = z.object({
  /** The registry's address, e.g. `127.0.0.1:5000` (null when none is configured). */
  registry: z.string().nullable(),
  repositories: z.array(RegistryRepository),
});
export type RegistryCatalog = z.infer<typeof RegistryCatalog>;

/** One tag of a repository. */
export const RegistryTag = z.object({
  tag: z.string(),
  digest: z.string(),
  /** Compressed size: config plus layers (of the first platform for an index). */
  size_b: z.number(),
  /** `amd64`, `arm64`, … (several for a multi-platform index). */
  architectures: z.array(z.string()),
  media_type: z.string(),
  created_at: z.number().nullable(),
});
export type RegistryTag = z.infer<typeof RegistryTag>;

/** `GET /swarm/registry/repositories/:name/tags`. */
export const RegistryTags = z.object({ repository: z.string(), tags: z.array(RegistryTag) });
export type RegistryTags = z.infer<typeof RegistryTags>;

/** `GET /swarm/health`: the cluster in one call. */
export const SwarmHealth = z.object({
  /** True when every manager is reachable, every node ready and every service converged. */
  ok: z.boolean(),
  engine: z.object({
    version: z.string(),
    node_id: z.string(),
    cluster_id: z.string().nullable(),
  }),
  managers: z.object({ total: z.number().int(), reachable: z.number().int() }),
  nodes: z.object({
    total: z.number().int(),
    ready: z.number().int(),
    down: z.number().int(),
    drained: z.number().int(),
  }),
  services: z.object({
    total: z.number().int(),
    converged: z.number().int(),
    not_converged: z.array(z.object({
      name: z.string(),
      running: z.number().int(),
      desired: z.number().int(),
      /** The newest error of a task of this service, if any. */
      error: z.string().nullable(),
    })),
  }),
  /** The configured registry (`host:port`) and whether its v2 API answers; null: none set. */
  registry: z.object({
    registry: z.string(),
    reachable: z.boolean(),
    error: z.string().nullable(),
  }).nullable(),
  /** Each problem in one sentence, for the UI summary and MCP. */
  problems: z.array(z.string()),
  checked_at: z.number(),
});
export type SwarmHealth = z.infer<typeof SwarmHealth>;
