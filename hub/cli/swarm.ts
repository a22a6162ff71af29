/**
 * `fleet-hub swarm …`: Docker Swarm from the command line, over the hub's HTTP API (so from a
 * laptop too): health, services and their tasks, deploy a definition file, scale, update, logs,
 * build with its output streamed, nodes, stacks.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { ApiClient, SseMessage } from "../../shared/api_client.ts";
import type { SwarmBuildRun } from "../../shared/protocol/mod.ts";
import { EXIT_CODES_HELP, RefusedError, UsageError } from "../../shared/cli.ts";
import { call, client, COMMON, CONNECTION, table } from "./client.ts";

/** Help of `swarm`. */
export const SWARM_HELP = `Usage: fleet-hub swarm <command>

Commands:
  health                        managers, nodes, services not converged (exit 1 if not ok)
  services                      live services: replicas, complete/failed tasks, drift
  ps NAME                       a service's tasks (phase, node, exit code, error)
  deploy FILE                   register (or update) the definition in FILE (YAML) and deploy it
  scale NAME N                  set the replica count
  update NAME [--image IMG] [--parallelism N] [--delay-s S] [--force]
                                rolling update
  stop NAME                     remove from the swarm (the definition stays)
  logs NAME [--tail N] [--follow]
  build NAME [--tag T] [--platform P] [--no-push]
                                build the definition's build_context, push; output streamed
  nodes                         swarm nodes
  drain NODE | activate NODE    node availability
  stacks                        stacks
  stack-deploy NAME FILE        docker stack deploy of a compose file
  stack-rm NAME                 docker stack rm

${CONNECTION}

${EXIT_CODES_HELP}
`;

/** Prints SSE messages as they come; returns the last one. */
async function follow(
  stream: ReadableStream<SseMessage>,
  print: (m: SseMessage) => void,
): Promise<SseMessage | undefined> {
  let last: SseMessage | undefined;
  for await (const m of stream) {
    print(m);
    last = m;
  }
  return last;
}

async function readFile(path: string | undefined, what: string): Promise<string> {
  if (!path) throw new UsageError(`${what}: a file is needed`);
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`${path}: cannot read: ${(error as Error).message}`);
  }
}

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name}: not a count: ${v}`);
  return n;
}

/** `fleet-hub swarm …`. */
export async function swarmCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON,
      image: { type: "string" },
      parallelism: { type: "string" },
      "delay-s": { type: "string" },
      force: { type: "boolean" },
      tail: { type: "string" },
      follow: { type: "boolean" },
      tag: { type: "string" },
      platform: { type: "string" },
      "no-push": { type: "boolean" },
    },
  });
  const [command, a, b] = positionals;
  if (values.help || !command) {
    console.log(SWARM_HELP);
    return values.help ? 0 : 2;
  }
  const api: ApiClient = await client(values);
  const json = (v: unknown) => console.log(JSON.stringify(v, null, 2));
  const need = (v: string | undefined, what: string) => {
    if (!v) throw new UsageError(`${command}: ${what} is needed (see 'swarm --help')`);
    return v;
  };
  switch (command) {
    case "health": {
      const h = await call(api, () => api.swarmHealth());
      if (values.json) json(h);
      else {
        console.log(
          `${h.ok ? "ok" : "NOT OK"}: managers ${h.managers.reachable}/${h.managers.total} ` +
            `reachable, nodes ${h.nodes.ready}/${h.nodes.total} ready (${h.nodes.drained} ` +
            `drained), services ${h.services.converged}/${h.services.total} converged`,
        );
        for (const p of h.problems) console.log(`  ${p}`);
      }
      return h.ok ? 0 : 1;
    }
    case "services": {
      const list = await call(api, () => api.swarmServices());
      if (values.json) {
        json(list);
        return 0;
      }
      console.log(table([
        ["NAME", "IMAGE", "REPLICAS", "COMPLETE", "FAILED", "STACK", "DRIFT"],
        ...list.map((s) => [
          s.name,
          s.image.split("@")[0],
          `${s.replicas_running}/${s.replicas_desired ?? "global"}`,
          String(s.tasks_complete),
          String(s.tasks_failed),
          s.stack ?? "-",
          s.drift === null ? "-" : s.drift ? "yes" : "no",
        ]),
      ]));
      return 0;
    }
    case "ps": {
      const d = await call(api, () => api.swarmService(need(a, "a service name")));
      if (values.json) {
        json(d.tasks);
        return 0;
      }
      console.log(table([
        ["TASK", "SLOT", "NODE", "PHASE", "STATE", "EXIT", "ERROR"],
        ...d.tasks.map((t) => [
          t.id.slice(0, 12),
          String(t.slot ?? "-"),
          t.fleet_node_id ?? t.node_hostname ?? "-",
          t.phase,
          t.state,
          t.exit_code === null ? "-" : String(t.exit_code),
          t.error ?? "",
        ]),
      ]));
      return 0;
    }
    case "deploy": {
      const yaml = await readFile(a, "deploy");
      const r = await call(api, () => api.swarmDeploy({ yaml }));
      console.log(`${r.name} deployed (catalog version ${r.version})`);
      for (const w of r.warnings) console.log(`  warning: ${w}`);
      return 0;
    }
    case "scale": {
      const n = int(need(b, "a replica count"), "replicas")!;
      await call(api, () => api.swarmScale(need(a, "a service name"), n));
      console.log(`${a} scaled to ${n}`);
      return 0;
    }
    case "update": {
      const name = need(a, "a service name");
      await call(api, () =>
        api.swarmUpdate(name, {
          image: values.image,
          parallelism: int(values.parallelism, "--parallelism"),
          delay_s: values["delay-s"] === undefined ? undefined : Number(values["delay-s"]),
          force: values.force,
        }));
      console.log(`${name} updating`);
      return 0;
    }
    case "stop": {
      await call(api, () => api.swarmStop(need(a, "a service name")));
      console.log(`${a} removed from the swarm (its definition stays)`);
      return 0;
    }
    case "logs": {
      const name = need(a, "a service name");
      const tail = int(values.tail, "--tail") ?? 100;
      if (!values.follow) {
        const l = await call(api, () => api.swarmServiceLogs(name, tail));
        for (const x of l.lines) console.log(x.line);
        return 0;
      }
      const stream = await call(api, () => api.swarmFollowServiceLogs(name, tail));
      await follow(stream, (m) => {
        if (m.event === "log") console.log((m.data as { line: string }).line);
      });
      return 0;
    }
    case "build": {
      const name = need(a, "a service name");
      const run = await call(api, () =>
        api.swarmBuild(name, {
          tag: values.tag,
          platform: values.platform,
          ...(values["no-push"] ? { push: false } : {}),
        }));
      console.error(`build ${run.id}: ${run.image}`);
      const stream = await call(api, () => api.swarmBuildEvents(run.id));
      const last = await follow(stream, (m) => {
        if (m.event === "output") {
          Deno.stdout.writeSync(new TextEncoder().encode((m.data as { text: string }).text));
        }
      });
      const end = last?.event === "end" ? (last.data as { run: SwarmBuildRun }).run : undefined;
      if (!end) {
        throw new RefusedError(
          `the build's stream ended before the build: see GET /api/v1/swarm/builds/${run.id}`,
        );
      }
      console.error(`build ${end.id}: ${end.state}${end.error ? `: ${end.error}` : ""}`);
      return end.state === "succeeded" ? 0 : 1;
    }
    case "nodes": {
      const list = await call(api, () => api.swarmNodes());
      if (values.json) {
        json(list);
        return 0;
      }
      console.log(table([
        ["HOSTNAME", "ROLE", "AVAILABILITY", "STATE", "ENGINE", "FLEET NODE", "TASKS"],
        ...list.map((n) => [
          n.hostname + (n.leader ? " *" : ""),
          n.role,
          n.availability,
          n.state,
          n.engine_version ?? "-",
          n.fleet_node_id ?? "-",
          String(n.tasks_running),
        ]),
      ]));
      return 0;
    }
    case "drain":
    case "activate": {
      const n = await call(api, () => api.swarmNodeAction(need(a, "a node"), command));
      console.log(`${n.hostname}: ${n.availability}`);
      return 0;
    }
    case "stacks": {
      const list = await call(api, () => api.swarmStacks());
      if (values.json) {
        json(list);
        return 0;
      }
      console.log(table([
        ["NAME", "SERVICES", "REPLICAS"],
        ...list.map((
          s,
        ) => [s.name, String(s.services), `${s.replicas_running}/${s.replicas_desired}`]),
      ]));
      return 0;
    }
    case "stack-deploy": {
      const compose = await readFile(b, "stack-deploy");
      const r = await call(
        api,
        () => api.swarmStackDeploy({ name: need(a, "a stack name"), compose }),
      );
      console.log(r.output);
      return 0;
    }
    case "stack-rm": {
      const r = await call(api, () => api.swarmStackRemove(need(a, "a stack name")));
      console.log(r.output);
      return 0;
    }
    default:
      throw new UsageError(`unknown swarm command '${command}' (see 'fleet-hub swarm --help')`);
  }
}
