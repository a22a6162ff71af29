/**
 * UI test 4: click a node on the canvas: its details panel opens, and its history chart holds
 * the points of the hub's metrics API. The node's history is pushed by the test (30 samples over
 * the last 10 minutes, one every 20 s, then silence), so the chart's points must be exactly the
 * non-empty buckets of the `GET /api/v1/nodes/:id/metrics` answer the page received — nothing
 * live is appended.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { makeSample } from "../helpers/samples.ts";
import { ApiClient } from "../../shared/api_client.ts";
import type { MetricsResponse, Sample } from "../../shared/protocol/mod.ts";
import { browserTest, login, newPage, screenshot } from "../helpers/browser.ts";

const T = 20_000;
const NODE = "e2e-hist";

browserTest("panel: clicking a node opens its panel; the chart has the API's points", async (
  browser,
) => {
  const hub = await startHub();
  const g = await newPage(browser, hub.url);
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: NODE })).token;
    const now = Date.now();
    // 30 slots of 10 s; slots 15–19 are an outage (no sample).
    const samples: Sample[] = [];
    for (let i = 0; i < 30; i++) {
      if (i >= 15 && i < 20) continue;
      const pct = 30 + 25 * Math.sin(i / 3);
      samples.push(makeSample(samples.length + 1, {
        ts: now - (30 - i) * 10_000,
        cpu: { pct, cores: [{ pct, online: true }] },
      }));
    }
    await new ApiClient({ hub: hub.url, token }).ingest({ node_id: NODE, samples });

    const { page } = g;
    await login(page, hub.adminToken);
    const card = page.locator(`[data-testid=node-card][data-node-id="${NODE}"]`);
    await card.waitFor({ timeout: T });
    const metrics = page.waitForResponse(
      (r) => r.url().includes(`/api/v1/nodes/${NODE}/metrics?`) && r.status() === 200,
      { timeout: T },
    );
    await card.click();
    const panel = page.locator(`[data-testid=node-panel][data-node-id="${NODE}"]`);
    await panel.waitFor({ timeout: T });
    const answer = await (await metrics).json() as MetricsResponse;
    const cpu = answer.series.cpu_pct.avg;
    const fromApi = cpu.filter((v) => v !== null).length;
    assert.equal(fromApi, 25, "one 10-s bucket per sample");
    // The outage is five empty buckets between the first and the last sample.
    const first = cpu.findIndex((v) => v !== null);
    const last = cpu.findLastIndex((v) => v !== null);
    assert.equal(last - first + 1 - fromApi, 5);
    const chart = panel.locator("[data-testid=history-chart]");
    await panel.locator("[data-testid=history-chart][data-state=ready]").waitFor({ timeout: T });
    assert.equal(Number(await chart.getAttribute("data-points")), fromApi);
    // The panel shows the node's latest sample (its CPU) and when it was seen.
    await panel.locator("[data-testid=panel-last-seen]").waitFor({ timeout: T });
    assert.equal(await panel.locator("[data-testid=panel-no-sample]").count(), 0);
    await screenshot(page, "panel-history");

    // Closing it: the panel goes away.
    await panel.locator("[data-testid=panel-close]").first().click();
    await panel.waitFor({ state: "detached", timeout: T });
    g.assertClean();
  } finally {
    await g.close();
    await hub.stop();
  }
});
