/**
 * The control UI in Chromium against a real hub and real agent processes (control channel on):
 *
 * 1. Batch exec: four agents, one of them stopped; their cards are shift-clicked on the canvas and
 *    "Run command on 4 nodes" opens the exec view aimed at them. A command with per-node output
 *    (each agent has its own HOME) and `exit 3` fills one pane per node with that node's stdout,
 *    its stderr tinted, and a red `exit 3`; the stopped node's pane says offline at once (before
 *    the others finish). `sleep 30` with a 1 s timeout ends amber `timed out`. The history lists
 *    both runs. The Audit view lists them with who, what and the result, and picks up a run
 *    started elsewhere without a reload. A viewer sees the history, a run's output and the audit
 *    log, but no Run, no Cancel and no "Run command" on the canvas.
 * 2. Containers (real dockerd, skipped without Docker outside CI): a busybox container on the
 *    engine shows in the node panel from the agent's list; Logs shows its output and Follow
 *    streams new lines (the request ends when the dialog closes); Restart (confirmed) restarts
 *    it; Remove (confirmed) removes it; both are in the audit log.
 *
 * Every page must stay free of page errors and of requests leaving 127.0.0.1; screenshots go to
 * tests/out/control-*.png.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { type HubProcess, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { type Child, waitFor } from "../helpers/process.ts";
import { waitControl } from "../helpers/control.ts";
import { DOCKER_INSTALL, DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";
import {
  browserTest,
  login,
  newPage,
  type Page,
  type PageWindow,
  screenshot,
  SKIP_BROWSER,
} from "../helpers/browser.ts";

const T = 20_000;
const CI = Deno.env.get("CI") === "true";

/** Starts one agent per id with its own HOME; waits until each holds the control channel. */
async function startAgents(
  hub: HubProcess,
  ids: string[],
  extra: string[] = [],
): Promise<{ children: Map<string, Child>; homes: Map<string, string> }> {
  const children = new Map<string, Child>();
  const homes = new Map<string, string>();
  for (const id of ids) {
    const token = (await hub.admin.createToken({ kind: "node", node_id: id })).token;
    const home = await Deno.makeTempDir({ prefix: `fleet-home-${id}-` });
    homes.set(id, home);
    children.set(
      id,
      startAgent({
        hub: hub.url,
        token,
        stateDir: join(home, "state"),
        interval: "1s",
        args: ["--jobs", "off", ...extra],
        env: { HOME: home },
      }),
    );
  }
  for (const id of ids) await waitControl(hub.admin, id);
  return { children, homes };
}

/** The attributes and texts of every exec pane, by node. */
function panes(page: Page) {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageWindow;
    const out: Record<
      string,
      {
        state: string;
        exit: string;
        chip: string;
        tone: string;
        out: string;
        err: string;
        time: string;
      }
    > = {};
    for (const p of document.querySelectorAll("[data-testid=exec-pane]")) {
      const chip = p.querySelector("[data-testid=exec-exit]");
      out[p.dataset.node!] = {
        state: p.dataset.state ?? "",
        exit: p.dataset.exitCode ?? "",
        chip: chip?.textContent?.trim() ?? "",
        tone: /tone-(\w+)/.exec(chip?.getAttribute("class") ?? "")?.[1] ?? "",
        out: p.querySelector("[data-testid=exec-output]")?.textContent ?? "",
        err: [...p.querySelectorAll("[data-testid=exec-output] .err")]
          .map((e) => e.textContent).join(""),
        time: p.querySelector(".pane-time")?.textContent?.trim() ?? "",
      };
    }
    return out;
  });
}

/** A pane's "850 ms" / "1.2 s" in ms. */
function ms(text: string): number {
  const m = /^([\d.]+)\s*(ms|s)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
}

/** Waits (bounded) until `n` exec panes have one of `states`. */
async function panesIn(page: Page, states: string[], n: number, timeout = T): Promise<void> {
  await page.waitForFunction(
    ({ states, n }) => {
      const { document } = globalThis as unknown as PageWindow;
      return [...document.querySelectorAll("[data-testid=exec-pane]")]
        .filter((p) => states.includes(p.dataset.state ?? "")).length === n;
    },
    { states, n },
    { timeout },
  );
}

browserTest(
  "control UI: batch exec from a canvas selection (outputs, exit 3, offline at once, timeout), audit log, viewer",
  async (browser) => {
    const hub = await startHub();
    const ids = ["x1", "x2", "x3", "x4"];
    const { children, homes } = await startAgents(hub, ids);
    const g = await newPage(browser, hub.url);
    let viewerPage: Awaited<ReturnType<typeof newPage>> | undefined;
    try {
      // x4's agent is stopped: the hub knows the node but cannot reach it.
      await children.get("x4")!.stop();
      await waitControl(hub.admin, "x4", false);

      const { page } = g;
      await login(page, hub.adminToken);
      for (const id of ids) {
        await page.locator(`[data-testid=node-card][data-node-id="${id}"]`).waitFor({ timeout: T });
      }
      await page.locator("[data-testid=fit-view]").click();
      await page.waitForTimeout(400);
      for (const id of ids) {
        await page.locator(`[data-testid=node-card][data-node-id="${id}"]`).click({
          modifiers: ["Shift"],
        });
      }
      const runOn = page.locator("[data-testid=run-on-selection]");
      assert.match(await runOn.textContent() ?? "", /Run command on 4 nodes/);
      await screenshot(page, "control-canvas-selection");
      await runOn.click();

      // --- the exec view, aimed at the selection
      await page.locator("[data-testid=exec-view]").waitFor({ timeout: T });
      assert.deepEqual(
        (await page.locator("[data-testid=exec-target-chip]").evaluateAll((els) =>
          els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset.node)
        )).sort(),
        ids,
      );
      await page.locator("[data-testid=exec-unreachable]").waitFor({ timeout: T });
      const command = page.locator("[data-testid=exec-command]");
      await command.fill(
        'echo "hi-$(basename "$HOME")"; sleep 1; echo "oops-$(basename "$HOME")" >&2; exit 3',
      );
      await page.locator("[data-testid=exec-timeout]").fill("20");
      const clicked = Date.now();
      await command.press("Enter");
      // The offline node is reported at once, while the others still run.
      await page.locator("[data-testid=exec-pane][data-node=x4][data-state=offline]").waitFor({
        timeout: 5_000,
      });
      const offlineAfter = Date.now() - clicked;
      const early = await panes(page);
      assert.ok(
        ["x1", "x2", "x3"].some((id) => early[id]?.state === "running"),
        `the offline node must not wait for the others: ${JSON.stringify(early)}`,
      );
      assert.ok(offlineAfter < 3_000, `offline shown after ${offlineAfter} ms`);
      await screenshot(page, "control-exec-running");
      await panesIn(page, ["exited"], 3);
      const done = await panes(page);
      for (const id of ["x1", "x2", "x3"]) {
        const home = basename(homes.get(id)!);
        assert.equal(done[id].exit, "3", id);
        assert.equal(done[id].chip, "exit 3", id);
        assert.equal(done[id].tone, "bad", `${id}: a non-zero exit is red`);
        assert.ok(done[id].out.includes(`hi-${home}\n`), `${id}: ${done[id].out}`);
        assert.equal(done[id].err, `oops-${home}\n`, `${id}: stderr is tinted`);
        // The command sleeps 1 s: the pane's time cannot be shorter.
        assert.ok(ms(done[id].time) >= 1000, `${id} ran ${done[id].time}`);
        for (const other of ["x1", "x2", "x3"].filter((o) => o !== id)) {
          assert.ok(!done[id].out.includes(basename(homes.get(other)!)), `${id} has ${other}'s`);
        }
      }
      assert.equal(done.x4.state, "offline");
      assert.equal(done.x4.chip, "offline");
      assert.equal(done.x4.tone, "off");
      const progress = page.locator("[data-testid=exec-progress]");
      await page.locator("[data-testid=exec-run-view][data-state=done]").waitFor({ timeout: T });
      assert.equal(await progress.getAttribute("data-done"), "4");
      assert.equal(await progress.getAttribute("data-total"), "4");
      assert.match(await progress.textContent() ?? "", /4\/4\s*finished/);
      const firstId = await page.locator("[data-testid=exec-run-view]").getAttribute(
        "data-exec-id",
      );
      assert.ok(firstId);
      // The stored run agrees with what the panes showed.
      const stored = await hub.admin.execRun(firstId);
      assert.deepEqual(stored.counts, { exited: 3, offline: 1 });
      await screenshot(page, "control-exec-exit3");

      // --- a command past its timeout
      await command.fill("sleep 30");
      await page.locator("[data-testid=exec-timeout]").fill("1");
      await page.locator("[data-testid=exec-run]").click();
      await panesIn(page, ["timed_out"], 3, 15_000);
      const timed = await panes(page);
      for (const id of ["x1", "x2", "x3"]) {
        assert.equal(timed[id].chip, "timed out", id);
        assert.equal(timed[id].tone, "wait", `${id}: timed out is amber`);
      }
      assert.equal(timed.x4.state, "offline");
      const secondId = await page.locator("[data-testid=exec-run-view]").getAttribute(
        "data-exec-id",
      );
      assert.notEqual(secondId, firstId);
      // Both runs are in the history, newest first; a click shows the first one again.
      await page.locator(`[data-testid=exec-history-item][data-exec-id="${firstId}"]`).waitFor({
        timeout: T,
      });
      const listed = await page.locator("[data-testid=exec-history-item]").evaluateAll((els) =>
        els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset.execId)
      );
      assert.deepEqual(listed.slice(0, 2), [secondId, firstId]);
      await screenshot(page, "control-exec-timeout");
      await page.locator(`[data-testid=exec-history-item][data-exec-id="${firstId}"]`).click();
      await page.locator(`[data-testid=exec-run-view][data-exec-id="${firstId}"]`).waitFor({
        timeout: T,
      });
      await panesIn(page, ["exited"], 3);

      // --- the audit log
      await page.locator("button[data-view=audit]").click();
      await page.locator("[data-testid=audit-view]").waitFor({ timeout: T });
      const runs = page.locator("[data-testid=audit-row][data-action='exec.run']");
      await waitFor(async () => (await runs.count()) === 2, "two exec.run rows", T);
      const api = (await hub.admin.audit({ action: "exec.run" })).entries;
      const newest = runs.first();
      assert.equal(await newest.getAttribute("data-id"), api[0].id);
      assert.equal(await newest.getAttribute("data-result"), "ok");
      const who = await newest.locator("[data-testid=audit-who]").textContent() ?? "";
      assert.ok(who.includes(api[0].actor.name) && who.includes("admin"), who);
      assert.match(await newest.textContent() ?? "", /sleep 30/);
      assert.match(await newest.locator("[data-testid=audit-result]").textContent() ?? "", /ok/);
      assert.match(await runs.nth(1).textContent() ?? "", /1 offline/);
      // A run started elsewhere shows up without a reload.
      await hub.admin.exec({ nodes: ["x1"], command: "echo from-elsewhere", timeout_s: 5 });
      await page.locator("[data-testid=audit-row][data-action='exec.run']", {
        hasText: "from-elsewhere",
      }).waitFor({ timeout: T });
      await newest.click();
      await page.locator("[data-testid=audit-detail]").first().waitFor({ timeout: T });
      await screenshot(page, "control-audit");

      // --- a viewer: history, output and audit, no Run / Cancel
      const viewerToken = (await hub.admin.createToken({ kind: "viewer", name: "wall" })).token;
      viewerPage = await newPage(browser, hub.url);
      const v = viewerPage.page;
      await login(v, viewerToken);
      await v.locator("[data-testid=node-card]").first().waitFor({ timeout: T });
      await v.locator(`[data-testid=node-card][data-node-id="x1"]`).click({
        modifiers: ["Shift"],
      });
      await v.locator("[data-testid=selection-actions]").waitFor({ timeout: T });
      assert.equal(await v.locator("[data-testid=run-on-selection]").count(), 0);
      await v.locator("button[data-view=exec]").click();
      await v.locator("[data-testid=exec-viewer-note]").waitFor({ timeout: T });
      await v.locator(`[data-testid=exec-history-item][data-exec-id="${firstId}"]`).click();
      await panesIn(v, ["exited"], 3);
      const seen = await panes(v);
      assert.ok(seen.x2.out.includes(`hi-${basename(homes.get("x2")!)}`), seen.x2.out);
      assert.equal(seen.x2.chip, "exit 3");
      assert.equal(await v.locator("[data-testid=exec-run]").count(), 0);
      assert.equal(await v.locator("[data-testid=exec-composer]").count(), 0);
      assert.equal(await v.locator("[data-testid=exec-cancel]").count(), 0);
      await screenshot(v, "control-viewer-exec");
      await v.locator("button[data-view=audit]").click();
      await v.locator("[data-testid=audit-row][data-action='exec.run']").first().waitFor({
        timeout: T,
      });
      assert.ok(await v.locator("[data-testid=audit-row]").count() >= 3);
      await screenshot(v, "control-viewer-audit");

      g.assertClean();
      viewerPage.assertClean();
    } finally {
      await viewerPage?.close();
      await g.close();
      for (const c of children.values()) await c.stop();
      await hub.stop();
    }
  },
);

if (DOCKER_MISSING.length && !CI && !SKIP_BROWSER) {
  console.error(
    `\n!! SKIPPED the containers UI test: missing ${
      DOCKER_MISSING.join(", ")
    }; install with: ${DOCKER_INSTALL}\n`,
  );
}

Deno.test({
  name: "control UI: containers in the node panel — list, logs and follow, restart, remove",
  ignore: SKIP_BROWSER || (DOCKER_MISSING.length > 0 && !CI),
  fn: async () => {
    const { launchBrowser } = await import("../helpers/browser.ts");
    const engine = await startDockerd();
    const hub = await startHub();
    const browser = await launchBrowser();
    const home = await Deno.makeTempDir({ prefix: "fleet-ctr-ui-" });
    let agent: Child | undefined;
    const g = await newPage(browser, hub.url);
    try {
      await engine.docker(
        "run",
        "-d",
        "--name",
        "ticker",
        "--network",
        "none",
        engine.image,
        "sh",
        "-c",
        // PID 1 ignores SIGTERM unless it traps it: restart stays quick.
        "trap 'exit 0' TERM; i=0; while true; do echo \"tick-$i\"; i=$((i+1)); sleep 0.3; done",
      );
      const token = (await hub.admin.createToken({ kind: "node", node_id: "d1" })).token;
      agent = startAgent({
        hub: hub.url,
        token,
        stateDir: join(home, "state"),
        interval: "1s",
        args: ["--jobs", "off", "--docker-socket", engine.socket],
      });
      await waitControl(hub.admin, "d1");
      await waitFor(
        async () => (await hub.admin.node("d1")).last_sample?.containers?.length,
        "a sample with containers",
        T,
      );

      const { page } = g;
      await login(page, hub.adminToken);
      const card = page.locator(`[data-testid=node-card][data-node-id="d1"]`);
      await card.waitFor({ timeout: T });
      await card.click();
      const panel = page.locator(`[data-testid=node-panel][data-node-id="d1"]`);
      await panel.waitFor({ timeout: T });
      // The list comes from the agent (its rows have actions).
      const row = panel.locator("[data-testid=container-row][data-name=ticker]");
      await panel.locator(".ctr-list[data-source=agent]").waitFor({ timeout: T });
      await row.waitFor({ timeout: T });
      assert.equal(await row.getAttribute("data-state"), "running");
      assert.ok((await row.textContent() ?? "").includes(engine.image));
      await row.scrollIntoViewIfNeeded();
      await screenshot(page, "control-containers");

      // Logs: the last lines, then Follow streams new ones.
      await row.locator("[data-testid=container-logs]").click();
      const box = page.locator("[data-testid=logs-box]");
      await page.waitForFunction(
        () =>
          /tick-\d+/.test(
            (globalThis as unknown as PageWindow).document.querySelector("[data-testid=logs-box]")
              ?.textContent ?? "",
          ),
        undefined,
        { timeout: T },
      );
      const ticks = async () =>
        [...(await box.textContent() ?? "").matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]));
      const before = Math.max(...await ticks());
      // The follow request ends when the dialog closes (the hub then stops the stream).
      const followEnded = page.waitForEvent("requestfailed", {
        predicate: (r) => r.url().includes("/logs?") && r.url().includes("follow=1"),
        timeout: T,
      });
      await page.locator("[data-testid=logs-follow]").click();
      await page.locator("[data-testid=logs-status][data-state=following]").waitFor({
        timeout: T,
      });
      await waitFor(async () => Math.max(...await ticks()) >= before + 4, "followed lines", T);
      await screenshot(page, "control-container-logs");
      await page.locator("[data-testid=container-logs-dialog] button.primary").click();
      await page.locator("[data-testid=container-logs-dialog]").waitFor({
        state: "detached",
        timeout: T,
      });
      await followEnded;

      // Restart, confirmed.
      const startedBefore = await engine.docker("inspect", "-f", "{{.State.StartedAt}}", "ticker");
      await row.locator("[data-testid=container-restart]").click();
      await page.locator("[data-testid=confirm-dialog]").waitFor({ timeout: T });
      const restarted = page.waitForResponse(
        (r) => r.url().includes("/containers/") && r.url().includes("/restart"),
        { timeout: 60_000 },
      );
      await page.locator("[data-testid=confirm-ok]").click();
      assert.equal((await restarted).status(), 200);
      await waitFor(
        async () =>
          (await engine.docker("inspect", "-f", "{{.State.StartedAt}}", "ticker")) !==
            startedBefore,
        "ticker restarted",
        T,
      );
      assert.equal(await engine.docker("inspect", "-f", "{{.State.Running}}", "ticker"), "true");

      // Remove, confirmed (a running container: forced); the row goes.
      await row.locator("[data-testid=container-remove]").click();
      const confirm = page.locator("[data-testid=confirm-dialog]");
      await confirm.waitFor({ timeout: T });
      assert.match(await confirm.textContent() ?? "", /running/);
      assert.match(
        await confirm.locator("[data-testid=confirm-ok]").getAttribute("class") ?? "",
        /danger/,
      );
      await screenshot(page, "control-container-remove-confirm");
      await confirm.locator("[data-testid=confirm-ok]").click();
      await row.waitFor({ state: "detached", timeout: 60_000 });
      assert.ok(!(await engine.docker("ps", "-a", "--format", "{{.Names}}")).includes("ticker"));
      const audit = (await hub.admin.audit({ action: "container." })).entries;
      assert.deepEqual(audit.map((e) => `${e.action} ${e.target} ${e.result}`).reverse(), [
        "container.restart d1/ticker ok",
        "container.remove d1/ticker ok",
      ]);
      assert.equal(audit[0].detail?.force, true);
      await screenshot(page, "control-container-removed");
      g.assertClean();
    } finally {
      await g.close();
      await browser.close();
      await agent?.stop();
      await hub.stop();
      await engine.stop();
    }
  },
});
