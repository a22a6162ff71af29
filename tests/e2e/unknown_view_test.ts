/**
 * A URL naming a view that does not exist (`#/warp-drive`) says so in a toast and shows the canvas,
 * instead of silently showing another view; known views still open from the URL.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { browserTest, login, newPage } from "../helpers/browser.ts";

const T = 20_000;

browserTest("an unknown view in the URL is named in a toast; the canvas shows", async (browser) => {
  const hub = await startHub({ args: ["--demo", "3"] });
  try {
    const g = await newPage(browser, hub.url);
    await login(g.page, hub.adminToken);
    await g.page.goto(`${hub.url}/#/warp-drive`);
    await g.page.reload();
    const toast = g.page.locator(".toast.error", { hasText: "No such view" });
    await toast.waitFor({ timeout: T });
    assert.match((await toast.textContent()) ?? "", /#\/warp-drive.*canvas/);
    await g.page.locator("[data-testid=canvas]").first().waitFor({ timeout: T });
    // A known view from the URL opens without a toast.
    await g.page.goto(`${hub.url}/#/jobs`);
    await g.page.reload();
    await g.page.locator("button[data-view=jobs].active").waitFor({ timeout: T });
    assert.equal(await g.page.locator(".toast.error").count(), 0);
    g.assertClean();
    await g.close();
  } finally {
    await hub.stop();
  }
});
