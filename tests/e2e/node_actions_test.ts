/**
 * Node actions in Chromium against a real hub and a real agent process: the node panel's
 * "Cleanup…" shows the dry run (the rotated logs and old /tmp files of the agent's fixture root,
 * what is left out and why) while nothing changes; "Run cleanup" runs exactly that plan and the
 * dialog shows the result; the files are gone, the live ones stay. The card's context menu
 * offers the same actions; the panel shows the last action's outcome from the stream. Screenshots: tests/out/node-actions-*.png.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitControl } from "../helpers/control.ts";
import { browserTest, login, newPage, screenshot } from "../helpers/browser.ts";

const T = 20_000;
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

browserTest(
  "node actions UI: cleanup dry run, then the run, from the node panel",
  async (browser) => {
    const dir = await Deno.makeTempDir({ prefix: "fleet-node-actions-ui-" });
    const root = join(dir, "root");
    const old = new Date(Date.now() - 3 * 86_400_000);
    const files = {
      gone: ["var/log/syslog.1", "var/log/syslog.2.gz", "tmp/old-build.tar"],
      kept: ["var/log/syslog", "tmp/fresh.txt"],
    };
    for (const rel of [...files.gone, ...files.kept]) {
      const p = join(root, rel);
      await Deno.mkdir(join(p, ".."), { recursive: true });
      await Deno.writeTextFile(p, "x".repeat(2048));
      if (rel.startsWith("tmp/old")) await Deno.utime(p, old, old);
    }
    const config = join(dir, "agent.yml");
    await Deno.writeTextFile(
      config,
      'cleanup:\n  rotated_logs: true\n  tmp_max_age: 2d\n  journal_size: "off"\n',
    );
    const hub = await startHub();
    const token = (await hub.admin.createToken({ kind: "node", node_id: "w1" })).token;
    const agent = startAgent({
      hub: hub.url,
      token,
      stateDir: join(dir, "state"),
      root,
      interval: "1s",
      args: ["--jobs", "off", "--config", config],
    });
    const g = await newPage(browser, hub.url);
    try {
      await waitControl(hub.admin, "w1");
      const { page } = g;
      await login(page, hub.adminToken);
      const card = page.locator(`[data-testid=node-card][data-node-id="w1"]`);
      await card.waitFor({ timeout: T });

      // The context menu offers the node actions.
      await card.click({ button: "right" });
      const menu = page.locator("[data-testid=context-menu]");
      await menu.waitFor({ timeout: T });
      for (const id of ["menu-cleanup", "menu-recover", "menu-restart-agent"]) {
        assert.equal(await menu.locator(`[data-testid=${id}]`).isEnabled(), true, id);
      }
      await page.keyboard.press("Escape");

      await card.click();
      const panel = page.locator(`[data-testid=node-panel][data-node-id="w1"]`);
      await panel.waitFor({ timeout: T });
      await panel.locator("[data-testid=action-cleanup]").click();
      const dialog = page.locator("[data-testid=cleanup-dialog]");
      await dialog.locator("[data-testid=cleanup-plan]").waitFor({ timeout: T });
      const planText = await dialog.innerText();
      const lines = planText.split("\n").map((l) => l.trim());
      for (const rel of files.gone) assert.ok(lines.includes(join(root, rel)), planText);
      for (const rel of files.kept) assert.ok(!lines.includes(join(root, rel)), planText);
      assert.match(planText, /Dry run: 3 steps/);
      assert.match(planText, /Nothing has changed yet/);
      assert.match(
        await dialog.locator("[data-testid=cleanup-skipped]").innerText(),
        /no Docker engine/,
      );
      for (const rel of files.gone) assert.ok(await exists(join(root, rel)), "dry run: kept");
      await screenshot(page, "node-actions-dry-run");

      await dialog.locator("[data-testid=cleanup-run]").click();
      await dialog.locator("[data-testid=cleanup-result]").waitFor({ timeout: T });
      assert.match(await dialog.innerText(), /Cleanup on w1: done/);
      for (const rel of files.gone) assert.ok(!(await exists(join(root, rel))), `${rel} removed`);
      for (const rel of files.kept) assert.ok(await exists(join(root, rel)), `${rel} kept`);
      await screenshot(page, "node-actions-done");
      await dialog.locator("[data-testid=cleanup-close]").click();
      await dialog.waitFor({ state: "detached", timeout: T });
      // The stream's node.action event: the panel says how the last action ended.
      const status = panel.locator("[data-testid=node-action-status][data-state=done]");
      await status.waitFor({ timeout: T });
      assert.match(await status.innerText(), /^cleanup done: ran 3 steps/);
      await screenshot(page, "node-actions-panel");

      const { entries } = await hub.admin.audit({ action: "node.cleanup" });
      assert.deepEqual(entries.map((e) => e.detail?.dry_run).reverse(), [true, false]);
      g.assertClean();
    } finally {
      await g.close();
      await agent.stop();
      await hub.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
