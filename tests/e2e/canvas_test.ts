/**
 * UI test 2: the canvas against a demo hub shows every node of `GET /api/v1/fleet`, each inside
 * its cluster's frame (roamers in the pool frame, the rest in "unassigned"); a node enrolled and
 * pushed by the test appears and its card shows the pushed CPU within a bounded wait; and a real
 * agent's node, once the agent is killed, turns degraded and then offline on its card (zoomed out
 * to a compact card, which says "live" while the node is online and counts its age once quiet).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitFor } from "../helpers/process.ts";
import { makeSample } from "../helpers/samples.ts";
import { ApiClient } from "../../shared/api_client.ts";
import {
  browserTest,
  login,
  newPage,
  type Page,
  type PageElement,
  type PageWindow,
  screenshot,
} from "../helpers/browser.ts";

const T = 20_000;

/** Every card's node id with its frame, and the cards lying outside their frame. */
function placement(page: Page) {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageWindow;
    const frames = new Map<string, ReturnType<PageElement["getBoundingClientRect"]>>();
    for (const f of document.querySelectorAll("[data-testid=frame]")) {
      frames.set(f.dataset.group!, f.getBoundingClientRect());
    }
    const inFrame: Record<string, string | null> = {};
    for (const c of document.querySelectorAll("[data-testid=node-card]")) {
      const r = c.getBoundingClientRect();
      let found: string | null = null;
      for (const [g, f] of frames) {
        if (
          r.left >= f.left - 0.5 && r.right <= f.right + 0.5 && r.top >= f.top - 0.5 &&
          r.bottom <= f.bottom + 0.5
        ) found = g;
      }
      inFrame[c.dataset.nodeId!] = found;
    }
    return inFrame;
  });
}

/** The text of the CPU bar's value on node `id`'s card. */
function cpuText(page: Page, id: string): Promise<string | null> {
  return page.evaluate((nid) => {
    const { document } = globalThis as unknown as PageWindow;
    const card = document.querySelector(`[data-testid=node-card][data-node-id="${nid}"]`);
    const bar = [...(card?.querySelectorAll(".nc-bar") ?? [])].find((b) =>
      b.querySelector(".nc-bar-label")?.textContent === "CPU"
    );
    return bar?.querySelector(".nc-bar-value")?.textContent ?? null;
  }, id);
}

browserTest("canvas: every node in its cluster frame; a pushed sample updates its card", async (
  browser,
) => {
  const hub = await startHub({ args: ["--demo", "20", "--autoscale-every", "1h"] });
  const g = await newPage(browser, hub.url);
  try {
    const { page } = g;
    await login(page, hub.adminToken);
    const fleet = await hub.admin.fleet();
    assert.equal(fleet.nodes.length, 20);
    const roamers = new Set((await hub.admin.roamers()).map((r) => r.node_id));
    const expected = Object.fromEntries(
      fleet.nodes.map((n) => [n.id, roamers.has(n.id) ? "roamers" : n.cluster ?? "unassigned"]),
    );
    assert.deepEqual(
      new Set(Object.values(expected)),
      new Set(["vision", "speech", "roamers", "unassigned"]),
    );
    await page.waitForFunction(
      (n) =>
        (globalThis as unknown as PageWindow).document.querySelectorAll("[data-testid=node-card]")
          .length === n,
      fleet.nodes.length,
      { timeout: T },
    );
    // Each card inside its group's frame (checked on the laid-out boxes).
    const placed = await waitFor(
      async () => {
        const p = await placement(page);
        return Object.keys(p).length === fleet.nodes.length &&
            Object.entries(expected).every(([id, grp]) => p[id] === grp)
          ? p
          : undefined;
      },
      "every card inside its cluster frame",
      T,
    ).catch(async (e) => {
      throw new Error(
        `${e.message}\nexpected ${JSON.stringify(expected)}\ngot ${
          JSON.stringify(await placement(page))
        }`,
      );
    });
    assert.equal(Object.keys(placed).length, 20);
    await screenshot(page, "canvas-demo-20");

    // A new node: enrolled through the admin API, one sample with CPU at 77 %.
    const token = (await hub.admin.createToken({ kind: "node", node_id: "e2e-1" })).token;
    await page.locator(`[data-testid=node-card][data-node-id="e2e-1"]`).waitFor({ timeout: T });
    const node = new ApiClient({ hub: hub.url, token });
    await node.ingest({
      node_id: "e2e-1",
      samples: [makeSample(1, { cpu: { pct: 77, cores: [{ pct: 77, online: true }] } })],
    });
    await waitFor(async () => (await cpuText(page, "e2e-1")) === "77%", "e2e-1 showing 77%", T);
    const card = page.locator(`[data-testid=node-card][data-node-id="e2e-1"]`);
    assert.equal(await card.getAttribute("data-status"), "online");
    // Not in any cluster: it sits in the unassigned frame.
    await waitFor(async () => (await placement(page))["e2e-1"] === "unassigned", "e2e-1 framed", T);
    // A second sample moves the same card.
    await node.ingest({
      node_id: "e2e-1",
      samples: [makeSample(2, { cpu: { pct: 12, cores: [{ pct: 12, online: true }] } })],
    });
    await waitFor(async () => (await cpuText(page, "e2e-1")) === "12%", "e2e-1 showing 12%", T);
    assert.equal(await page.locator("[data-testid=node-card]").count(), 21);
    await screenshot(page, "canvas-pushed-node");
    g.assertClean();
  } finally {
    await g.close();
    await hub.stop();
  }
});

browserTest("canvas: a killed agent's node turns degraded, then offline", async (browser) => {
  const hub = await startHub({
    args: ["--degraded-after", "2500ms", "--offline-after", "6s", "--status-check", "200ms"],
  });
  const dir = await Deno.makeTempDir({ prefix: "fleet-e2e-agent-" });
  const token = (await hub.admin.createToken({ kind: "node", node_id: "e2e-agent" })).token;
  const agent = startAgent({
    hub: hub.url,
    token,
    stateDir: join(dir, "state"),
    interval: "200ms",
  });
  const g = await newPage(browser, hub.url);
  try {
    const { page } = g;
    await login(page, hub.adminToken);
    const card = `[data-testid=node-card][data-node-id="e2e-agent"]`;
    await page.locator(`${card}[data-status=online]`).waitFor({ timeout: T });
    await screenshot(page, "canvas-agent-online");
    // Zoomed far out the card turns compact: a live node says so instead of a ticking age.
    const compactAge = page.locator(`${card} .nc-age.compact`);
    for (let i = 0; i < 20 && await compactAge.count() === 0; i++) {
      await page.locator('button[title="Zoom out"]').click();
      // The level of detail follows once the view has rested for 250 ms.
      await page.waitForTimeout(600);
    }
    assert.equal(await compactAge.textContent(), "live");
    // Record every status the card shows from now on, in the page (no missed transition).
    await page.evaluate((sel) => {
      const w = globalThis as unknown as PageWindow;
      const { document, MutationObserver } = w;
      const seen: string[] = [];
      w.__seen = seen;
      const el = document.querySelector(sel)!;
      seen.push(el.getAttribute("data-status")!);
      new MutationObserver(() => {
        const s = el.getAttribute("data-status")!;
        if (seen.at(-1) !== s) seen.push(s);
      }).observe(el, { attributes: true, attributeFilter: ["data-status"] });
    }, card);
    await agent.stop("SIGKILL");
    await page.locator(`${card}[data-status=degraded]`).waitFor({ timeout: T });
    await screenshot(page, "canvas-agent-degraded");
    // A quiet node shows how long it has been quiet, and the age keeps counting.
    const quiet = /^(\d+) s$/.exec(await compactAge.textContent() ?? "");
    assert.ok(quiet, `degraded compact card shows ${await compactAge.textContent()}`);
    await waitFor(
      async () => Number(/^(\d+) s$/.exec(await compactAge.textContent() ?? "")?.[1]) > +quiet[1],
      "the degraded card's age counting up",
      T,
    );
    await page.locator(`${card}[data-status=offline]`).waitFor({ timeout: T });
    await screenshot(page, "canvas-agent-offline");
    assert.match(await compactAge.textContent() ?? "", /^\d+ s$/);
    const seen = await page.evaluate(() =>
      (globalThis as unknown as PageWindow).__seen as string[]
    );
    assert.deepEqual(seen, ["online", "degraded", "offline"]);
    assert.equal((await hub.admin.node("e2e-agent")).status, "offline");
    g.assertClean();
  } finally {
    await g.close();
    await agent.stop("SIGKILL");
    await hub.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
