/**
 * Service definitions: parsing (JSON or YAML, errors naming the field and the line), turning a
 * definition into the Engine API's service spec, and the field-by-field comparison of a live
 * service with its definition (drift).
 *
 * @module
 */
import type { z } from "zod";
import { ConfigError, parseYamlConfig } from "../../shared/yaml_config.ts";
import {
  SwarmDefinition,
  type SwarmDiffField,
  type SwarmMountSpec,
} from "../../shared/protocol/mod.ts";
import type { ServiceSpec } from "../../shared/docker_api.ts";
import { BadInput, issuesToErrors } from "../core/errors.ts";

/** Labels the hub puts on services it deploys (left out of drift). */
export const CATALOG_LABEL = "fleet.catalog";
export const CATALOG_VERSION_LABEL = "fleet.catalog.version";

/** A {@link ConfigError}'s lines (`file:7: ports.0: …`) as problem entries. */
export function configErrorToBadInput(error: ConfigError, what: string): BadInput {
  const parsed = error.message.split("\n").map((l) => {
    const m = /^[^:]+(?::(\d+))?: ([^:]+): (.*)$/.exec(l);
    return m ? { line: m[1] ? Number(m[1]) : null, path: m[2], text: m[3] } : {
      line: Number(/^[^:]+:(\d+): /.exec(l)?.[1]) || null,
      path: "(body)",
      text: l.replace(/^[^:]+(:\d+)?: /, ""),
    };
  });
  const where = (p: { line: number | null }) => (p.line === null ? "" : `line ${p.line}: `);
  return new BadInput(
    `invalid ${what}: ` +
      parsed.slice(0, 3).map((p) => `${where(p)}${p.path}: ${p.text}`).join("; ") +
      (parsed.length > 3 ? ` (and ${parsed.length - 3} more)` : ""),
    parsed.map((p) => ({ path: p.path, message: `${where(p)}${p.text}` })),
  );
}

/** Parses a definition from YAML text; errors name the line and the key. */
export function parseDefinitionYaml(text: string): SwarmDefinition {
  try {
    return parseYamlConfig(text, "definition.yaml", SwarmDefinition);
  } catch (error) {
    if (error instanceof ConfigError) throw configErrorToBadInput(error, "definition");
    throw error;
  }
}

/** Validates a definition given as JSON; errors name the field (`definition.ports.0`). */
export function parseDefinitionJson(value: unknown): SwarmDefinition {
  const r = (SwarmDefinition as z.ZodType<SwarmDefinition>).safeParse(value);
  if (r.success) return r.data;
  const errors = issuesToErrors(r.error.issues).map((e) => ({
    ...e,
    path: `definition.${e.path === "(body)" ? "" : e.path}`.replace(/\.$/, ""),
  }));
  throw new BadInput(
    `invalid definition: ${errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join("; ")}`,
    errors,
  );
}

const NS = 1_000_000_000;

/** A mount in its long form. */
function mountObject(m: SwarmMountSpec) {
  if (typeof m !== "string") {
    return {
      type: m.type,
      source: m.source ?? null,
      target: m.target,
      read_only: m.read_only ?? false,
      tmpfs_size_b: m.tmpfs_size_b ?? null,
    };
  }
  const [source, target, mode] = m.split(":");
  return {
    type: source.startsWith("/") ? "bind" : "volume",
    source,
    target,
    read_only: mode === "ro",
    tmpfs_size_b: null,
  };
}

function port(spec: string): { published?: number; target: number; protocol: string } {
  const [pair, protocol = "tcp"] = spec.split("/");
  const parts = pair.split(":");
  return parts.length === 2
    ? { published: Number(parts[0]), target: Number(parts[1]), protocol }
    : { target: Number(parts[0]), protocol };
}

/** The Engine API spec of a definition (catalog labels included). */
export function toServiceSpec(def: SwarmDefinition, version: number): ServiceSpec {
  const r = def.resources;
  const spec: ServiceSpec = {
    Name: def.name,
    Labels: { ...def.labels, [CATALOG_LABEL]: def.name, [CATALOG_VERSION_LABEL]: String(version) },
    TaskTemplate: {
      ContainerSpec: {
        Image: def.image,
        ...(def.command ? { Command: def.command } : {}),
        ...(def.args ? { Args: def.args } : {}),
        Env: Object.entries(def.env).map(([k, v]) => `${k}=${v}`),
        Mounts: def.mounts.map(mountObject).map((m) => ({
          Type: m.type,
          ...(m.source !== null ? { Source: m.source } : {}),
          Target: m.target,
          ReadOnly: m.read_only,
          ...(m.tmpfs_size_b !== null ? { TmpfsOptions: { SizeBytes: m.tmpfs_size_b } } : {}),
        })),
      },
      Placement: { Constraints: def.constraints },
      Networks: def.networks.map((n) => ({ Target: n })),
      ...(r
        ? {
          Resources: {
            Limits: {
              ...(r.limits?.cpus ? { NanoCPUs: Math.round(r.limits.cpus * NS) } : {}),
              ...(r.limits?.memory_b ? { MemoryBytes: r.limits.memory_b } : {}),
            },
            Reservations: {
              ...(r.reservations?.cpus ? { NanoCPUs: Math.round(r.reservations.cpus * NS) } : {}),
              ...(r.reservations?.memory_b ? { MemoryBytes: r.reservations.memory_b } : {}),
              ...(r.reservations?.generic
                ? {
                  GenericResources: r.reservations.generic.map((g) => ({
                    DiscreteResourceSpec: { Kind: g.kind, Value: g.value },
                  })),
                }
                : {}),
            },
          },
        }
        : {}),
      ...(def.restart_policy
        ? {
          RestartPolicy: {
            Condition: def.restart_policy.condition,
            ...(def.restart_policy.max_attempts !== undefined
              ? { MaxAttempts: def.restart_policy.max_attempts }
              : {}),
            ...(def.restart_policy.delay_s !== undefined
              ? { Delay: Math.round(def.restart_policy.delay_s * NS) }
              : {}),
          },
        }
        : {}),
    },
    Mode: def.mode === "global" ? { Global: {} } : { Replicated: { Replicas: def.replicas } },
    ...(def.update_config ? { UpdateConfig: updateConfig(def.update_config) } : {}),
    EndpointSpec: {
      Ports: def.ports.map(port).map((p) => ({
        Protocol: p.protocol,
        TargetPort: p.target,
        ...(p.published !== undefined ? { PublishedPort: p.published } : {}),
        PublishMode: "ingress",
      })),
    },
  };
  return spec;
}

/** The Engine API's UpdateConfig of a policy (seconds → nanoseconds). */
export function updateConfig(u: {
  parallelism?: number;
  delay_s?: number;
  failure_action?: string;
  order?: string;
}): NonNullable<ServiceSpec["UpdateConfig"]> {
  return {
    ...(u.parallelism !== undefined ? { Parallelism: u.parallelism } : {}),
    ...(u.delay_s !== undefined ? { Delay: Math.round(u.delay_s * NS) } : {}),
    ...(u.failure_action !== undefined ? { FailureAction: u.failure_action } : {}),
    ...(u.order !== undefined ? { Order: u.order } : {}),
  };
}

/** The comparable view of a service: what a definition says, in one normal form. */
export type ServiceView = Record<string, unknown>;

const sorted = (a: string[]) => [...a].sort();
const nonEmpty = <T>(a: T[] | null | undefined): T[] | null => a && a.length ? a : null;
const omitUndefined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
const emptyToNull = (o: Record<string, unknown>) => Object.keys(o).length ? o : null;

/** Labels that are the hub's or Docker's own bookkeeping. */
function userLabels(labels: Record<string, string> | null | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(labels ?? {}).filter(([k]) =>
      !k.startsWith("fleet.catalog") && !k.startsWith("com.docker.")
    ),
  );
}

/** The view of a definition. */
export function definitionView(def: SwarmDefinition): ServiceView {
  const r = def.resources;
  return {
    image: def.image,
    mode: def.mode,
    replicas: def.mode === "global" ? null : def.replicas,
    command: nonEmpty(def.command),
    args: nonEmpty(def.args),
    ports: sorted(
      def.ports.map(port).map((p) =>
        `${p.published !== undefined ? `${p.published}:` : ""}${p.target}/${p.protocol}`
      ),
    ),
    env: { ...def.env },
    constraints: sorted(def.constraints),
    labels: userLabels(def.labels),
    networks: sorted(def.networks),
    mounts: def.mounts.map(mountObject).sort((a, b) => a.target.localeCompare(b.target)),
    resources: r
      ? emptyToNull(omitUndefined({
        limits: emptyToNull(omitUndefined({ cpus: r.limits?.cpus, memory_b: r.limits?.memory_b })),
        reservations: emptyToNull(omitUndefined({
          cpus: r.reservations?.cpus,
          memory_b: r.reservations?.memory_b,
          generic: nonEmpty(
            r.reservations?.generic?.map((g) => ({ kind: g.kind, value: g.value })),
          ),
        })),
      }))
      : null,
    restart_policy: def.restart_policy
      ? omitUndefined({
        condition: def.restart_policy.condition,
        max_attempts: def.restart_policy.max_attempts || undefined,
        delay_s: def.restart_policy.delay_s,
      })
      : null,
    update_config: def.update_config ? emptyToNull(omitUndefined({ ...def.update_config })) : null,
  };
}

/** The view of a live service's spec; `networkName` maps network ids back to names. */
export function liveView(spec: ServiceSpec, networkName: (id: string) => string): ServiceView {
  const t = spec.TaskTemplate;
  const c = t.ContainerSpec;
  const res = t.Resources;
  const mode = spec.Mode?.Global ? "global" : "replicated";
  const env: Record<string, string> = {};
  for (const e of c.Env ?? []) {
    const at = e.indexOf("=");
    if (at < 0) env[e] = "";
    else env[e.slice(0, at)] = e.slice(at + 1);
  }
  const rp = t.RestartPolicy;
  const uc = spec.UpdateConfig;
  return {
    // A digest pinned by the CLI (`image:tag@sha256:…`) is the same image as far as drift goes.
    image: c.Image.replace(/@sha256:[a-f0-9]+$/, ""),
    mode,
    replicas: mode === "global" ? null : spec.Mode?.Replicated?.Replicas ?? 1,
    command: nonEmpty(c.Command),
    args: nonEmpty(c.Args),
    ports: sorted(
      (spec.EndpointSpec?.Ports ?? []).map((p) =>
        `${p.PublishedPort ? `${p.PublishedPort}:` : ""}${p.TargetPort}/${p.Protocol ?? "tcp"}`
      ),
    ),
    env,
    constraints: sorted(t.Placement?.Constraints ?? []),
    labels: userLabels(spec.Labels),
    networks: sorted((t.Networks ?? []).map((n) => networkName(n.Target))),
    mounts: (c.Mounts ?? []).map((m) => ({
      type: m.Type,
      source: m.Source ?? null,
      target: m.Target,
      read_only: m.ReadOnly ?? false,
      tmpfs_size_b: m.TmpfsOptions?.SizeBytes ?? null,
    })).sort((a, b) => a.target.localeCompare(b.target)),
    resources: res
      ? emptyToNull(omitUndefined({
        limits: emptyToNull(omitUndefined({
          cpus: res.Limits?.NanoCPUs ? res.Limits.NanoCPUs / NS : undefined,
          memory_b: res.Limits?.MemoryBytes || undefined,
        })),
        reservations: emptyToNull(omitUndefined({
          cpus: res.Reservations?.NanoCPUs ? res.Reservations.NanoCPUs / NS : undefined,
          memory_b: res.Reservations?.MemoryBytes || undefined,
          generic: nonEmpty(
            (res.Reservations?.GenericResources ?? []).flatMap((g) =>
              g.DiscreteResourceSpec
                ? [{ kind: g.DiscreteResourceSpec.Kind, value: g.DiscreteResourceSpec.Value }]
                : []
            ),
          ),
        })),
      }))
      : null,
    restart_policy: rp
      ? omitUndefined({
        condition: rp.Condition,
        max_attempts: rp.MaxAttempts || undefined,
        delay_s: rp.Delay !== undefined ? rp.Delay / NS : undefined,
      })
      : null,
    update_config: uc
      ? emptyToNull(omitUndefined({
        parallelism: uc.Parallelism,
        delay_s: uc.Delay !== undefined ? uc.Delay / NS : undefined,
        failure_action: uc.FailureAction,
        order: uc.Order,
      }))
      : null,
  };
}

/** Canonical JSON (sorted keys) for equality. */
function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${
      Object.keys(v).sort().map((k) =>
        `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`
      ).join(",")
    }}`;
  }
  return JSON.stringify(v ?? null);
}

/** Fields that differ; `env` and `labels` per key (`env.MODE`). */
export function diffViews(catalog: ServiceView, live: ServiceView): SwarmDiffField[] {
  const out: SwarmDiffField[] = [];
  for (const field of Object.keys(catalog)) {
    const a = catalog[field];
    const b = live[field];
    if (field === "env" || field === "labels") {
      const ra = a as Record<string, string>;
      const rb = b as Record<string, string>;
      for (const k of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) {
        if (ra[k] !== rb[k]) {
          out.push({ field: `${field}.${k}`, catalog: ra[k] ?? null, live: rb[k] ?? null });
        }
      }
    } else if (canon(a) !== canon(b)) {
      out.push({ field, catalog: a ?? null, live: b ?? null });
    }
  }
  return out;
}
