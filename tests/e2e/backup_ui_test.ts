/**
 * Backups in Chromium against a real hub, a real agent and a real Ceph RGW: a node covered by a
 * schedule shows an amber "never" on its card; "Back up…" from the card's menu starts a backup
 * of a path, the Backups view shows its live progress (bytes, chunks, rate) until it is done;
 * the snapshot browser lists its tree and opens a directory; one file is picked and restored
 * into another directory — a dry run first (nothing written), then for real (byte-equal); the
 * card then shows the backup's age, no longer amber. Screenshots: tests/out/backup-*.png.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitControl } from "../helpers/control.ts";
import { rgwUnavailable, startRgw } from "../helpers/rgw.ts";
import { launchBrowser, login, newPage, screenshot, SKIP_BROWSER } from "../helpers/browser.ts";

const T = 30_000;
const skip = rgwUnavailable();

Deno.test({
  name: "backups UI: start from a card, watch progress, browse the tree, restore a file",
  ignore: SKIP_BROWSER || skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const rgw = await startRgw();
    const dir = await Deno.makeTempDir({ prefix: "fleet-backup-ui-" });
    const browser = await launchBrowser();
    try {
      await rgw.bucket("fleet-backups");
      await rgw.bucket("fleet-configs");
      const config = join(dir, "fleet.yml");
      await Deno.writeTextFile(
        config,
        `nodes:\n  - id: n1\ns3:\n  endpoint: ${rgw.endpoint}\n  access_key: ${rgw.accessKey}\n` +
          `  secret_key: ${rgw.secretKey}\n  bucket: fleet-backups\n` +
          'backups:\n  schedules:\n    - name: nightly\n      cron: "0 3 * * *"\n' +
          "      nodes: [n1]\n      targets: [{ kind: config }]\n      keep: { last: 7, daily: 7 }\n",
      );
      const hub = await startHub({ args: ["--config", config] });
      const token = (await hub.admin.createToken({ kind: "node", node_id: "n1" })).token;
      const agent = startAgent({
        hub: hub.url,
        token,
        stateDir: join(dir, "agent"),
        interval: "1s",
        args: ["--jobs", "off"],
      });
      try {
        await waitControl(hub.admin, "n1");
        const tree = join(dir, "tree");
        await Deno.mkdir(join(tree, "etc/app"), { recursive: true });
        await Deno.writeTextFile(join(tree, "hello.txt"), "hello from the backup\n");
        await Deno.writeTextFile(join(tree, "etc/app/app.conf"), "port = 8080\n");
        // Big enough that the upload takes a moment to watch.
        const big = new Uint8Array(160 * 1024 * 1024);
        for (let i = 0; i < big.length; i += 65536) {
          crypto.getRandomValues(big.subarray(i, i + 65536));
        }
        await Deno.writeFile(join(tree, "model.bin"), big);

        const g = await newPage(browser, hub.url);
        const page = g.page;
        await login(page, hub.adminToken);
        const card = page.locator("[data-testid=node-card][data-node-id=n1]");
        await card.waitFor({ timeout: T });
        const age = card.locator("[data-testid=backup-age]");
        await age.waitFor({ timeout: T });
        assert.equal(await age.getAttribute("data-stale"), "true");
        assert.match(await age.textContent() ?? "", /never/);

        // Start it from the card's menu.
        await card.click({ button: "right" });
        await page.locator("[data-testid=menu-backup]").click();
        const dialog = page.locator("[data-testid=backup-dialog]");
        await dialog.waitFor({ timeout: T });
        await dialog.locator("[data-testid=backup-kind]").selectOption("path");
        await dialog.locator("[data-testid=backup-path]").fill(tree);
        await screenshot(page, "backup-dialog");
        await dialog.locator("[data-testid=backup-start]").click();

        // Live progress in the Backups view.
        const running = page.locator("[data-testid=backup-running]");
        await running.waitFor({ timeout: T });
        await page.waitForFunction(
          () => {
            const d = (globalThis as unknown as {
              document: { querySelector(s: string): { textContent: string | null } | null };
            }).document;
            return /[1-9][\d.]* ?[KMG]?B/.test(
              d.querySelector("[data-testid=backup-progress]")?.textContent ?? "",
            );
          },
          undefined,
          { timeout: T },
        );
        await screenshot(page, "backup-progress");
        const row = page.locator("[data-testid=backup-row][data-state=done]").first();
        await row.waitFor({ timeout: 120_000 });
        assert.equal(await running.count(), 0);

        // Browse the tree.
        await row.locator("[data-testid=backup-browse]").click();
        const browserPane = page.locator("[data-testid=snapshot-browser]");
        await browserPane.locator("[data-testid=tree-row][data-path='hello.txt']").waitFor({
          timeout: T,
        });
        await browserPane.locator("[data-testid=tree-row][data-path=etc] .tree-name").click();
        await browserPane.locator("[data-testid=tree-row][data-path='etc/app']").waitFor({
          timeout: T,
        });
        await browserPane.locator("[data-testid=tree-row][data-path='hello.txt'] input").check();
        await screenshot(page, "backup-browser");

        // Restore the picked file elsewhere: dry run first, then for real.
        const out = join(dir, "restored");
        await browserPane.locator("[data-testid=browser-restore]").click();
        const rd = page.locator("[data-testid=restore-dialog]");
        await rd.locator("[data-testid=restore-to]").fill(out);
        await rd.locator("[data-testid=restore-dry-run]").click();
        const plan = rd.locator("[data-testid=restore-plan]");
        await plan.waitFor({ timeout: T });
        assert.match(await plan.textContent() ?? "", /Would write.*hello\.txt/s);
        assert.equal(await Deno.stat(out).then(() => true, () => false), false);
        await rd.locator("[data-testid=restore-run]").click();
        await rd.locator("[data-testid=restore-plan]", { hasText: "Wrote" }).waitFor({
          timeout: T,
        });
        assert.equal(await Deno.readTextFile(join(out, "hello.txt")), "hello from the backup\n");
        assert.equal(await Deno.stat(join(out, "model.bin")).then(() => true, () => false), false);
        await screenshot(page, "backup-restore");
        await page.keyboard.press("Escape");

        // Back on the canvas: the card shows a fresh, good backup.
        await page.locator("[data-view=canvas]").click();
        await page.waitForFunction(
          () => {
            const d = (globalThis as unknown as {
              document: {
                querySelector(s: string): { getAttribute(n: string): string | null } | null;
              };
            }).document;
            return d.querySelector("[data-node-id=n1] [data-testid=backup-age]")?.getAttribute(
              "data-stale",
            ) === "false";
          },
          undefined,
          { timeout: T },
        );
        await screenshot(page, "backup-canvas");

        // Wrong credentials: the refused backup shows as failed with the reason in the list.
        await Deno.writeTextFile(
          config,
          (await Deno.readTextFile(config)).replace(rgw.secretKey, "wrong-secret"),
        );
        await hub.admin.request("POST", "/api/v1/config/reload");
        await page.locator("[data-view=backups]").click();
        await hub.admin.createBackup({ nodes: ["n1"], targets: [{ kind: "path", path: tree }] });
        const failed = page.locator("[data-testid=backup-row][data-state=failed]");
        await failed.waitFor({ timeout: T });
        assert.match(await failed.textContent() ?? "", /credentials/);
        assert.ok(!(await page.content()).includes(rgw.secretKey));
        await screenshot(page, "backup-failed");
        g.assertClean();
        await g.close();
      } finally {
        await agent.stop();
        await hub.stop();
      }
    } finally {
      await browser.close();
      await rgw.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
