/**
 * UI: an alert appears on its node's card live (pushed by the stream, no reload), is acknowledged
 * in the Alerts view (the card's badge turns quiet, the nav badge goes), and resolves (the badge
 * leaves the card, the history shows it resolved). The webhook's test button sends a real POST to
 * a receiver on loopback and the panel shows it delivered. Screenshots in tests/out/.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { makeSample } from "../helpers/samples.ts";
import { ApiClient } from "../../shared/api_client.ts";
import { browserTest, login, newPage, screenshot } from "../helpers/browser.ts";

const T = 20_000;
const NODE = "agx-07";

browserTest("alerts UI: live on the card, acknowledged, resolved; webhook test send", async (
  browser,
) => {
  const got: string[] = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (r) => {
    got.push(await r.text());
    return new Response(null, { status: 204 });
  });
  const dir = await Deno.makeTempDir({ prefix: "fleet-alerts-ui-" });
  const fleetYml = join(dir, "fleet.yml");
  await Deno.writeTextFile(
    fleetYml,
    `nodes:
  - { id: ${NODE}, type: xavier }
clusters:
  - id: vision
    nodes: [${NODE}]
alerts:
  rules:
    - name: gpu-hot
      kind: temperature
      sensors: [GPU]
      above: 85
      severity: critical
  webhooks:
    - name: ops
      url: http://127.0.0.1:${receiver.addr.port}/hook
      secret: e2e-signing-key-0123456789
`,
  );
  const hub = await startHub({ args: ["--config", fleetYml] });
  const g = await newPage(browser, hub.url);
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: NODE })).token;
    const agent = new ApiClient({ hub: hub.url, token });
    let seq = 0;
    const push = (c: number) =>
      agent.ingest({
        node_id: NODE,
        samples: [makeSample(++seq, { temps: [{ name: "GPU", c }] })],
      });
    await push(45);
    const { page } = g;
    await login(page, hub.adminToken);
    const card = page.locator(`[data-testid=node-card][data-node-id="${NODE}"]`);
    await card.waitFor({ timeout: T });
    assert.equal(await card.locator("[data-testid=alert-badge]").count(), 0);

    // Live: the alert reaches the open page through the stream.
    await push(93);
    const badge = card.locator("[data-testid=alert-badge][data-acked=no]");
    await badge.waitFor({ timeout: T });
    assert.match((await card.getAttribute("class"))!, /alerting critical/);
    assert.match((await badge.getAttribute("title"))!, /GPU at 93 °C/);
    await page.locator("[data-testid=alerts-badge]").waitFor({ timeout: T });
    await screenshot(page, "alerts-card-firing");
    // The node's panel lists it too.
    await card.click();
    const section = page.locator(
      `[data-testid=node-panel][data-node-id="${NODE}"] [data-testid=panel-alerts]`,
    );
    await section.waitFor({ timeout: T });
    assert.match((await section.textContent())!, /gpu-hot/);
    await screenshot(page, "alerts-node-panel");
    await page.keyboard.press("Escape");
    await section.waitFor({ state: "detached", timeout: T });

    await page.locator("button[data-view=alerts]").click();
    const row = page.locator(`[data-testid=firing-alert][data-node-id="${NODE}"]`);
    await row.waitFor({ timeout: T });
    await page.locator("[data-testid=webhook][data-webhook=ops]").waitFor({ timeout: T });
    await screenshot(page, "alerts-view-firing");
    await row.locator("[data-testid=alert-ack]").click();
    await row.locator("[data-testid=acked-by]").waitFor({ timeout: T });
    assert.match((await row.locator("[data-testid=acked-by]").textContent())!, /admin/);
    await page.locator("[data-testid=alerts-badge]").waitFor({ state: "detached", timeout: T });
    const [alert] = (await hub.admin.alerts({ state: "firing" })).alerts;
    assert.equal(alert.acked_by, "admin");

    // Silence for an hour from the menu.
    await row.locator("[data-testid=alert-silence]").click();
    await row.locator("button[data-silence='3600']").click();
    await row.locator("[data-testid=silenced]").waitFor({ timeout: T });
    assert.ok((await hub.admin.alert(alert.id)).silenced_until! > Date.now());

    // The webhook's test button: a real POST, shown delivered.
    await page.locator("[data-testid=webhook][data-webhook=ops] [data-testid=webhook-test]")
      .click();
    await page.locator(
      "[data-testid=webhook][data-webhook=ops] [data-testid=last-delivery][data-event='alert.test'][data-state=delivered]",
    ).waitFor({ timeout: T });
    assert.ok(got.some((b) => JSON.parse(b).event === "alert.test"));
    await screenshot(page, "alerts-view-acked");

    await page.locator("button[data-view=canvas]").click();
    await card.locator("[data-testid=alert-badge][data-acked=yes]").waitFor({ timeout: T });

    // Resolves: the badge leaves the card, live.
    await push(60);
    await card.locator("[data-testid=alert-badge]").waitFor({ state: "detached", timeout: T });
    assert.doesNotMatch((await card.getAttribute("class"))!, /alerting/);
    await page.locator("button[data-view=alerts]").click();
    await page.locator(
      `[data-testid=alert-history] tr[data-alert-id="${alert.id}"][data-state=resolved]`,
    )
      .waitFor({ timeout: T });
    await page.locator("[data-testid=all-clear]").waitFor({ timeout: T });
    await screenshot(page, "alerts-view-resolved");
    g.assertClean();

    // A viewer sees the same view, a new firing included, without its controls.
    await push(95);
    const viewer = (await hub.admin.createToken({ kind: "viewer", name: "wall" })).token;
    const v = await newPage(browser, hub.url);
    try {
      await login(v.page, viewer);
      await v.page.locator("button[data-view=alerts]").click();
      await v.page.locator("[data-testid=webhook][data-webhook=ops]").waitFor({ timeout: T });
      await v.page.locator(`[data-testid=firing-alert][data-node-id="${NODE}"]`)
        .waitFor({ timeout: T });
      await v.page.locator(`[data-testid=alert-history] tr[data-alert-id="${alert.id}"]`)
        .waitFor({ timeout: T });
      assert.equal(await v.page.locator("[data-testid=webhook-test]").count(), 0);
      assert.equal(await v.page.locator("[data-testid=alert-ack]").count(), 0);
      assert.equal(await v.page.locator("[data-testid=alert-silence]").count(), 0);
      v.assertClean();
    } finally {
      await v.close();
    }
  } finally {
    await g.close();
    await hub.stop();
    await receiver.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
