/**
 * UI: the Network view with a real hub and three real agents whose links differ — one direct, one
 * through a loopback proxy of this test that adds 60 ms each way, one through a proxy that loses
 * chunks (retransmitted after 1.2 s, so pings come back late and count as lost). The view lists
 * them worst first (lossy, slow, fast) with their grades, round trips and sparklines, live; a row
 * opens the node's panel with its link section; on the canvas, hovering the lossy node's edge
 * labels it.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { type LinkProxy, startLinkProxy } from "../helpers/link_proxy.ts";
import { waitFor } from "../helpers/process.ts";
import type { Child } from "../helpers/process.ts";
import { browserTest, login, newPage, type PageWindow, screenshot } from "../helpers/browser.ts";

const T = 30_000;

browserTest(
  "Network view: links sorted worst first, live; an edge labelled on hover",
  async (browser) => {
    const hub = await startHub({ args: ["--control-ping", "500ms"] });
    const proxies: LinkProxy[] = [];
    const agents: Child[] = [];
    const g = await newPage(browser, hub.url);
    try {
      const slow = startLinkProxy(hub.port, 3);
      slow.shape.delayMs = 60;
      const lossy = startLinkProxy(hub.port, 5);
      Object.assign(lossy.shape, { delayMs: 10, lossRate: 0.2, retransmitMs: 1200 });
      proxies.push(slow, lossy);
      for (const [id, url] of [["fast", hub.url], ["slow", slow.url], ["lossy", lossy.url]]) {
        const token = (await hub.admin.createToken({ kind: "node", node_id: id })).token;
        agents.push(startAgent({
          hub: url,
          token,
          stateDir: await Deno.makeTempDir({ prefix: `fleet-${id}-` }),
          interval: "500ms",
        }));
      }
      // The hub has measured all three before the page opens (the page must still sort live).
      await waitFor(
        async () => {
          const l = await hub.admin.links();
          return l.links.filter((x) => x.connected && x.pings >= 3).length === 3;
        },
        "three connected links",
        T,
      );

      const { page } = g;
      await login(page, hub.adminToken);
      await page.locator("button[data-view=network]").click();
      await page.locator("[data-testid=network-view]").waitFor({ timeout: T });
      const order = () =>
        page.evaluate(() =>
          [...(globalThis as unknown as PageWindow).document.querySelectorAll(
            "[data-testid=link-row]",
          )].map((r) => `${r.getAttribute("data-node")}:${r.getAttribute("data-grade")}`)
        );
      const lossCell = "[data-testid=link-row][data-node=lossy] [data-testid=link-loss]";
      let seen: string[] = [];
      await waitFor(
        async () => {
          seen = await order();
          const loss = await page.locator(lossCell).textContent().catch(() => "");
          const counts = await page.locator("[data-testid=grade-counts]").textContent();
          return seen.join(",") === "lossy:poor,slow:fair,fast:good" && loss !== "0 %" &&
            /1 poor.*1 fair.*1 good/.test(counts ?? "");
        },
        "rows lossy (with ping loss), slow, fast with their grades",
        T,
        250,
      ).catch((e) => {
        throw new Error(`${e.message}; rows: ${seen.join(",")}`);
      });
      const rtt = async (id: string) =>
        Number.parseFloat(
          await page.locator(`[data-testid=link-row][data-node=${id}] [data-testid=link-rtt]`)
            .textContent() ?? "",
        );
      // Waited for, not read once: the cell shows the last ping, and on a loaded machine a link
      // can drop for a moment (three missed pongs at 500 ms) and show "—" until it is back.
      let slowRtt = NaN;
      await waitFor(
        async () => (slowRtt = await rtt("slow")) >= 120,
        "the slow link's round trip shows its 2 × 60 ms",
        T,
        250,
      ).catch((e) => {
        throw new Error(`${e.message}; shown: ${slowRtt}`);
      });
      assert.ok(await rtt("fast") < 100);
      const loss = await page.locator(lossCell).textContent();
      assert.match(loss ?? "", /^[1-9]\d*(\.\d)? %$/, `lossy loss cell: ${loss}`);
      await page.locator("[data-testid=link-row][data-node=slow] [data-testid=link-spark]").waitFor(
        {
          timeout: T,
        },
      );
      await page.locator("[data-testid=network-scans]").waitFor({ timeout: T });
      await screenshot(page, "network-view");

      // A row opens the node's panel, with the same link numbers and grade.
      await page.locator("[data-testid=link-row][data-node=slow]").click();
      await page.locator("[data-testid=panel-link] [data-testid=panel-link-grade]").waitFor({
        timeout: T,
      });
      assert.equal(
        await page.locator("[data-testid=panel-link-grade]").textContent(),
        await page.locator("[data-testid=link-row][data-node=slow]").getAttribute("data-grade"),
      );
      await page.locator("[data-testid=panel-link]").scrollIntoViewIfNeeded();
      await screenshot(page, "network-node-panel-link");
      await page.keyboard.press("Escape");

      await page.locator("button[data-view=canvas]").click();
      const card = page.locator("[data-testid=node-card][data-node-id=lossy]");
      await card.waitFor({ timeout: T });
      await waitFor(
        async () => {
          const hubBox = await page.locator("[data-testid=hub-card]").boundingBox();
          const b = await card.boundingBox();
          if (!hubBox || !b) return false;
          // Vertical handles make the curve symmetric: its middle is halfway between its ends.
          const x = (hubBox.x + hubBox.width / 2 + b.x + b.width / 2) / 2;
          const y = (hubBox.y + hubBox.height + b.y) / 2;
          await page.mouse.move(x - 3, y);
          await page.mouse.move(x, y);
          return await page.locator("[data-testid=edge-layer]").getAttribute("data-hover") ===
            "lossy";
        },
        "the lossy edge under the pointer",
        T,
        300,
      );
      await screenshot(page, "network-canvas-edge-label");
      g.assertClean();
    } finally {
      await g.close();
      await Promise.allSettled(agents.map((a) => a.stop()));
      await Promise.allSettled(proxies.map((p) => p.close()));
      await hub.stop();
    }
  },
);
