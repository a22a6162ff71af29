/**
 * A dedicated node fails → a roamer takes over, with real agent processes: cluster `c1` (m1, m2)
 * has pending work that its queue depth alone would not scale for (1 job, 1 online worker); m1
 * is killed (SIGKILL) and, once the hub sees it offline, the autoscaler lends the idle roamer to
 * c1 at once with the reason `autoscaler (covering for m1)` (shown as `assignment.covering`, on
 * the stream, and as a marker on both canvas cards in Chromium). A cluster with no pending work
 * gets no roamer for its offline member, and the manual-only roamer is never taken.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { type Child, waitFor } from "../helpers/process.ts";
import { SseClient } from "../helpers/sse.ts";
import { launchBrowser, login, newPage, screenshot, SKIP_BROWSER } from "../helpers/browser.ts";
import type { RoamerInfo } from "../../shared/protocol/mod.ts";

const FLEET = `clusters:
  - id: c1
    nodes: [m1, m2]
  - id: quiet
    nodes: [q1]
roamers:
  nodes: [r1, r2]
  manual_only: [r2]
queue:
  autoscale_every: 200ms
  autoscale_cooldown: 1h
status:
  degraded_after: 1s
  offline_after: 2s
  check_every: 200ms
`;

Deno.test("failover: a cluster member dies while its cluster has work → a roamer covers for it", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-failover-" });
  await Deno.writeTextFile(join(dir, "fleet.yml"), FLEET);
  const hub = await startHub({ args: ["--config", join(dir, "fleet.yml")] });
  const agents = new Map<string, Child>();
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  try {
    // No worker claims anything: the job stays pending, as on a cluster whose nodes are busy.
    for (const id of ["m1", "m2", "q1", "r1", "r2"]) {
      const token = (await hub.admin.createToken({ kind: "node", node_id: id })).token;
      agents.set(
        id,
        startAgent({
          hub: hub.url,
          token,
          stateDir: join(dir, id),
          interval: "300ms",
          args: ["--jobs", "off", "--control", "off"],
        }),
      );
    }
    await waitFor(
      async () => (await hub.admin.fleet()).nodes.filter((n) => n.status === "online").length === 5,
      "5 agents online",
    );
    await hub.admin.submitJob({ executor: "process", command: "true", cluster: "c1" });

    await t.step("depth alone lends nothing: 1 pending job, 1+ online worker", async () => {
      const c1 = (await hub.admin.clusters()).find((c) => c.id === "c1")!;
      assert.equal(c1.queue.pending, 1);
      assert.equal((await hub.admin.roamers()).every((r) => r.state === "IDLE"), true);
    });

    await t.step("m1 dies: r1 is lent to c1 covering for m1, reason recorded", async () => {
      // q1 dies too, but its cluster has no work: nobody covers for it.
      await agents.get("q1")!.stop("SIGKILL");
      await agents.get("m1")!.stop("SIGKILL");
      const r1 = await waitFor(
        async () => {
          const r = (await hub.admin.roamers()).find((x) => x.node_id === "r1");
          return r?.assignment ? r : undefined;
        },
        "r1 assigned",
        20_000,
      );
      assert.equal(r1.assignment!.cluster, "c1");
      assert.equal(r1.assignment!.covering, "m1");
      assert.equal(r1.assignment!.by, "autoscaler (covering for m1)");
      assert.equal(r1.assignment!.mode, "until_idle");
      assert.equal((await hub.admin.node("m1")).status, "offline");
      const event = await sse.next(
        (e) =>
          e.event === "roamer.state" &&
          (JSON.parse(e.data) as { roamer: RoamerInfo }).roamer.assignment?.covering === "m1",
        10_000,
      );
      assert.ok(event, "the stream carries the covering assignment");
      const roamers = await hub.admin.roamers();
      assert.equal(roamers.find((r) => r.node_id === "r2")!.state, "IDLE", "manual-only kept");
      assert.equal(
        roamers.filter((r) => r.assignment?.covering === "q1").length,
        0,
        "no work in quiet: nobody covers for q1",
      );
    });

    await t.step("the canvas shows it on both cards", async () => {
      if (SKIP_BROWSER) {
        console.error("!! SKIPPED the canvas check: no Chromium");
        return;
      }
      const browser = await launchBrowser();
      try {
        const g = await newPage(browser, hub.url);
        await login(g.page, hub.adminToken);
        const marker = (id: string) =>
          g.page.locator(
            `[data-testid=node-card][data-node-id="${id}"] [data-testid=cover-marker]`,
          );
        await marker("r1").waitFor({ timeout: 20_000 });
        assert.equal((await marker("r1").innerText()).trim(), "covering for m1");
        assert.equal((await marker("m1").innerText()).trim(), "covered by r1");
        assert.equal(await marker("q1").count(), 0);
        await screenshot(g.page, "failover-canvas");
        g.assertClean();
        await g.close();
      } finally {
        await browser.close();
      }
    });
  } finally {
    sse.close();
    await Promise.all([...agents.values()].map((a) => a.stop()));
    await hub.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
