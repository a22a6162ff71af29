/**
 * UI test 5, against a demo hub (simulated agents running the real worker code): an IDLE roamer
 * is assigned to a cluster from the assign dialog of the Roamer pool view; its row moves through
 * ASSIGNED / PROVISIONING to RUNNING, and on the canvas its card carries the RUNNING chip and the
 * cluster it serves. Released from the card's menu, the chip on the canvas goes back to IDLE, as
 * does the row. A job submitted from the Jobs view's dialog (the `shell` template) appears as a
 * row and reaches `done`.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { waitFor } from "../helpers/process.ts";
import {
  browserTest,
  login,
  newPage,
  type Page,
  type PageWindow,
  screenshot,
} from "../helpers/browser.ts";

const T = 20_000;
const ROAMER = "agx-15";
const ROAMER_ORDER = ["IDLE", "ASSIGNED", "PROVISIONING", "RUNNING", "CLEANUP", "IDLE"];

/** Starts recording, in the page, every `data-state` the elements matching `sel` take. */
async function recordStates(page: Page, key: string, sel: string): Promise<void> {
  await page.evaluate(({ key, sel }) => {
    const w = globalThis as unknown as PageWindow;
    const seen: string[] = [];
    w[key] = seen;
    const look = () => {
      const el = w.document.querySelector(sel);
      const s = el?.getAttribute("data-state") ?? el?.textContent?.trim();
      if (s && seen.at(-1) !== s) seen.push(s);
    };
    look();
    new w.MutationObserver(look).observe(w.document.body, {
      attributes: true,
      subtree: true,
      childList: true,
      characterData: true,
    });
  }, { key, sel });
}

/** Waits until the element's box stops moving (a view animation ended). */
async function settled(page: Page, sel: string): Promise<void> {
  let last = "";
  await waitFor(
    async () => {
      const b = JSON.stringify(await page.locator(sel).boundingBox());
      const same = b === last;
      last = b;
      return same;
    },
    `${sel} to stop moving`,
    T,
    250,
  );
}

async function recorded(page: Page, key: string): Promise<string[]> {
  return await page.evaluate((k) => (globalThis as unknown as PageWindow)[k] as string[], key);
}

/** True when `seen` follows `order` (each state at or after the previous one's position). */
function inOrder(seen: string[], order: string[]): boolean {
  let at = 0;
  for (const s of seen) {
    const i = order.indexOf(s, at);
    if (i < 0) return false;
    at = i;
  }
  return true;
}

browserTest(
  "roamer assigned from the dialog moves on the canvas and in the pool; a job from the Jobs view completes",
  async (
    browser,
  ) => {
    // The autoscaler is slowed so only the test lends roamers.
    const hub = await startHub({ args: ["--demo", "20", "--autoscale-every", "1h"] });
    const g = await newPage(browser, hub.url);
    try {
      const { page } = g;
      await login(page, hub.adminToken);
      // The roamer's agent is up (its first sample arrived) before it is lent.
      await page.locator(`[data-testid=node-card][data-node-id="${ROAMER}"][data-status=online]`)
        .waitFor({ timeout: T });

      // --- assign from the Roamer pool view's dialog
      await page.locator("button[data-view=roamers]").click();
      const row = `[data-testid=roamer-row][data-roamer="${ROAMER}"]`;
      await page.locator(`${row}[data-state=IDLE]`).waitFor({ timeout: T });
      await recordStates(page, "__row", row);
      await page.locator(`${row} [data-testid=roamer-assign]`).click();
      const dialog = page.locator("[data-testid=assign-dialog]");
      await dialog.waitFor({ timeout: T });
      await dialog.locator("[data-testid=assign-kind-cluster]").click();
      await dialog.locator("[data-testid=assign-cluster]").selectOption("vision");
      await dialog.locator("[data-testid=assign-mode-manual]").click();
      await screenshot(page, "queue-assign-dialog");
      await dialog.locator("[data-testid=assign-submit]").click();
      await dialog.waitFor({ state: "detached", timeout: T });
      await page.locator(`${row}[data-state=RUNNING]`).waitFor({ timeout: 30_000 });
      const rowStates = await recorded(page, "__row");
      assert.ok(
        rowStates.length >= 2 && rowStates[0] === "IDLE" && rowStates.at(-1) === "RUNNING" &&
          inOrder(rowStates, ROAMER_ORDER),
        `roamer row states: ${rowStates.join(" → ")}`,
      );
      assert.match(await page.locator(row).textContent() ?? "", /cluster vision/);
      await screenshot(page, "queue-roamer-running");
      const api = (await hub.admin.roamers()).find((r) => r.node_id === ROAMER)!;
      assert.equal(api.state, "RUNNING");
      assert.equal(api.assignment?.cluster, "vision");

      // --- on the canvas: the card's chip says RUNNING and where it is lent
      await page.locator("button[data-view=canvas]").click();
      const card = `[data-testid=node-card][data-node-id="${ROAMER}"]`;
      const chip = `${card} [data-testid=roamer-chip]`;
      await page.waitForFunction(
        (sel) =>
          (globalThis as unknown as PageWindow).document.querySelector(sel)?.textContent ===
            "RUNNING",
        chip,
        { timeout: T },
      );
      assert.match(await page.locator(`${card} .nc-sub`).textContent() ?? "", /→ vision/);
      await screenshot(page, "queue-canvas-roamer-running");
      // Released from the card's menu: the chip moves back to IDLE on the canvas. The card sits
      // low in the view and the menu opens under the pointer, so "Center on node" first.
      await recordStates(page, "__chip", chip);
      await page.locator(card).click({ button: "right" });
      await page.locator("[data-testid=context-menu] [role=menuitem]", {
        hasText: "Center on node",
      }).click();
      await settled(page, card);
      await page.locator(card).click({ button: "right", position: { x: 30, y: 10 } });
      await page.locator("[data-testid=menu-release]").click();
      await page.waitForFunction(
        (sel) =>
          (globalThis as unknown as PageWindow).document.querySelector(sel)?.textContent === "IDLE",
        chip,
        { timeout: 60_000 },
      );
      const chipStates = await recorded(page, "__chip");
      assert.ok(
        chipStates[0] === "RUNNING" && chipStates.at(-1) === "IDLE" &&
          inOrder(chipStates, ROAMER_ORDER.slice(3)),
        `roamer chip states: ${chipStates.join(" → ")}`,
      );
      await page.locator("button[data-view=roamers]").click();
      await page.locator(`${row}[data-state=IDLE]`).waitFor({ timeout: T });

      // --- a job from the Jobs view's submit dialog
      await page.locator("button[data-view=jobs]").click();
      await page.locator("[data-testid=jobs-view]").waitFor({ timeout: T });
      await page.locator("[data-testid=submit-job]").click();
      const submit = page.locator("[data-testid=submit-dialog]");
      await submit.waitFor({ timeout: T });
      await submit.locator("[data-testid=submit-kind-template]").click();
      await submit.locator("[data-testid=submit-template]").selectOption("shell");
      const posted = page.waitForResponse(
        (r) => r.url().endsWith("/api/v1/jobs") && r.request().method() === "POST",
        { timeout: T },
      );
      await submit.locator("[data-testid=submit-send]").click();
      const res = await posted;
      assert.ok(res.ok(), `POST /api/v1/jobs: ${res.status()} ${await res.text()}`);
      const { id } = await res.json() as { id: string };
      await submit.waitFor({ state: "detached", timeout: T });
      const jobRow = `[data-testid=job-row][data-job-id="${id}"]`;
      await page.locator(jobRow).waitFor({ timeout: T });
      await recordStates(page, "__job", jobRow);
      await page.locator(`${jobRow}[data-state=done]`).waitFor({ timeout: 90_000 });
      const jobStates = await recorded(page, "__job");
      assert.equal(jobStates.at(-1), "done", jobStates.join(" → "));
      assert.equal((await hub.admin.job(id)).state, "done");
      await screenshot(page, "queue-job-done");
      g.assertClean();
    } finally {
      await g.close();
      await hub.stop();
    }
  },
);
