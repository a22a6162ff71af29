/**
 * UI test 1: log in with an admin and with a viewer token. The admin sees the action controls
 * (roamer Assign/Release, Submit job, "Remove from fleet" in a node's menu and panel); the viewer
 * sees the same data with none of them, and the hub refuses the viewer's writes anyway (a POST
 * from the page answers 403). Log out returns to the form; a bad token shows the hub's message.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { browserTest, login, newPage, type Page, screenshot } from "../helpers/browser.ts";

const T = 20_000;

async function openView(page: Page, view: string, testid: string): Promise<void> {
  await page.locator(`button[data-view=${view}]`).click();
  await page.locator(`[data-testid=${testid}]`).first().waitFor({ timeout: T });
}

/** Right-clicks node `id` on the canvas; returns the menu item labels. */
async function menuItems(page: Page, id: string): Promise<string[]> {
  await openView(page, "canvas", "canvas");
  const card = page.locator(`[data-testid=node-card][data-node-id="${id}"]`);
  await card.waitFor({ timeout: T });
  await card.click({ button: "right" });
  const menu = page.locator("[data-testid=context-menu]");
  await menu.waitFor({ timeout: T });
  const items = await menu.locator("[role=menuitem]").allTextContents();
  await page.keyboard.press("Escape");
  await menu.waitFor({ state: "detached", timeout: T });
  return items.map((s) => s.trim());
}

browserTest("login: admin and viewer, viewer sees no action controls, logout, bad token", async (
  browser,
) => {
  // The autoscaler is slowed so the roamers stay IDLE (their Assign buttons show).
  const hub = await startHub({ args: ["--demo", "20", "--autoscale-every", "1h"] });
  try {
    // --- a bad token: the hub's own message in the form
    const bad = await newPage(browser, hub.url);
    const hubSays = await fetch(`${hub.url}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: "fca_not-a-real-token" }),
    });
    assert.equal(hubSays.status, 401);
    const problem = await hubSays.json() as { detail?: string; title: string };
    await bad.page.locator("input[name=token]").fill("fca_not-a-real-token");
    await bad.page.locator("button[type=submit]").click();
    const alert = bad.page.locator(".login-card [role=alert]");
    await alert.waitFor({ timeout: T });
    assert.equal((await alert.textContent())?.trim(), problem.detail ?? problem.title);
    assert.equal(await bad.page.locator("[data-testid=who]").count(), 0);
    await screenshot(bad.page, "login-bad-token");
    bad.assertClean();
    await bad.close();

    // --- admin: the action controls are there
    const admin = await newPage(browser, hub.url);
    await login(admin.page, hub.adminToken);
    assert.match(await admin.page.locator("[data-testid=who]").textContent() ?? "", /admin/);
    await admin.page.locator("[data-testid=node-card]").first().waitFor({ timeout: T });
    const adminMenu = await menuItems(admin.page, "agx-01");
    assert.ok(adminMenu.some((l) => l.startsWith("Remove from fleet")), adminMenu.join(", "));
    await openView(admin.page, "roamers", "roamer-row");
    await admin.page.locator("[data-testid=roamer-assign]").first().waitFor({ timeout: T });
    await openView(admin.page, "jobs", "jobs-view");
    await admin.page.locator("[data-testid=submit-job]").waitFor({ timeout: T });
    await screenshot(admin.page, "login-admin-jobs");
    // Log out: back to the form, and the session is gone on the hub too.
    await admin.page.locator("[data-testid=logout]").click();
    await admin.page.locator("input[name=token]").waitFor({ timeout: T });
    const status = await admin.page.evaluate(() =>
      fetch("/api/v1/session", { credentials: "same-origin" }).then((r) => r.status)
    );
    assert.equal(status, 401);
    await screenshot(admin.page, "login-logged-out");
    admin.assertClean();
    await admin.close();

    // --- viewer: everything visible, no action controls
    const viewerToken = (await hub.admin.createToken({ kind: "viewer", name: "wall" })).token;
    const viewer = await newPage(browser, hub.url);
    await login(viewer.page, viewerToken);
    const p = viewer.page;
    assert.match(await p.locator("[data-testid=who]").textContent() ?? "", /viewer/);
    await p.locator("[data-testid=node-card]").first().waitFor({ timeout: T });
    const viewerMenu = await menuItems(p, "agx-01");
    assert.ok(viewerMenu.includes("Open details"), viewerMenu.join(", "));
    assert.ok(
      !viewerMenu.some((l) => /Remove from fleet|Release|Assign|terminal/i.test(l)),
      viewerMenu.join(),
    );
    // The node panel: data, no actions.
    await p.locator(`[data-testid=node-card][data-node-id="agx-15"]`).click();
    await p.locator("[data-testid=node-panel]").waitFor({ timeout: T });
    for (const id of ["action-remove", "action-release", "action-assign"]) {
      assert.equal(await p.locator(`[data-testid=${id}]`).count(), 0, id);
    }
    await p.locator("[data-testid=panel-close]").first().click();
    // The roamer pool: rows, no Assign / Release.
    await openView(p, "roamers", "roamer-row");
    assert.equal(await p.locator("[data-testid=roamer-row]").count(), 5);
    assert.equal(await p.locator("[data-testid=roamer-assign]").count(), 0);
    assert.equal(await p.locator("[data-testid=roamer-release]").count(), 0);
    await screenshot(p, "login-viewer-roamers");
    // Jobs: no Submit.
    await openView(p, "jobs", "jobs-view");
    assert.equal(await p.locator("[data-testid=submit-job]").count(), 0);
    // And the hub refuses the viewer's writes whatever the UI shows.
    const write = await p.evaluate(() =>
      fetch("/api/v1/jobs", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ template: "shell" }),
      }).then((r) => r.status)
    );
    assert.equal(write, 403);
    const release = await p.evaluate(() =>
      fetch("/api/v1/roamers/agx-15/release", { method: "POST", credentials: "same-origin" })
        .then((r) => r.status)
    );
    assert.equal(release, 403);
    await screenshot(p, "login-viewer-jobs");
    viewer.assertClean();
    await viewer.close();
  } finally {
    await hub.stop();
  }
});
