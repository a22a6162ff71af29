/**
 * `fleet-agent recover` really joins a swarm, with two real Docker engines on two "hosts": network
 * namespaces joined by a veth pair in 10.231.7.0/24 (TESTING.md "Several hosts on one machine").
 * Engine A is the control box (swarm manager advertising 10.231.7.1, the hub on the host's
 * loopback reads the join token from it); engine B is the node. With B's link down the swarm step
 * fails clearly after its bounded tries while the other steps still run; with the link up recover
 * joins B as a worker; a second run changes nothing; with the manager gone the engine's join stays
 * pending, recover says so, and the engine completes the join once the manager is back. The join
 * token appears in no output and no report.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type HubProcess, ROOT, startHub } from "../helpers/hub.ts";
import {
  DOCKER_UNAVAILABLE,
  type Dockerd,
  removeDockerd,
  startDockerdIn,
} from "../helpers/dockerd.ts";
import { createNetnsPair, type NetnsPair, netnsUnavailable } from "../helpers/netns.ts";
import { waitFor } from "../helpers/process.ts";
import { createDockerApi, type DockerApi } from "../../shared/docker_api.ts";
import type { NodeRecovery } from "../../shared/protocol/mod.ts";

const CI = Deno.env.get("CI") === "true";
const SUBNET = "10.231.7";
const UNAVAILABLE = netnsUnavailable() ?? DOCKER_UNAVAILABLE;
if (UNAVAILABLE && !CI) console.error(`\n!! SKIPPED swarm join test: ${UNAVAILABLE}\n`);

const STEPS = ["wait for the hub", "docker", "swarm membership", "essential containers"];

/** Runs the real `fleet-agent recover` from source; its stdout and stderr together. */
async function recover(config: string, socket: string, attempts: number, delay = "200ms") {
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "agent/main.ts"),
      "recover",
      "--config",
      config,
      "--docker-socket",
      socket,
      "--attempts",
      String(attempts),
      "--retry-delay",
      delay,
    ],
    stdin: "null",
    signal: AbortSignal.timeout(180_000),
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

interface SwarmInfo {
  LocalNodeState: string;
  NodeID: string;
  NodeAddr: string;
  ControlAvailable: boolean;
}

const swarmOf = async (d: DockerApi) =>
  (await d.json<{ Swarm: SwarmInfo }>("GET", "/info", { timeoutMs: 10_000 })).Swarm;

const nodesOf = (d: DockerApi) =>
  d.json<{ ID: string; Status: { State: string; Addr: string }; Spec: { Role: string } }[]>(
    "GET",
    "/nodes",
    { timeoutMs: 10_000 },
  );

const stepOf = (r: NodeRecovery, name: string) => r.steps.find((s) => s.step === name)!;

Deno.test({
  name: "recover joins a second engine to the control box's swarm across a veth pair",
  ignore: UNAVAILABLE !== undefined && !CI,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "fleet-swarm-join-" });
    let net: NetnsPair | undefined;
    const engines: Dockerd[] = [];
    const apis: DockerApi[] = [];
    let hub: HubProcess | undefined;
    try {
      try {
        net = await createNetnsPair({ subnet: SUBNET });
      } catch (error) {
        if (CI) throw error;
        console.error(`\n!! SKIPPED swarm join test: no network namespaces here: ${error}\n`);
        return;
      }
      engines.push(...await startDockerdIn([net.a.ns, net.b.ns]));
      const [a, b] = engines;
      const apiA = createDockerApi(a.socket);
      const apiB = createDockerApi(b.socket);
      apis.push(apiA, apiB);

      await a.docker("swarm", "init", "--advertise-addr", net.a.addr);
      await Deno.mkdir(join(dir, "hub"));
      hub = await startHub({ dataDir: join(dir, "hub"), args: ["--docker-socket", a.socket] });
      const manager = `${net.a.addr}:2377`;
      const joinInfo = await hub.admin.request<{ worker_token: string; managers: string[] }>(
        "GET",
        "/api/v1/swarm/join-token",
      );
      assert.deepEqual(joinInfo.managers, [manager], "the hub hands out A's advertised address");
      assert.match(joinInfo.worker_token, /^SWMTKN-/);
      const token = (await hub.admin.createToken({ kind: "node", node_id: "sj-1" })).token;
      const config = join(dir, "agent.yml");
      await Deno.writeTextFile(config, `hub: ${hub.url}\ntoken: ${token}\n`, { mode: 0o600 });
      const outputs: string[] = [];
      const reports: NodeRecovery[] = [];
      const run = async (attempts: number, delay?: string) => {
        const r = await recover(config, b.socket, attempts, delay);
        outputs.push(r.out);
        const report = (await hub!.admin.node("sj-1")).recovery!;
        reports.push(report);
        return { ...r, report };
      };

      await t.step(
        "manager out of reach (B's link down): clear failure, other steps run",
        async () => {
          await net!.link(net!.b, false);
          const r = await run(2);
          assert.equal(r.code, 1, r.out);
          const swarm = stepOf(r.report, "swarm membership");
          assert.equal(swarm.ok, false);
          assert.match(
            swarm.detail,
            /^gave up after 2 tries: could not join the swarm via 10\.231\.7\.1:2377: .*network is unreachable/,
          );
          assert.deepEqual(r.report.steps.map((s) => s.step), [...STEPS, "configs from S3"]);
          for (const s of STEPS.filter((s) => s !== "swarm membership")) {
            assert.ok(stepOf(r.report, s).ok, `${s}: ${stepOf(r.report, s).detail}`);
          }
          assert.equal(r.out.split("swarm membership: try failed").length - 1, 2, "one line a try");
          assert.equal((await swarmOf(apiB)).LocalNodeState, "inactive");
          await net!.link(net!.b, true);
        },
      );

      let nodeB = "";
      await t.step("recover joins B to A's swarm as a worker", async () => {
        const r = await run(3);
        assert.equal(r.code, 0, r.out);
        const swarmB = await swarmOf(apiB);
        assert.equal(swarmB.LocalNodeState, "active");
        assert.equal(swarmB.ControlAvailable, false, "a worker, not a manager");
        assert.equal(swarmB.NodeAddr, net!.b.addr);
        nodeB = swarmB.NodeID;
        const nodes = await waitFor(
          async () => {
            const list = await nodesOf(apiA);
            return list.find((n) => n.ID === nodeB)?.Status.State === "ready" ? list : undefined;
          },
          "B ready in A's node list",
          30_000,
        );
        assert.equal(nodes.length, 2);
        const nb = nodes.find((n) => n.ID === nodeB)!;
        assert.equal(nb.Spec.Role, "worker");
        assert.equal(nb.Status.Addr, net!.b.addr);
        const swarm = stepOf(r.report, "swarm membership");
        assert.equal(swarm.ok, true);
        assert.equal(
          swarm.detail,
          `joined as a worker via ${manager} (node ${nodeB}, address ${net!.b.addr})`,
        );
        assert.ok(r.report.ok, JSON.stringify(r.report.steps));
      });

      await t.step("a second run changes nothing", async () => {
        const r = await run(3);
        assert.equal(r.code, 0, r.out);
        assert.equal(
          stepOf(r.report, "swarm membership").detail,
          `already a member (node ${nodeB})`,
        );
        assert.equal((await swarmOf(apiB)).NodeID, nodeB);
        const nodes = await nodesOf(apiA);
        assert.deepEqual(
          nodes.map((n) => n.ID).sort(),
          [nodeB, (await swarmOf(apiA)).NodeID].sort(),
        );
        assert.ok(reports.at(-1)!.at > reports.at(-2)!.at);
      });

      await t.step(
        "manager gone (A's link down): the join stays pending, then completes",
        async () => {
          await b.docker("swarm", "leave");
          await a.docker("node", "rm", "--force", nodeB);
          await net!.link(net!.a, false);
          // The engine either gives up waiting after its own 20 s and keeps trying in the
          // background (pending), or reports the manager unreachable at once when the address
          // fails fast (no route to host): which one depends on timing, so both are accepted.
          const r = await run(2, "1s");
          assert.equal(r.code, 1, r.out);
          const swarm = stepOf(r.report, "swarm membership");
          assert.equal(swarm.ok, false);
          assert.match(
            swarm.detail,
            /^gave up after 2 tries: (a join is pending: the engine keeps trying to reach the manager 10\.231\.7\.1:2377 in the background|could not join the swarm via 10\.231\.7\.1:2377: .*(no route to host|Timeout was reached))/,
          );
          const pending = (await swarmOf(apiB)).LocalNodeState === "pending";
          if (pending) {
            assert.match(
              r.out,
              /could not join the swarm via 10\.231\.7\.1:2377: Timeout was reached/,
            );
          }
          await net!.link(net!.a, true);
          let rejoined: string;
          if (pending) {
            rejoined = await waitFor(
              async () => {
                const s = await swarmOf(apiB);
                return s.LocalNodeState === "active" ? s.NodeID : undefined;
              },
              "B's pending join to complete",
              60_000,
              500,
            );
          } else {
            // Nothing pending: the next recovery joins afresh.
            const joined = await run(3, "2s");
            assert.equal(joined.code, 0, joined.out);
            assert.match(stepOf(joined.report, "swarm membership").detail, /^joined as a worker/);
            rejoined = (await swarmOf(apiB)).NodeID!;
          }
          const again = await run(3);
          assert.equal(again.code, 0, again.out);
          assert.equal(
            stepOf(again.report, "swarm membership").detail,
            `already a member (node ${rejoined})`,
          );
          assert.equal((await nodesOf(apiA)).length, 2);
        },
      );

      // The join token is a secret: in no output, no report, no hub log line.
      const everything = [
        ...outputs,
        ...reports.map((r) => JSON.stringify(r)),
        hub.child.stdout.join("\n"),
        hub.child.stderr.join("\n"),
      ].join("\n");
      assert.ok(!everything.includes(joinInfo.worker_token), "the join token leaked");
      assert.doesNotMatch(everything, /SWMTKN-/);
    } finally {
      for (const api of apis) api.close();
      await hub?.stop();
      await Promise.all(engines.map((e) => removeDockerd(e)));
      await net?.remove();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
