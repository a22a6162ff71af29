/**
 * Swarm node operations through the hub, on two real Docker engines in two network namespaces
 * joined by a veth pair in 10.231.61.0/24 (TESTING.md "Several hosts on one machine"). Engine A is
 * the control box (swarm manager, the hub's engine); engine B joins A's swarm as a worker. Through
 * the hub's API with an admin token: the list shows B as a ready worker with its engine version;
 * promote and demote change B's role as A's `docker node ls` sees it; drain and activate change
 * its availability; removal is refused (409) for a manager and for a live node without force, and
 * works once B has left the swarm, or with force. Every change leaves an audit entry.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type HubProcess, startHub } from "../helpers/hub.ts";
import {
  DOCKER_UNAVAILABLE,
  type Dockerd,
  removeDockerd,
  startDockerdIn,
} from "../helpers/dockerd.ts";
import { createNetnsPair, type NetnsPair, netnsUnavailable } from "../helpers/netns.ts";
import { waitFor } from "../helpers/process.ts";
import { ApiError } from "../../shared/api_client.ts";
import type { SwarmNode } from "../../shared/protocol/mod.ts";

const CI = Deno.env.get("CI") === "true";
// Private to this test: swarm_join_test uses 10.231.7, network_scan_test 10.231.42.
const SUBNET = "10.231.61";
const UNAVAILABLE = netnsUnavailable() ?? DOCKER_UNAVAILABLE;
if (UNAVAILABLE && !CI) console.error(`\n!! SKIPPED swarm nodes test: ${UNAVAILABLE}\n`);

/** The hub's refusal of `call`: its status and problem detail. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; detail: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, detail: error.message };
    throw error;
  }
  assert.fail("the hub accepted it");
}

Deno.test({
  name: "swarm nodes: promote, demote, drain, activate and remove a second engine via the hub",
  ignore: UNAVAILABLE !== undefined && !CI,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "fleet-swarm-nodes-" });
    let net: NetnsPair | undefined;
    const engines: Dockerd[] = [];
    let hub: HubProcess | undefined;
    try {
      try {
        net = await createNetnsPair({ subnet: SUBNET });
      } catch (error) {
        if (CI) throw error;
        console.error(`\n!! SKIPPED swarm nodes test: no network namespaces here: ${error}\n`);
        return;
      }
      engines.push(...await startDockerdIn([net.a.ns, net.b.ns]));
      const [a, b] = engines;
      await a.docker("swarm", "init", "--advertise-addr", net.a.addr);
      await Deno.mkdir(join(dir, "hub"));
      hub = await startHub({ dataDir: join(dir, "hub"), args: ["--docker-socket", a.socket] });
      const api = hub.admin;
      const idA = await a.docker("info", "--format", "{{.Swarm.NodeID}}");

      /** Joins B to A's swarm with the token the hub hands out; B's new node id once ready. */
      const joinB = async () => {
        const j = await api.request<{ worker_token: string; managers: string[] }>(
          "GET",
          "/api/v1/swarm/join-token",
        );
        await b.docker("swarm", "join", "--token", j.worker_token, j.managers[0]);
        const id = await b.docker("info", "--format", "{{.Swarm.NodeID}}");
        await waitFor(
          async () => (await api.swarmNodes()).find((n) => n.id === id)?.state === "ready",
          "B ready in the hub's node list",
          30_000,
          250,
        );
        return id;
      };
      /** Polls the hub's view of `id` until `ok` holds. */
      const until = (id: string, ok: (n: SwarmNode) => boolean, what: string) =>
        waitFor(
          async () => {
            const n = (await api.swarmNodes()).find((x) => x.id === id);
            return n && ok(n) ? n : undefined;
          },
          what,
          30_000,
          250,
        );
      /** `docker node ls` on A: MANAGER STATUS by node id ("" for a worker). */
      const nodeLs = async () =>
        new Map(
          (await a.docker("node", "ls", "--format", "{{.ID}} {{.ManagerStatus}}"))
            .split("\n").map((l) => {
              const [id, ...status] = l.trim().split(" ");
              return [id, status.join(" ")] as const;
            }),
        );

      let idB = "";
      let hostnameB = "";
      await t.step("list: B is a ready, active worker with its engine version", async () => {
        idB = await joinB();
        const nodes = await api.swarmNodes();
        assert.equal(nodes.length, 2);
        const nb = nodes.find((n) => n.id === idB)!;
        assert.equal(nb.role, "worker");
        assert.equal(nb.state, "ready");
        assert.equal(nb.availability, "active");
        assert.equal(nb.addr, net!.b.addr);
        assert.equal(nb.self, false);
        hostnameB = nb.hostname;
        assert.equal(
          nb.engine_version,
          await b.docker("version", "--format", "{{.Server.Version}}"),
        );
        const na = nodes.find((n) => n.id === idA)!;
        assert.deepEqual([na.role, na.leader, na.self], ["manager", true, true]);
        assert.equal(nodes[0].id, idA, "managers first");
        assert.equal((await api.swarmNode(idB)).id, idB);
      });

      await t.step("promote B: a reachable manager in A's `docker node ls`", async () => {
        const n = await api.swarmNodeAction(idB, "promote");
        assert.equal(n.role, "manager");
        await waitFor(
          async () => (await nodeLs()).get(idB) === "Reachable",
          "B Reachable in docker node ls",
          30_000,
          250,
        );
        assert.equal((await nodeLs()).get(idA), "Leader");
        await until(idB, (x) => x.manager_reachability === "reachable", "B reachable via hub");
        // A manager cannot be removed, even by force: the hub says to demote it first.
        const r = await refusal(api.swarmNodeRemove(idB, true));
        assert.equal(r.status, 409);
        assert.match(r.detail, /is a manager: demote it first/);
      });

      await t.step("demote B: a worker again", async () => {
        const n = await api.swarmNodeAction(idB, "demote");
        assert.equal(n.role, "worker");
        await waitFor(
          async () => (await nodeLs()).get(idB) === "",
          "B without manager status in docker node ls",
          30_000,
          250,
        );
        await waitFor(
          async () =>
            (await b.docker("info", "--format", "{{.Swarm.ControlAvailable}}")) === "false",
          "B's engine to step down",
          30_000,
          250,
        );
        // The hub's own manager cannot be demoted through it.
        const r = await refusal(api.swarmNodeAction(idA, "demote"));
        assert.equal(r.status, 409);
        assert.match(r.detail, /the manager the hub talks to/);
      });

      await t.step("drain B, then activate it", async () => {
        assert.equal((await api.swarmNodeAction(idB, "drain")).availability, "drain");
        assert.equal(
          await a.docker("node", "inspect", idB, "--format", "{{.Spec.Availability}}"),
          "drain",
        );
        assert.equal((await api.swarmNodeAction(idB, "activate")).availability, "active");
        assert.equal(
          await a.docker("node", "inspect", idB, "--format", "{{.Spec.Availability}}"),
          "active",
        );
      });

      await t.step("remove: refused while B is live, done once B has left", async () => {
        const r = await refusal(api.swarmNodeRemove(idB));
        assert.equal(r.status, 409);
        assert.match(r.detail, /is ready, not down: run 'docker swarm leave' on it.*force/);
        assert.ok((await api.swarmNodes()).some((n) => n.id === idB), "a refusal changes nothing");
        const unknown = await refusal(api.swarmNodeRemove("no-such-node"));
        assert.equal(unknown.status, 404);

        await b.docker("swarm", "leave");
        await until(idB, (n) => n.state === "down", "B down after it left");
        await api.swarmNodeRemove(idB);
        assert.deepEqual((await api.swarmNodes()).map((n) => n.id), [idA]);
      });

      let idB2 = "";
      await t.step("remove with force: a live node goes at once", async () => {
        idB2 = await joinB();
        assert.notEqual(idB2, idB, "a rejoin is a new node");
        await api.swarmNodeRemove(idB2, true);
        assert.deepEqual((await api.swarmNodes()).map((n) => n.id), [idA]);
        assert.ok(!(await nodeLs()).has(idB2));
      });

      await t.step("every change is in the audit log", async () => {
        const entries = (await api.audit({ limit: 100 })).entries
          .filter((e) => e.action.startsWith("swarm.node."))
          .reverse();
        const seen = entries.map((e) =>
          [
            e.action,
            e.target,
            e.result,
            e.detail?.action ?? e.detail?.force ?? null,
            e.actor.kind,
          ].join(" ")
        );
        assert.deepEqual(seen, [
          `swarm.node.action ${idB} ok promote admin`,
          `swarm.node.remove ${idB} error true admin`,
          `swarm.node.action ${idB} ok demote admin`,
          `swarm.node.action ${idA} error demote admin`,
          `swarm.node.action ${idB} ok drain admin`,
          `swarm.node.action ${idB} ok activate admin`,
          `swarm.node.remove ${idB} error false admin`,
          `swarm.node.remove ${idB} ok false admin`,
          `swarm.node.remove ${idB2} ok true admin`,
        ]);
        const refused = entries[6].detail!;
        assert.equal(refused.status, 409);
        assert.match(String(refused.error), /not down/);
        assert.equal(entries[7].detail!.hostname, hostnameB);
      });
    } finally {
      await hub?.stop();
      await Promise.all(engines.map((e) => removeDockerd(e)));
      await net?.remove();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
