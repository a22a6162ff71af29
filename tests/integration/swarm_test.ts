/**
 * Docker Swarm control against a real engine: one private dockerd in a single-node swarm with a
 * loopback registry (deletion enabled), and a real hub on it. A definition registered from YAML
 * is built from a small context, pushed, deployed, checked for drift after a hand change with the
 * docker CLI, scaled 1 → 3, rolled to a new tag, read (logs, and a follow over SSE), stopped,
 * redeployed and removed; batch services show complete and failed with the error; a two-service
 * stack deploys and goes, a stack with build: is refused with the reason; draining the node stops
 * its tasks and activating brings them back; the registry lists the pushed tags with size and
 * architecture and deletes one. Task states are compared with `docker service ps`. Then the engine
 * leaves the swarm (every swarm route answers 409) and stops (503). Each change is audited.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hubCli, type HubProcess, startHub } from "../helpers/hub.ts";
import {
  DOCKER_UNAVAILABLE,
  type Dockerd,
  removeDockerd,
  startDockerd,
} from "../helpers/dockerd.ts";
import { waitFor } from "../helpers/process.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { ApiClient, ApiError, type SseMessage } from "../../shared/api_client.ts";
import {
  RegistryCatalog,
  RegistryTags,
  SwarmBuildRun,
  SwarmCatalogEntry,
  SwarmCatalogVersion,
  SwarmDiff,
  SwarmHealth,
  SwarmNode,
  SwarmService,
  SwarmServiceDetail,
  SwarmStack,
  SwarmStackDetail,
} from "../../shared/protocol/mod.ts";
import type { z } from "zod";

/** The hub's answer matches its protocol schema (what the UI and MCP rely on). */
function conforms<S extends z.ZodType>(schema: S, value: unknown): void {
  const r = schema.safeParse(value);
  assert.ok(r.success, `${JSON.stringify(r.error?.issues.slice(0, 3))}`);
}

const CI = Deno.env.get("CI") === "true";
const UNAVAILABLE = DOCKER_UNAVAILABLE;
if (UNAVAILABLE && !CI) console.error(`\n!! SKIPPED swarm test: ${UNAVAILABLE}\n`);

/** A command that sleeps and ends at once on SIGTERM (no 10 s stop grace period). */
const SLEEP = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];

/** The engine's name for this machine's architecture. */
const ARCH = Deno.build.arch === "x86_64" ? "amd64" : "arm64";

/** Reads SSE messages until `until` returns true or the stream ends (bounded). */
async function readEvents(
  stream: ReadableStream<SseMessage>,
  until: (m: SseMessage, all: SseMessage[]) => boolean,
  timeoutMs = 60_000,
): Promise<SseMessage[]> {
  const all: SseMessage[] = [];
  const reader = stream.getReader();
  const timer = setTimeout(() => reader.cancel(), timeoutMs);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      all.push(value);
      if (until(value, all)) break;
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
  return all;
}

/** `docker service ps` of a service: task id → current state word (lowercase). */
async function servicePs(engine: Dockerd, name: string): Promise<Map<string, string>> {
  const out = await engine.docker(
    "service",
    "ps",
    "--no-trunc",
    "--format",
    "{{.ID}}\t{{.CurrentState}}",
    name,
  );
  return new Map(
    out.split("\n").filter(Boolean).map((l) => {
      const [id, state] = l.split("\t");
      return [id, state.split(" ")[0].toLowerCase()];
    }),
  );
}

/** Our task states equal `docker service ps`'s, task by task. */
async function assertSameAsDocker(engine: Dockerd, detail: SwarmServiceDetail): Promise<void> {
  const ps = await servicePs(engine, detail.name);
  const ours = new Map(detail.tasks.map((t) => [t.id, t.state]));
  assert.deepEqual([...ours.keys()].sort(), [...ps.keys()].sort(), "the same tasks");
  for (const [id, state] of ours) assert.equal(state, ps.get(id), `task ${id}`);
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (error) {
    if (error instanceof ApiError) return error.status;
    throw error;
  }
}

Deno.test({
  name: "swarm: catalog, build, push, deploy, drift, scale, update, logs, stacks, nodes, registry",
  ignore: !!UNAVAILABLE && !CI,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    if (UNAVAILABLE) throw new Error(UNAVAILABLE);
    const engine = await startDockerd({ swarm: true });
    const projects = await Deno.makeTempDir({ prefix: "fleet-projects-" });
    let hub: HubProcess | undefined;
    try {
      const reg = engine.registry;
      await Deno.mkdir(join(projects, "app"));
      await Deno.writeTextFile(
        join(projects, "app", "Dockerfile"),
        `FROM ${engine.image}\nCOPY hello.txt /hello.txt\n` +
          // Exits at once on SIGTERM: a stop or rolling update waits no 10 s grace period.
          `CMD ["sh", "-c", "trap 'exit 0' TERM; cat /hello.txt; sleep 3600 & wait"]\n`,
      );
      await Deno.writeTextFile(join(projects, "app", "hello.txt"), "hello from v1\n");
      await Deno.writeTextFile(join(projects, "app", ".dockerignore"), "secret.txt\n");
      await Deno.writeTextFile(join(projects, "app", "secret.txt"), "not for the image\n");
      hub = await startHub({
        args: [
          "--docker-socket",
          engine.socket,
          "--swarm-registry",
          `http://${reg}`,
          "--swarm-projects-dir",
          projects,
        ],
      });
      const api = hub.admin;
      // Later steps build on earlier ones: after a failure they are skipped, not piled on.
      let failed = false;
      const step = async (name: string, fn: () => Promise<void>) => {
        const ok = await t.step({ name, ignore: failed, fn });
        if (!ok) failed = true;
      };
      const running = (name: string, n: number, image?: string) =>
        waitFor(
          async () => {
            const d = await api.swarmService(name);
            const up = d.tasks.filter((x) =>
              x.state === "running" && x.desired_state === "running" &&
              (!image || x.image.startsWith(image))
            );
            return d.replicas_running === n && up.length === n ? d : undefined;
          },
          `${name}: ${n} running${image ? ` on ${image}` : ""}`,
          60_000,
          250,
        );

      await step("a definition from YAML: line-numbered errors, versions", async () => {
        const bad = await api.swarmCatalogCreate({
          yaml: "name: app\nimage: x\nreplicas: 1\nports:\n  - 'eighty'\n",
        }).catch((e) => e);
        assert.ok(bad instanceof ApiError && bad.status === 400);
        assert.match(bad.message, /line 5/);
        assert.ok(bad.problem?.errors?.some((e) => e.path === "ports.0"), bad.message);
        assert.deepEqual(await api.swarmCatalog(), [], "bad input stored nothing");

        const yaml = [
          "name: app",
          `image: ${reg}/fleet/app:1`,
          "replicas: 1",
          "env:",
          "  GREETING: hello",
          "build_context: app",
          "",
        ].join("\n");
        const e = await api.swarmCatalogCreate({ yaml, note: "first" });
        assert.equal(e.version, 1);
        assert.equal(e.definition.env.GREETING, "hello");
        // The same definition again stores no version; a change stores version 2.
        assert.equal((await api.swarmCatalogUpdate("app", { yaml })).version, 1);
        const v2 = await api.swarmCatalogUpdate("app", {
          yaml: yaml.replace("GREETING: hello", "GREETING: hi"),
        });
        assert.equal(v2.version, 2);
        const versions = await api.swarmCatalogVersions("app");
        for (const v of versions) conforms(SwarmCatalogVersion, v);
        for (const c of await api.swarmCatalog()) conforms(SwarmCatalogEntry, c);
        assert.deepEqual(versions.map((v) => v.version), [2, 1]);
        assert.equal(versions[1].yaml, yaml);
        assert.equal(versions[1].note, "first");
        assert.equal(await status(api.swarmCatalogCreate({ yaml })), 409, "create refuses a name");
      });

      let build1: SwarmBuildRun;
      await step("build from the projects dir, output live over SSE, push", async () => {
        assert.deepEqual((await api.swarmProjects()).map((p) => [p.name, p.has_dockerfile]), [
          ["app", true],
        ]);
        const started = await api.swarmBuild("app");
        assert.equal(started.state, "running");
        assert.equal(started.image, `${reg}/fleet/app:1`);
        const events = await readEvents(
          await api.swarmBuildEvents(started.id),
          (m) => m.event === "end",
          120_000,
        );
        const text = events.filter((m) => m.event === "output")
          .map((m) => (m.data as { text: string }).text).join("");
        assert.match(text, /COPY hello\.txt/);
        assert.match(text, /pushing/);
        const end = events.at(-1)!;
        assert.equal(end.event, "end");
        build1 = (end.data as { run: SwarmBuildRun }).run;
        assert.equal(build1.state, "succeeded", text);
        assert.match(build1.digest ?? "", /^sha256:/);
        const stored = await api.swarmBuildRun(started.id);
        conforms(SwarmBuildRun, stored);
        assert.match(stored.output ?? "", /COPY hello\.txt/);
        assert.equal((await api.swarmBuilds({ service: "app" }))[0].id, started.id);
        // .dockerignore kept secret.txt out of the context.
        const ls = await engine.docker("run", "--rm", "--network", "none", build1.image, "ls", "/");
        assert.ok(!ls.includes("secret.txt") && ls.includes("hello.txt"), ls);

        // A broken Dockerfile: the run fails with the engine's error, its output kept, audited.
        await Deno.mkdir(join(projects, "broken"));
        await Deno.writeTextFile(
          join(projects, "broken", "Dockerfile"),
          `FROM ${engine.image}\nCOPY missing.txt /\n`,
        );
        await api.swarmCatalogCreate({
          definition: { name: "broken", image: `${reg}/fleet/broken:1`, build_context: "broken" },
        });
        const bad = await api.swarmBuild("broken");
        const badEnd = (await readEvents(await api.swarmBuildEvents(bad.id), (m) =>
          m.event === "end"))
          .at(-1)!;
        const badRun = (badEnd.data as { run: SwarmBuildRun }).run;
        assert.equal(badRun.state, "failed");
        assert.match(badRun.error ?? "", /build failed: .*missing\.txt/);
        assert.match((await api.swarmBuildRun(bad.id)).output ?? "", /COPY missing\.txt/);
        const finish = (await api.audit({ action: "swarm.build.finish", limit: 1 })).entries[0];
        assert.equal(finish.result, "error");
        assert.equal(finish.target, "broken");
        await api.swarmCatalogDelete("broken");
      });

      await step("cancel a running build: the engine stops it, the run says who", async () => {
        await Deno.mkdir(join(projects, "slow"));
        await Deno.writeTextFile(
          join(projects, "slow", "Dockerfile"),
          `FROM ${engine.image}
RUN echo slow-step-started && sleep 300
`,
        );
        await api.swarmCatalogCreate({
          definition: { name: "slow", image: `${reg}/fleet/slow:1`, build_context: "slow" },
        });
        // This engine has no bridge: the RUN step runs without a network.
        const slow = await api.swarmBuild("slow", { no_cache: true, network: "none" });
        // Cancel once the engine runs the slow step (its output says so).
        await waitFor(
          async () => {
            const out = (await api.swarmBuildRun(slow.id)).output ?? "";
            return out.includes("slow-step-started");
          },
          "the slow step to start",
          60_000,
        );
        const sleeping = async () =>
          (await engine.docker("ps", "--no-trunc", "--format", "{{.Command}}")).includes(
            "sleep 300",
          );
        await waitFor(sleeping, "the build's RUN container", 30_000);
        const cancelled = await api.swarmBuildCancel(slow.id);
        assert.equal(cancelled.state, "cancelled");
        assert.match(cancelled.error ?? "", /cancelled by admin during the build/);
        assert.equal((await api.swarmBuildRun(slow.id)).state, "cancelled");
        // The engine stopped the build: no container still runs its sleep.
        await waitFor(
          async () => !(await sleeping()),
          "the build container to go",
          30_000,
        );
        // Once ended it cannot be cancelled again; both ends are audited.
        await assert.rejects(
          () => api.swarmBuildCancel(slow.id),
          (e) => e instanceof ApiError && e.status === 409 && /not running/.test(e.message),
        );
        const audit = (await api.audit({ action: "swarm.build.cancel", limit: 2 })).entries;
        assert.equal(audit[0].target, "slow");
        assert.equal(audit[0].result, "error", "the refused second cancel");
        assert.equal(audit[1].result, "ok");
        const finish = (await api.audit({ action: "swarm.build.finish", limit: 1 })).entries[0];
        assert.equal(finish.target, "slow");
        await api.swarmCatalogDelete("slow");
      });

      await step("deploy, no drift; a hand change shows exactly that field", async () => {
        const r = await api.swarmCatalogDeploy("app");
        assert.equal(r.version, 2);
        await running("app", 1);
        assert.deepEqual(await api.swarmCatalogDiff("app"), {
          name: "app",
          version: 2,
          deployed: true,
          drift: false,
          fields: [],
        });
        await engine.docker("service", "update", "--detach", "--env-add", "MODE=hand", "app");
        const diff = await api.swarmCatalogDiff("app");
        conforms(SwarmDiff, diff);
        assert.equal(diff.drift, true);
        assert.deepEqual(diff.fields, [{ field: "env.MODE", catalog: null, live: "hand" }]);
        assert.equal((await api.swarmServices()).find((s) => s.name === "app")?.drift, true);
        // Deploying the definition again puts the service back to it.
        await api.swarmCatalogDeploy("app");
        assert.equal((await api.swarmCatalogDiff("app")).drift, false);
        await running("app", 1);
      });

      await step("scale 1 → 3; task states are docker service ps's", async () => {
        await api.swarmScale("app", 3);
        const d = await running("app", 3);
        assert.equal(d.replicas_desired, 3);
        assert.ok(d.tasks.every((x) => x.node_hostname && x.phase !== "failed"));
        await assertSameAsDocker(engine, await api.swarmService("app"));
        conforms(SwarmServiceDetail, await api.swarmService("app"));
        for (const x of await api.swarmServices()) conforms(SwarmService, x);
      });

      await step("rolling update to a new tag built from a changed context", async () => {
        await Deno.writeTextFile(join(projects, "app", "hello.txt"), "hello from v2\n");
        const b = await api.swarmBuild("app", {
          tag: "2",
          update_catalog: false,
          platform: `linux/${ARCH}`,
        });
        assert.equal(b.platform, `linux/${ARCH}`);
        const events = await readEvents(
          await api.swarmBuildEvents(b.id),
          (m) => m.event === "end",
          120_000,
        );
        assert.equal((events.at(-1)!.data as { run: SwarmBuildRun }).run.state, "succeeded");
        assert.equal((await api.swarmCatalogEntry("app")).version, 2, "catalog left as it was");
        await api.swarmUpdate("app", {
          image: `${reg}/fleet/app:2`,
          parallelism: 1,
          delay_s: 0,
          failure_action: "rollback",
        });
        await running("app", 3, `${reg}/fleet/app:2`);
        const d = await waitFor(
          async () => {
            const x = await api.swarmService("app");
            return x.update_state === "completed" ? x : undefined;
          },
          "update completed",
          60_000,
          250,
        );
        assert.equal(d.image.split("@")[0], `${reg}/fleet/app:2`);
        await assertSameAsDocker(engine, d);
        const diff = await api.swarmCatalogDiff("app");
        assert.deepEqual(diff.fields.map((f) => f.field).sort(), [
          "image",
          "replicas",
          "update_config",
        ]);
      });

      await step("logs: tail, and a follow over SSE", async () => {
        const logs = await waitFor(
          async () => {
            const l = await api.swarmServiceLogs("app", 100);
            return l.lines.some((x) => x.line === "hello from v2") ? l : undefined;
          },
          "v2 log lines",
          30_000,
          250,
        );
        assert.ok(logs.lines.every((l) => l.stream === "stdout" && l.ts));
        const follow = await readEvents(
          await api.swarmFollowServiceLogs("app", 10),
          (m) => m.event === "log" && (m.data as { line: string }).line === "hello from v2",
        );
        assert.equal(follow.at(-1)!.event, "log");
        // A follow lives as long as its token: revoking a viewer's token ends the stream.
        const viewer = await api.createToken({ kind: "viewer", name: "log-reader" });
        const viewerApi = new ApiClient({ hub: hub!.url, token: viewer.token });
        const open = await viewerApi.swarmFollowServiceLogs("app", 1);
        const reader = open.getReader();
        assert.equal((await reader.read()).value?.event, "log");
        await api.revokeToken(viewer.id);
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          reader.cancel().catch(() => {});
        }, 20_000);
        while (!(await reader.read()).done) { /* events until the hub ends the stream */ }
        clearTimeout(timer);
        assert.equal(timedOut, false, "the revocation ended the follow");
        // A restart recreates every task (still v2).
        const before = new Set((await api.swarmService("app")).tasks.map((x) => x.id));
        await api.swarmRestart("app");
        await waitFor(
          async () => {
            const d = await api.swarmService("app");
            const fresh = d.tasks.filter((x) => x.state === "running" && !before.has(x.id));
            return fresh.length === 3;
          },
          "3 new tasks after restart",
          60_000,
          250,
        );
      });

      await step("stop keeps the definition; redeploy; remove", async () => {
        await api.swarmStop("app");
        assert.equal(await status(api.swarmService("app")), 404);
        const entry = (await api.swarmCatalog()).find((e) => e.name === "app");
        assert.equal(entry?.live, false);
        assert.equal(entry?.deployed_version, 2);
        await api.swarmCatalogDeploy("app");
        await running("app", 1, `${reg}/fleet/app:1`);
        const id = (await api.swarmService("app")).id;
        assert.equal(await status(api.swarmStop(id.slice(0, 6))), 404, "an id prefix is no name");
        assert.equal((await api.swarmService(id)).name, "app", "the full id names it");
        await api.swarmStop("app");
        await api.swarmCatalogDelete("app");
        assert.equal(await status(api.swarmCatalogEntry("app")), 404);
        assert.equal(await status(api.swarmCatalogVersions("app")), 404);
        assert.equal(await status(api.swarmStop("app")), 404);
      });

      await t.step(
        "batch: exit 0 is complete (stopped), exit 1 failed with its error",
        async () => {
          for (
            const [name, script] of [["job-ok", "echo done"], ["job-fail", "echo bad >&2; exit 1"]]
          ) {
            await api.swarmDeploy({
              definition: {
                name,
                image: engine.image,
                command: ["sh", "-c", script],
                restart_policy: { condition: "none" },
              },
            });
          }
          const ok = await waitFor(
            async () => {
              const d = await api.swarmService("job-ok");
              return d.tasks.length === 1 && d.tasks[0].state === "complete" ? d : undefined;
            },
            "job-ok complete",
            60_000,
            250,
          );
          assert.equal(ok.tasks[0].phase, "complete");
          assert.equal(ok.tasks[0].exit_code, 0);
          assert.equal(ok.tasks[0].error, null);
          assert.equal(ok.tasks_complete, 1);
          const bad = await waitFor(
            async () => {
              const d = await api.swarmService("job-fail");
              return d.tasks.length === 1 && d.tasks[0].state === "failed" ? d : undefined;
            },
            "job-fail failed",
            60_000,
            250,
          );
          assert.equal(bad.tasks[0].phase, "failed");
          assert.equal(bad.tasks[0].exit_code, 1);
          assert.match(bad.tasks[0].error ?? "", /non-zero exit \(1\)/);
          assert.equal(bad.tasks_failed, 1);
          await assertSameAsDocker(engine, ok);
          await assertSameAsDocker(engine, bad);
          const health = await api.swarmHealth();
          conforms(SwarmHealth, health);
          assert.equal(health.ok, false);
          assert.deepEqual(health.services.not_converged.map((s) => s.name), ["job-fail"]);
          assert.match(health.services.not_converged[0].error ?? "", /non-zero exit/);
          await api.swarmStop("job-ok");
          await api.swarmStop("job-fail");
          const fine = await api.swarmHealth();
          assert.equal(fine.ok, true, fine.problems.join("; "));
          assert.deepEqual(fine.registry, { registry: reg, reachable: true, error: null });
          assert.deepEqual([fine.managers.total, fine.managers.reachable, fine.nodes.ready], [
            1,
            1,
            1,
          ]);
        },
      );

      await step("stacks: deploy two services, list, remove; build: refused", async () => {
        // The host network, not an overlay: test engines share the host's network namespace,
        // where an overlay's vxlan device can collide with one another engine left behind.
        const compose = [
          'version: "3.8"',
          "services:",
          "  web:",
          `    image: ${engine.image}`,
          "    command: sleep 3600",
          "    networks: [hostnet]",
          "  worker:",
          `    image: ${engine.image}`,
          "    command: sleep 3600",
          "    networks: [hostnet]",
          "    deploy:",
          "      replicas: 2",
          "networks:",
          "  hostnet:",
          "    external: true",
          "    name: host",
          "",
        ].join("\n");
        const r = await api.swarmStackDeploy({ name: "demo", compose });
        assert.equal(r.ok, true);
        const st = await waitFor(
          async () => {
            const s = (await api.swarmStacks()).find((x) => x.name === "demo");
            return s && s.replicas_running === 3 ? s : undefined;
          },
          "stack demo running 3 tasks",
          60_000,
          250,
        );
        assert.equal(st.services, 2);
        assert.equal(st.replicas_desired, 3);
        const detail = await api.swarmStack("demo");
        conforms(SwarmStackDetail, detail);
        for (const x of await api.swarmStacks()) conforms(SwarmStack, x);
        assert.deepEqual(detail.service_list.map((s) => s.name), ["demo_web", "demo_worker"]);
        assert.equal(detail.compose, compose);
        await api.swarmStackRemove("demo");
        await waitFor(
          async () => !(await api.swarmStacks()).some((x) => x.name === "demo"),
          "stack demo gone",
          30_000,
          250,
        );
        const refused = await api.swarmStackDeploy({
          name: "built",
          compose: "services:\n  web:\n    image: x\n    build: ./web\n",
        }).catch((e) => e);
        assert.ok(refused instanceof ApiError && refused.status === 400);
        assert.match(refused.message, /line 4/);
        assert.match(refused.message, /swarm ignores build/);
      });

      await step("drain stops the node's tasks, activate brings them back", async () => {
        await api.swarmDeploy({
          definition: { name: "web", image: engine.image, command: SLEEP, replicas: 2 },
        });
        await running("web", 2);
        const [node] = await api.swarmNodes();
        conforms(SwarmNode, node);
        assert.equal(node.role, "manager");
        assert.equal(node.self, true);
        assert.equal(node.availability, "active");
        assert.match(node.engine_version ?? "", /^\d+\./);
        assert.equal(node.tasks_running, 2);
        const drained = await api.swarmNodeAction(node.hostname, "drain");
        assert.equal(drained.availability, "drain");
        await waitFor(
          async () => {
            const d = await api.swarmService("web");
            return d.replicas_running === 0 && d.tasks.every((x) => x.state !== "running");
          },
          "web's tasks stopped",
          60_000,
          250,
        );
        assert.equal((await api.swarmHealth()).nodes.drained, 1);
        await api.swarmNodeAction(node.id, "activate");
        await running("web", 2);
        const labeled = await api.swarmNodeLabels(node.id, { add: { gpu: "orin" } });
        assert.equal(labeled.labels.gpu, "orin");
        assert.deepEqual((await api.swarmNodeLabels(node.id, { remove: ["gpu"] })).labels, {});
        assert.equal(await status(api.swarmNodeAction(node.id, "demote")), 409);
        await api.swarmStop("web");
      });

      await step("registry: repositories, tags with size and arch, delete a tag", async () => {
        const cat = await api.registryCatalog();
        conforms(RegistryCatalog, cat);
        assert.equal(cat.registry, reg);
        assert.deepEqual(cat.repositories.map((r) => [r.name, r.tags]), [
          ["fleet/app", 2],
          ["fleet/busybox", 1],
        ]);
        const tags = await api.registryTags("fleet/app");
        conforms(RegistryTags, tags);
        assert.deepEqual(tags.tags.map((x) => x.tag), ["1", "2"]);
        for (const tag of tags.tags) {
          assert.ok(tag.size_b > 1000, `size of ${tag.tag}`);
          assert.deepEqual(tag.architectures, [ARCH]);
          assert.match(tag.digest, /^sha256:/);
        }
        assert.equal(tags.tags[0].digest, build1.digest);
        await api.registryDeleteTag("fleet/app", "1");
        assert.deepEqual((await api.registryTags("fleet/app")).tags.map((x) => x.tag), ["2"]);
        assert.equal(await status(api.registryDeleteTag("fleet/app", "1")), 404);
      });

      await step("MCP: every swarm tool once through the SDK client, with its effect", async () => {
        const client = new Client({ name: "swarm-test", version: "1" });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(`${hub!.url}/mcp`), {
            requestInit: { headers: { authorization: `Bearer ${hub!.adminToken}` } },
          }),
        );
        try {
          const tools = (await client.listTools()).tools as Tool[];
          const hint = (n: string) => tools.find((x) => x.name === n)?.annotations;
          for (
            const n of [
              "fleet_service_list",
              "fleet_service_get",
              "fleet_service_logs",
              "fleet_stack_list",
              "fleet_swarm_node_list",
              "fleet_registry_images",
              "fleet_swarm_health",
            ]
          ) assert.equal(hint(n)?.readOnlyHint, true, n);
          for (
            const n of [
              "fleet_service_stop",
              "fleet_service_scale",
              "fleet_stack_remove",
              "fleet_swarm_node_drain",
              "fleet_service_build_cancel",
            ]
          ) assert.equal(hint(n)?.destructiveHint, true, n);
          assert.equal(hint("fleet_swarm_node_activate")?.destructiveHint, false);
          assert.equal(hint("fleet_service_build")?.readOnlyHint, false);
          const ok = async (name: string, args: Record<string, unknown> = {}) => {
            const r = await client.callTool({ name, arguments: args }) as {
              isError?: boolean;
              content: { text: string }[];
              structuredContent?: Record<string, unknown>;
            };
            assert.ok(!r.isError, `${name}: ${r.content.map((c) => c.text).join(" ")}`);
            return r.structuredContent as Record<string, unknown>;
          };

          assert.equal((await ok("fleet_swarm_health")).ok, true);
          await ok("fleet_service_create", {
            definition: {
              name: "mcp-web",
              image: engine.image,
              command: ["sh", "-c", "trap 'exit 0' TERM; echo mcp-hello; sleep 3600 & wait"],
              build_context: "app",
            },
          });
          await running("mcp-web", 1);
          const listed = (await ok("fleet_service_list")).services as { name: string }[];
          assert.deepEqual(listed.map((x) => x.name), ["mcp-web"]);
          const got = await ok("fleet_service_get", { name: "mcp-web" });
          assert.equal(got.version, 1);
          assert.deepEqual(got.drift, []);
          await ok("fleet_service_scale", { name: "mcp-web", replicas: 2 });
          await running("mcp-web", 2);
          const before = (await api.swarmService("mcp-web")).spec_version;
          await ok("fleet_service_update", { name: "mcp-web", force: true, parallelism: 2 });
          assert.ok((await api.swarmService("mcp-web")).spec_version > before);
          await waitFor(
            async () => {
              const l = (await ok("fleet_service_logs", { name: "mcp-web", tail: 20 })).lines as {
                line: string;
              }[];
              return l.some((x) => x.line === "mcp-hello");
            },
            "mcp-hello in the logs",
            30_000,
            250,
          );
          const built = await ok("fleet_service_build", { name: "mcp-web", tag: "mcp" });
          assert.equal(
            (built.build as { state: string }).state,
            "succeeded",
            String(built.output_tail),
          );
          assert.equal(
            (await api.swarmCatalogEntry("mcp-web")).definition.image,
            `${reg}/fleet/busybox:mcp`,
          );
          const images = (await ok("fleet_registry_images", { repository: "fleet/busybox" }))
            .repositories as { name: string; tags: { tag: string }[] }[];
          assert.deepEqual(images[0].tags.map((x) => x.tag), ["1", "mcp"]);
          await ok("fleet_stack_deploy", {
            name: "mcpstack",
            compose: `services:\n  web:\n    image: ${engine.image}\n    command: sleep 3600\n` +
              "    networks: [hostnet]\nnetworks:\n  hostnet:\n    external: true\n    name: host\n",
          });
          const stacks = (await ok("fleet_stack_list")).stacks as { name: string }[];
          assert.deepEqual(stacks.map((x) => x.name), ["mcpstack"]);
          await ok("fleet_stack_remove", { name: "mcpstack" });
          assert.deepEqual(await api.swarmStacks(), []);
          const nodes = (await ok("fleet_swarm_node_list")).nodes as { hostname: string }[];
          assert.equal(nodes.length, 1);
          await ok("fleet_swarm_node_drain", { node: nodes[0].hostname });
          assert.equal((await api.swarmNode(nodes[0].hostname)).availability, "drain");
          await ok("fleet_swarm_node_activate", { node: nodes[0].hostname });
          assert.equal((await api.swarmNode(nodes[0].hostname)).availability, "active");
          await ok("fleet_service_stop", { name: "mcp-web" });
          assert.equal(await status(api.swarmService("mcp-web")), 404);
          const viaMcp = (await api.audit({ action: "swarm.", limit: 50 })).entries
            .filter((e) => e.detail?.via === "mcp").map((e) => e.action);
          for (
            const a of [
              "swarm.service.deploy",
              "swarm.service.scale",
              "swarm.service.update",
              "swarm.build",
              "swarm.stack.deploy",
              "swarm.stack.remove",
              "swarm.node.action",
              "swarm.service.stop",
            ]
          ) assert.ok(viaMcp.includes(a), `${a} audited via mcp`);
        } finally {
          await client.close();
        }
      });

      await step(
        "fleet-hub swarm: deploy a file, ps, health, stop; a bad file names its line",
        async () => {
          const conn = ["--hub", hub!.url, "--token", hub!.adminToken];
          const file = join(projects, "cli.yaml");
          await Deno.writeTextFile(
            file,
            `name: cli-web\nimage: ${engine.image}\ncommand: ${JSON.stringify(SLEEP)}\n`,
          );
          const dep = await hubCli(["swarm", "deploy", file, ...conn]);
          assert.equal(dep.code, 0, dep.stderr);
          assert.match(dep.stdout, /cli-web deployed \(catalog version 1\)/);
          await running("cli-web", 1);
          const ps = await hubCli(["swarm", "ps", "cli-web", ...conn]);
          assert.match(ps.stdout, /running\s+running/);
          const health = await hubCli(["swarm", "health", ...conn]);
          assert.equal(health.code, 0, health.stdout);
          assert.match(health.stdout, /^ok: managers 1\/1 reachable/);
          await Deno.writeTextFile(file, "name: cli-web\nimage: x:1\nreplicas: -1\n");
          const bad = await hubCli(["swarm", "deploy", file, ...conn]);
          assert.equal(bad.code, 1);
          assert.match(bad.stderr, /line 3: replicas/);
          const stop = await hubCli(["swarm", "stop", "cli-web", ...conn]);
          assert.equal(stop.code, 0, stop.stderr);
          assert.equal(await status(api.swarmService("cli-web")), 404);
        },
      );

      await step("every change is audited with its result", async () => {
        const { entries } = await api.audit({ action: "swarm.", limit: 200 });
        const actions = new Set(entries.map((e) => e.action));
        for (
          const a of [
            "swarm.catalog.create",
            "swarm.catalog.update",
            "swarm.catalog.delete",
            "swarm.build",
            "swarm.build.finish",
            "swarm.build.cancel",
            "swarm.service.deploy",
            "swarm.service.scale",
            "swarm.service.update",
            "swarm.service.restart",
            "swarm.service.stop",
            "swarm.stack.deploy",
            "swarm.stack.remove",
            "swarm.node.action",
            "swarm.node.labels",
            "swarm.registry.delete",
          ]
        ) assert.ok(actions.has(a), a);
        assert.ok(entries.every((e) => e.actor.name === "admin" || e.actor.kind === "admin"));
        const demote = entries.find((e) =>
          e.action === "swarm.node.action" && e.result === "error"
        );
        assert.match(String(demote?.detail?.error), /the manager the hub talks to/);
        // Bad input (the YAML with an error) left no entry.
        assert.equal(entries.filter((e) => e.action === "swarm.catalog.create").length, 4);
      });

      await step("not a swarm manager: 409 on every swarm route; engine gone: 503", async () => {
        await engine.docker("swarm", "leave", "--force");
        // The catalog lives in the hub's database: it still reads, its live state unknown.
        const stored = async () => {
          const list = await api.swarmCatalog();
          assert.ok(list.length > 0, "the stored catalog");
          assert.ok(list.every((e) => e.live === null), JSON.stringify(list.map((e) => e.live)));
        };
        await stored();
        const calls: [string, () => Promise<unknown>][] = [
          ["health", () => api.swarmHealth()],
          ["services", () => api.swarmServices()],
          ["service", () => api.swarmService("web")],
          ["logs", () => api.swarmServiceLogs("web")],
          ["scale", () => api.swarmScale("web", 1)],
          ["deploy", () => api.swarmDeploy({ definition: { name: "x", image: engine.image } })],
          ["stacks", () => api.swarmStacks()],
          ["nodes", () => api.swarmNodes()],
          ["drain", () => api.swarmNodeAction("any", "drain")],
          ["registry", () => api.registryCatalog()],
          ["builds", () => api.swarmBuilds()],
          ["join-token", () => api.request("GET", "/api/v1/swarm/join-token")],
        ];
        for (const [what, call] of calls) {
          const e = await call().catch((x) => x);
          assert.ok(e instanceof ApiError, what);
          assert.equal(e.status, 409, `${what}: ${e.message}`);
          assert.match(e.message, /not a swarm manager/, what);
        }
        await removeDockerd(engine);
        for (const [what, call] of calls) {
          const e = await call().catch((x) => x);
          assert.ok(e instanceof ApiError, what);
          assert.equal(e.status, 503, `${what}: ${e.message}`);
          assert.match(e.message, /engine unreachable/, what);
        }
        // And how to point the hub at an engine.
        const gone = await api.swarmHealth().catch((x) => x);
        assert.match(gone.message, /--docker-socket \/ FLEET_DOCKER_SOCKET/);
        await stored();
        const refused = await api.audit({ action: "swarm.service.scale", limit: 5 });
        assert.equal(refused.entries[0].result, "error");
        assert.equal(refused.entries[0].detail?.status, 503);
      });
    } finally {
      await hub?.stop();
      await removeDockerd(engine);
      await Deno.remove(projects, { recursive: true }).catch(() => {});
    }
  },
});
