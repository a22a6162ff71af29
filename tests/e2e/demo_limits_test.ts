/**
 * What a hub without the real parts says in Chromium, instead of offering what will fail: a
 * demo hub (simulated agents, no S3, no Docker engine at its socket). The node actions of a
 * simulated agent are disabled with the reason (panel and context menu); the Backups view
 * disables "New backup" and "Back up hub DB" and shows how to configure S3 (the shell hints
 * to admins only); the Swarm view's Catalog still reads the stored catalog with its writes
 * disabled; after the swarm roles read answered 503 once, reloading the canvas does not ask
 * again (no failed load per page load). Screenshots: tests/out/demo-limits-*.png.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { waitControl } from "../helpers/control.ts";
import { browserTest, login, newPage, screenshot } from "../helpers/browser.ts";

const T = 20_000;

browserTest("demo hub: actions it cannot do are disabled with the reason", async (browser) => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-demo-limits-" });
  const hub = await startHub({
    args: [
      "--demo",
      "3",
      "--autoscale-every",
      "1h",
      "--docker-socket",
      join(dir, "no-docker.sock"),
    ],
  });
  const g = await newPage(browser, hub.url);
  const { page } = g;
  const swarmReads: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/api/v1/swarm/nodes")) swarmReads.push(r.url());
  });
  try {
    await login(page, hub.adminToken);
    const card = page.locator(`[data-testid=node-card][data-node-id="agx-01"]`);
    await card.waitFor({ timeout: T });

    // 1. A simulated agent offers no node actions: disabled, the tooltip says why (once its
    // control channel is up; before, the reason is that it is not connected).
    await waitControl(hub.admin, "agx-01");
    await card.click();
    const panel = page.locator(`[data-testid=node-panel][data-node-id="agx-01"]`);
    await panel.waitFor({ timeout: T });
    await panel.locator("[data-testid=action-cleanup][title*='simulated demo agent']")
      .waitFor({ timeout: T });
    for (const id of ["action-cleanup", "action-recover", "action-restart-agent"]) {
      const b = panel.locator(`[data-testid=${id}]`);
      assert.equal(await b.isDisabled(), true, id);
      assert.match(await b.getAttribute("title") ?? "", /offers no node actions/, id);
    }
    // Without S3 the node's "Back up…" says why too.
    const backup = panel.locator("[data-testid=action-backup]");
    assert.equal(await backup.isDisabled(), true);
    assert.match(await backup.getAttribute("title") ?? "", /S3 is not configured/);
    // The terminal still works on a demo node (the control channel is real).
    assert.equal(await panel.locator("[data-testid=action-terminal]").isDisabled(), false);
    await panel.locator("[data-testid=panel-node-actions]").scrollIntoViewIfNeeded();
    await screenshot(page, "demo-limits-node-actions");
    await card.click({ button: "right" });
    const menu = page.locator("[data-testid=context-menu]");
    await menu.waitFor({ timeout: T });
    for (const id of ["menu-cleanup", "menu-recover", "menu-restart-agent"]) {
      const item = menu.locator(`[data-testid=${id}]`);
      assert.equal(await item.isDisabled(), true, id);
      assert.match(await item.getAttribute("title") ?? "", /offers no node actions/, id);
    }
    assert.match(
      await menu.locator("[data-testid=menu-backup]").getAttribute("title") ?? "",
      /S3 is not configured/,
    );
    await page.keyboard.press("Escape");

    // 5b. The roles read answered 503 (no engine); a reload does not ask again.
    await page.waitForFunction(() => localStorage.getItem("fleet.swarm.skip") !== null, null, {
      timeout: T,
    });
    const before = swarmReads.length;
    assert.ok(before >= 1, "the canvas read the swarm roles once");
    await page.reload();
    await card.waitFor({ timeout: T });
    await page.locator("[data-testid=who]").waitFor({ timeout: T });
    // The stream has delivered the fleet: the roles read would have started by now.
    await page.locator(`[data-testid=node-card][data-node-id="agx-02"]`).waitFor({ timeout: T });
    assert.equal(swarmReads.length, before, "no swarm roles read after the reload");

    // 2. Backups without S3: buttons disabled with the reason, the setup steps shown.
    await page.goto(`${hub.url}/#/backups`);
    const view = page.locator("[data-testid=backups-view]");
    await view.waitFor({ timeout: T });
    const setup = view.locator("[data-testid=backup-setup]");
    await setup.waitFor({ timeout: T });
    const setupText = await setup.innerText();
    assert.match(setupText, /FLEET_S3_ENDPOINT/);
    assert.match(setupText, /s3:/);
    assert.doesNotMatch(await view.innerText(), /No backups yet/);
    for (const id of ["new-backup", "backup-hub-db"]) {
      const b = view.locator(`[data-testid=${id}]`);
      assert.equal(await b.isDisabled(), true, id);
      assert.match(await b.getAttribute("title") ?? "", /S3 is not configured/, id);
    }
    await screenshot(page, "demo-limits-backups");

    // 5a. Swarm without an engine: the Catalog tab reads the stored catalog, writes disabled.
    await page.goto(`${hub.url}/#/swarm/catalog`);
    const sw = page.locator("[data-testid=swarm-view]");
    await sw.waitFor({ timeout: T });
    const banner = sw.locator("[data-testid=swarm-unavailable-banner]");
    await banner.waitFor({ timeout: T });
    assert.match(await banner.innerText(), /--docker-socket/);
    await sw.locator("[data-testid=catalog-tab]").waitFor({ timeout: T });
    const add = sw.locator("[data-testid=catalog-new]");
    assert.equal(await add.isDisabled(), true);
    assert.match(await add.getAttribute("title") ?? "", /Docker engine/);
    await screenshot(page, "demo-limits-swarm-catalog");
    // Other tabs still say what is missing and how to fix it.
    await sw.locator(".sw-tab[data-tab=services]").click();
    const down = sw.locator("[data-testid=swarm-unavailable]");
    await down.waitFor({ timeout: T });
    assert.match(await down.innerText(), /FLEET_DOCKER_SOCKET/);

    // 2b. A viewer sees the S3 setup note without the admin's shell hints.
    const viewer = (await hub.admin.createToken({ kind: "viewer", name: "ro" })).token;
    const v = await newPage(browser, hub.url);
    try {
      await login(v.page, viewer);
      await v.page.goto(`${hub.url}/#/backups`);
      const vs = v.page.locator("[data-testid=backup-setup]");
      await vs.waitFor({ timeout: T });
      const text = await vs.innerText();
      assert.match(text, /An admin has to configure S3/);
      assert.doesNotMatch(text, /FLEET_S3_ENDPOINT|fleet-hub/);
      await screenshot(v.page, "demo-limits-backups-viewer");
      v.assertClean();
    } finally {
      await v.close();
    }
    g.assertClean();
  } finally {
    await g.close();
    await hub.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
