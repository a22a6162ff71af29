/**
 * Stacks: `docker stack deploy` and `docker stack rm` through the docker CLI (the Engine API has
 * no stacks), listed from the services' stack label. A compose file is checked first: a service
 * with `build:` is refused with the reason (swarm ignores it), with its line.
 *
 * @module
 */
import { z } from "zod";
import type { Database } from "../core/db.ts";
import { NotFound, Upstream } from "../core/errors.ts";
import { ConfigError, parseYamlConfig } from "../../shared/yaml_config.ts";
import type {
  SwarmStack,
  SwarmStackDeploy,
  SwarmStackDetail,
  SwarmStackResult,
} from "../../shared/protocol/mod.ts";
import { EngineUnreachable, type SwarmEngine } from "./engine.ts";
import type { SwarmServices } from "./services.ts";
import { configErrorToBadInput } from "./definition.ts";
import { deleteStack, listStackRows, putStack } from "./store.ts";

const STACK_LABEL = "com.docker.stack.namespace";
/** The longest a CLI stack command may take. */
const CLI_TIMEOUT_MS = 120_000;

/** Why `build:` is refused in a stack file. */
export const BUILD_REFUSED =
  "swarm ignores build: in a stack file — build the image first (a catalog definition with " +
  "build_context and POST /api/v1/swarm/catalog/:name/build), push it to the registry and " +
  "name it with image:";

/** What a compose file must be for a stack: services, each with an image and no build. */
const ComposeFile = z.looseObject({
  services: z.record(
    z.string(),
    z.looseObject({
      image: z.string({ message: "every service of a stack needs image: (swarm pulls it)" })
        .min(1),
      build: z.undefined({ message: BUILD_REFUSED }).optional(),
    }),
  ),
});

/**
 * Checks a compose file (errors name the line) and returns the text the CLI gets: without a
 * top-level `version`, `version: "3.9"` first, since older CLIs (Debian's 20.10) read a file
 * without one as the unsupported version 1 while newer ones assume the latest.
 */
export function checkCompose(text: string): string {
  try {
    const parsed = parseYamlConfig(text, "compose.yml", ComposeFile);
    return "version" in parsed ? text : `version: "3.9"\n${text}`;
  } catch (error) {
    if (error instanceof ConfigError) throw configErrorToBadInput(error, "compose file");
    throw error;
  }
}

/** Stack operations. */
export class SwarmStacks {
  #engine: SwarmEngine;
  #db: Database;
  #services: SwarmServices;

  constructor(o: { engine: SwarmEngine; db: Database; services: SwarmServices }) {
    this.#engine = o.engine;
    this.#db = o.db;
    this.#services = o.services;
  }

  /** Runs the docker CLI against the hub's engine; stdin optional. */
  async #cli(args: string[], stdin?: string): Promise<string> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("docker", {
        args,
        env: {
          DOCKER_HOST: `unix://${this.#engine.socket}`,
          DOCKER_CLI_HINTS: "false",
        },
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(CLI_TIMEOUT_MS),
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new EngineUnreachable(
          "the docker CLI is not installed on the hub's host: stacks need it (apt-get install " +
            "docker.io, or docker-ce-cli)",
        );
      }
      throw error;
    }
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!out.success) {
      throw new Upstream(
        `docker ${args.slice(0, 2).join(" ")} failed: ${text.trim().slice(-2000)}`,
      );
    }
    return text.trim().slice(-8000);
  }

  /** Every stack with its services' counts (from the engine's labels). */
  async list(): Promise<SwarmStack[]> {
    const services = await this.#services.list();
    const rows = new Map(listStackRows(this.#db).map((r) => [r.name, r]));
    const by = new Map<string, SwarmStack>();
    for (const s of services) {
      if (!s.stack) continue;
      const row = rows.get(s.stack);
      const st = by.get(s.stack) ?? {
        name: s.stack,
        services: 0,
        replicas_running: 0,
        replicas_desired: 0,
        deployed_at: row?.deployed_at ?? null,
        deployed_by: row?.deployed_by ?? null,
      };
      st.services++;
      st.replicas_running += s.replicas_running;
      st.replicas_desired += s.replicas_desired ?? 0;
      by.set(s.stack, st);
    }
    return [...by.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One stack. @throws {NotFound} */
  async get(name: string): Promise<SwarmStackDetail> {
    const services = (await this.#services.list()).filter((s) => s.stack === name);
    const row = listStackRows(this.#db).find((r) => r.name === name);
    if (!services.length) {
      throw new NotFound(`no stack ${name} in the swarm: see GET /api/v1/swarm/stacks`);
    }
    return {
      name,
      services: services.length,
      replicas_running: services.reduce((n, s) => n + s.replicas_running, 0),
      replicas_desired: services.reduce((n, s) => n + (s.replicas_desired ?? 0), 0),
      deployed_at: row?.deployed_at ?? null,
      deployed_by: row?.deployed_by ?? null,
      service_list: services,
      compose: row?.compose ?? null,
    };
  }

  /**
   * `docker stack deploy` of a checked compose file. No `--detach`: older CLIs (Debian's 20.10)
   * lack the flag and always detach; newer ones detach by default.
   */
  async deploy(req: SwarmStackDeploy, by: string): Promise<SwarmStackResult> {
    const compose = checkCompose(req.compose);
    const output = await this.#cli(
      [
        "stack",
        "deploy",
        "--compose-file",
        "-",
        ...(req.with_registry_auth ? ["--with-registry-auth"] : []),
        ...(req.prune ? ["--prune"] : []),
        req.name,
      ],
      compose,
    );
    await this.#db.write((tx) => putStack(tx, req.name, req.compose, by, Date.now()));
    return { name: req.name, action: "deploy", ok: true, output };
  }

  /** `docker stack rm`. @throws {NotFound} for a stack that has no services. */
  async remove(name: string): Promise<SwarmStackResult> {
    const services = await this.#engine.json<{ ID: string }[]>("GET", "/services", {
      query: { filters: { label: [`${STACK_LABEL}=${name}`] } },
    });
    if (!services.length) {
      throw new NotFound(`no stack ${name} in the swarm: see GET /api/v1/swarm/stacks`);
    }
    const output = await this.#cli(["stack", "rm", name]);
    await this.#db.write((tx) => deleteStack(tx, name));
    return { name, action: "remove", ok: true, output };
  }
}
