/**
 * UI: the one live connection survives the hub going away. When the hub stops, the page shows the
 * "reconnecting" banner (and keeps what it showed); when a hub is back on the same address and
 * data, the banner goes, the page re-reads the fleet (the new hub's stream cannot resume the old
 * one's events) and new samples reach the cards again — with no reload and no polling loop.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { waitFor } from "../helpers/process.ts";
import { pushSeqs } from "../helpers/samples.ts";
import { browserTest, login, newPage, type Page, screenshot } from "../helpers/browser.ts";

const T = 20_000;

function cpuText(page: Page, id: string): Promise<string | null> {
  return page.locator(`[data-testid=node-card][data-node-id="${id}"] .nc-bar-value`).first()
    .textContent({ timeout: 2_000 }).catch(() => null);
}

browserTest(
  "UI: hub restart → reconnecting banner, then live again without a reload",
  async (browser) => {
    const dataDir = await Deno.makeTempDir({ prefix: "fleet-e2e-reconnect-" });
    let hub = await startHub({ dataDir });
    const port = hub.port;
    const g = await newPage(browser, hub.url);
    // While the hub is down the browser logs the refused stream connections; they are the point.
    g.allowConsoleError(/net::ERR_|Failed to load resource/);
    try {
      const node = (await hub.admin.createToken({ kind: "node", node_id: "rc-1" })).token;
      await pushSeqs(hub.url, node, "rc-1", 1, 1, { cpu: { pct: 41 } });
      await login(g.page, hub.adminToken);
      await waitFor(async () => (await cpuText(g.page, "rc-1")) === "41%", "rc-1 at 41%", T);
      assert.equal(await g.page.locator("[data-testid=stream-banner]").count(), 0);

      await hub.stop();
      const banner = g.page.locator("[data-testid=stream-banner]");
      await banner.waitFor({ state: "visible", timeout: T });
      assert.match((await banner.textContent()) ?? "", /Reconnecting/);
      // What the page knew stays on screen while the hub is away.
      assert.equal(await cpuText(g.page, "rc-1"), "41%");
      await screenshot(g.page, "reconnect-banner");

      hub = await startHub({ dataDir, port });
      await banner.waitFor({ state: "detached", timeout: 60_000 });
      await pushSeqs(hub.url, node, "rc-1", 2, 2, { cpu: { pct: 64 } });
      await waitFor(async () => (await cpuText(g.page, "rc-1")) === "64%", "rc-1 at 64% after", T);
      await screenshot(g.page, "reconnect-live-again");
      g.assertClean();
    } finally {
      await g.close();
      await hub.stop();
    }
  },
);
