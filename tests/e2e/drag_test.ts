/**
 * UI test 3: drag a node card on the canvas and reload the page: the card is where it was
 * dropped. Checked three ways: the card's flow position (its CSS translate) is the one the hub
 * stored (`GET /api/v1/layout`), it is the same after the reload, and on screen its offset from
 * the hub card, measured in card widths (zoom-independent: fit view may pick another zoom after
 * the reload), is unchanged.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { waitFor } from "../helpers/process.ts";
import type { Layout } from "../../shared/protocol/mod.ts";
import { browserTest, login, newPage, type Page, screenshot } from "../helpers/browser.ts";

const T = 20_000;
const NODE = "agx-03";
const CARD_SEL = `[data-testid=node-card][data-node-id="${NODE}"]`;

/** The card's flow position, from its `translate(xpx, ypx)`. */
async function flowPos(page: Page): Promise<{ x: number; y: number }> {
  const t = await page.locator(CARD_SEL).evaluate((el) => el.style.transform);
  const m = /translate\((-?[\d.]+)px,\s*(-?[\d.]+)px\)/.exec(t);
  assert.ok(m, `unexpected transform ${t}`);
  return { x: Number(m[1]), y: Number(m[2]) };
}

/** The viewport zoom, from the flow layer's `scale(…)`. */
async function zoomOf(page: Page): Promise<number> {
  const t = await page.locator(".flow-layer").evaluate((el) => el.style.transform);
  const m = /scale\(([\d.]+)\)/.exec(t);
  assert.ok(m, `unexpected transform ${t}`);
  return Number(m[1]);
}

/** The card's offset from the hub card on screen, in card widths. */
async function offsetFromHub(page: Page): Promise<{ dx: number; dy: number; width: number }> {
  const card = (await page.locator(CARD_SEL).boundingBox())!;
  const hub = (await page.locator("[data-testid=hub-card]").boundingBox())!;
  return {
    dx: (card.x - hub.x) / card.width,
    dy: (card.y - hub.y) / card.width,
    width: card.width,
  };
}

/** Waits until the canvas is laid out with its final groups and the card stays put. */
async function settled(page: Page): Promise<void> {
  await page.locator("[data-testid=frame][data-group=roamers]").waitFor({ timeout: T });
  let last = "";
  await waitFor(
    async () => {
      const b = JSON.stringify(await page.locator(CARD_SEL).boundingBox());
      const same = b === last;
      last = b;
      return same;
    },
    "the canvas to settle",
    T,
    300,
  );
}

browserTest("canvas: a dragged node stays where it was dropped after a reload", async (browser) => {
  const hub = await startHub({ args: ["--demo", "20", "--autoscale-every", "1h"] });
  const g = await newPage(browser, hub.url);
  try {
    const { page } = g;
    await login(page, hub.adminToken);
    await page.locator(CARD_SEL).waitFor({ timeout: T });
    await settled(page);
    const before = await flowPos(page);
    const box = (await page.locator(CARD_SEL).boundingBox())!;
    const zoom = await zoomOf(page);

    // Drag by the card's header, well past the drag threshold, in small steps like a hand.
    const DX = 260, DY = 190;
    const x0 = box.x + box.width / 2, y0 = box.y + 12;
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    // XYDrag starts past a 1 px threshold and counts from there: cross it with a tiny move.
    await page.mouse.move(x0 + 2, y0 + 2);
    await page.mouse.move(x0 + DX, y0 + DY, { steps: 12 });
    await page.mouse.up();

    const dropped = await flowPos(page);
    assert.ok(
      Math.abs(dropped.x - before.x - DX / zoom) < 4 / zoom &&
        Math.abs(dropped.y - before.y - DY / zoom) < 4 / zoom,
      `moved from ${JSON.stringify(before)} to ${JSON.stringify(dropped)} at zoom ${zoom}`,
    );
    const droppedOffset = await offsetFromHub(page);
    await screenshot(page, "drag-dropped");

    // The hub has the position (saved shortly after the drop).
    const saved = await waitFor(
      async () => {
        const l = await hub.admin.request<Layout>("GET", "/api/v1/layout");
        return l.positions[NODE];
      },
      "the layout saved on the hub",
      T,
    );
    assert.deepEqual(saved, { x: Math.round(dropped.x), y: Math.round(dropped.y) });

    // Reload: the session cookie keeps us in; the card comes back where it was dropped.
    await page.reload({ waitUntil: "domcontentloaded" });
    await page.locator(CARD_SEL).waitFor({ timeout: T });
    await settled(page);
    const after = await flowPos(page);
    assert.deepEqual(after, saved);
    const afterOffset = await offsetFromHub(page);
    assert.ok(
      Math.abs(afterOffset.dx - droppedOffset.dx) < 0.02 &&
        Math.abs(afterOffset.dy - droppedOffset.dy) < 0.02,
      `offset from the hub before ${JSON.stringify(droppedOffset)}, after ${
        JSON.stringify(afterOffset)
      }`,
    );
    // Its frame followed it: the card is still inside the roamer-less "vision" frame.
    const inside = await page.evaluate(({ sel }) => {
      const d = (globalThis as unknown as import("../helpers/browser.ts").PageWindow).document;
      const c = d.querySelector(sel)!.getBoundingClientRect();
      const f = d.querySelector("[data-testid=frame][data-group=vision]")!.getBoundingClientRect();
      return c.left >= f.left && c.right <= f.right && c.top >= f.top && c.bottom <= f.bottom;
    }, { sel: CARD_SEL });
    assert.ok(inside, "the vision frame grew to hold the dropped card");
    await screenshot(page, "drag-after-reload");
    g.assertClean();
  } finally {
    await g.close();
    await hub.stop();
  }
});
