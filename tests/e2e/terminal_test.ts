/**
 * The web terminal end to end in Chromium, against a real agent with its control
 * channel and a real PTY (`script`). The admin opens the node's terminal from its details panel,
 * types `echo fleet-$((6*7))` into xterm and sees `fleet-42`; the page is resized and `stty size`
 * in the shell reports the size xterm now has (`data-rows` / `data-cols` of the pane, and the
 * rows xterm draws); a second terminal on the same node opens from the canvas menu as a second
 * tab with a shell of its own; closing each tab ends its shell on the node (its pid leaves
 * /proc). No request leaves 127.0.0.1, the page has no errors, and the CSP blocks nothing
 * (xterm's generated styles carry the page's nonce). A viewer sees no terminal control, and the
 * pop-out route shows them why instead of a terminal.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { processAlive, waitControl, waitGone } from "../helpers/control.ts";
import {
  type Browser,
  browserTest,
  type GuardedPage,
  login,
  newPage,
  type Page,
  screenshot,
} from "../helpers/browser.ts";
import { findExecutable } from "../../agent/collect/sampler.ts";

const T = 20_000;
const NODE = "e2e-term";

const SCRIPT_MISSING = !findExecutable("script");
if (SCRIPT_MISSING) {
  const msg = "the terminal e2e test needs util-linux 'script': apt-get install -y util-linux";
  if (Deno.env.get("CI") === "true") throw new Error(msg);
  console.error(`SKIPPING terminal e2e test: ${msg}`);
}

/** The pane in front. */
const FRONT = "[data-testid=terminal-pane][data-visible=true]";

/** What xterm shows in the pane in front (its DOM rows; no-break spaces as spaces). */
async function screenText(page: Page): Promise<string> {
  const rows = await page.locator(`${FRONT} .xterm-rows > div`).allTextContents();
  return rows.map((r) => r.replaceAll("\u00a0", " ").trimEnd()).join("\n");
}

/** Waits (bounded) until the terminal in front shows `re`; returns the last match. */
async function waitScreen(page: Page, re: RegExp, timeoutMs = T): Promise<RegExpMatchArray> {
  const g = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
  const until = Date.now() + timeoutMs;
  let text = "";
  while (Date.now() < until) {
    text = await screenText(page);
    const all = [...text.matchAll(g)];
    if (all.length) return all[all.length - 1];
    await page.waitForTimeout(50);
  }
  throw new Error(`the terminal never showed ${re}; it shows:\n${text}`);
}

/** Types a command line into the focused terminal. */
async function run(page: Page, line: string): Promise<void> {
  await page.keyboard.type(line);
  await page.keyboard.press("Enter");
}

/** The shell's pid, asked from the shell itself. */
async function shellPid(page: Page, tag: string): Promise<number> {
  await run(page, `echo ${tag}-$$`);
  return Number((await waitScreen(page, new RegExp(`^${tag}-(\\d+)$`, "m")))[1]);
}

/** The size the pane in front reports, once it holds still for 400 ms (bounded). */
async function settledSize(page: Page): Promise<{ cols: number; rows: number }> {
  const pane = page.locator(FRONT);
  const read = async () => ({
    cols: Number(await pane.getAttribute("data-cols")),
    rows: Number(await pane.getAttribute("data-rows")),
  });
  const until = Date.now() + T;
  let last = await read();
  let since = Date.now();
  while (Date.now() < until) {
    await page.waitForTimeout(50);
    const now = await read();
    if (now.cols !== last.cols || now.rows !== last.rows) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= 400) return now;
  }
  throw new Error(`the terminal's size never settled (last ${JSON.stringify(last)})`);
}

const NAME = "terminal: echo, resize → stty size, closing the tab ends the shell";

/** The whole scenario, against one hub and one agent. */
async function terminalEndToEnd(browser: Browser): Promise<void> {
  const hub = await startHub();
  const dir = await Deno.makeTempDir({ prefix: "fleet-e2e-term-" });
  const token = (await hub.admin.createToken({ kind: "node", node_id: NODE })).token;
  const agent = startAgent({
    hub: hub.url,
    token,
    stateDir: join(dir, "state"),
    interval: "1s",
    args: ["--jobs", "off", "--control", "on"],
  });
  const g = await newPage(browser, hub.url);
  const csp: string[] = [];
  g.page.on("console", (msg) => {
    if (/Content.Security.Policy/i.test(msg.text())) csp.push(msg.text());
  });
  const pids: number[] = [];
  let v: GuardedPage | undefined;
  try {
    await waitControl(hub.admin, NODE);
    const { page } = g;
    await login(page, hub.adminToken);

    // Open the terminal from the node's panel.
    const card = page.locator(`[data-testid=node-card][data-node-id="${NODE}"]`);
    await card.waitFor({ timeout: T });
    await card.click();
    const button = page.locator("[data-testid=action-terminal]");
    await button.waitFor({ timeout: T });
    await page.locator("[data-testid=action-terminal]:not([disabled])").waitFor({ timeout: T });
    await button.click();
    await page.locator("[data-testid=terminal-dock]").waitFor({ timeout: T });
    await page.locator(`${FRONT}[data-state=ready]`).waitFor({ timeout: T });
    const tab = page.locator(`[data-testid=terminal-tab][data-node-id="${NODE}"]`);
    assert.equal(await tab.count(), 1);
    assert.equal(await tab.getAttribute("data-state"), "ready");

    // Type into xterm (it has the keyboard once ready).
    pids.push(await shellPid(page, "pid-a"));
    assert.ok(processAlive(pids[0]), `the shell ${pids[0]} runs on this machine`);
    await run(page, "echo fleet-$((6*7))");
    await waitScreen(page, /^fleet-42$/m);

    // Resize the page: xterm refits, the shell learns the new size.
    const before = await settledSize(page);
    assert.ok(before.cols > 20 && before.rows > 5, JSON.stringify(before));
    await page.setViewportSize({ width: 1100, height: 460 });
    const after = await settledSize(page);
    assert.notEqual(after.cols, before.cols, "narrower page, fewer columns");
    assert.notEqual(after.rows, before.rows, "shorter page, fewer rows");
    assert.equal(await page.locator(`${FRONT} .xterm-rows > div`).count(), after.rows);
    await run(page, "echo S=$(stty size)");
    const [, rows, cols] = await waitScreen(page, /^S=(\d+) (\d+)$/m);
    assert.deepEqual({ rows: Number(rows), cols: Number(cols) }, after, "stty size = xterm");

    // A second terminal on the same node from the canvas menu: a second tab, its own shell.
    await page.setViewportSize({ width: 1600, height: 900 });
    await card.click({ button: "right" });
    await page.locator("[data-testid=menu-terminal]").click();
    await tab.nth(1).waitFor({ timeout: T });
    assert.equal(await tab.count(), 2);
    await page.locator(`${FRONT}[data-state=ready]`).waitFor({ timeout: T });
    pids.push(await shellPid(page, "pid-b"));
    assert.notEqual(pids[1], pids[0]);
    await run(page, "echo fleet-$((6*7)) from tab two");
    await waitScreen(page, /^fleet-42 from tab two$/m);
    await screenshot(page, "terminal");

    // Closing a tab ends its shell; the other one lives on.
    await tab.nth(1).locator("[data-testid=terminal-tab-close]").click();
    await waitGone(pids[1], "the second tab's shell");
    assert.equal(await tab.count(), 1);
    assert.ok(processAlive(pids[0]), "the first tab's shell still runs");
    await page.locator(`${FRONT}[data-state=ready]`).waitFor({ timeout: T });
    await tab.first().locator("[data-testid=terminal-tab-close]").click();
    await waitGone(pids[0], "the first tab's shell");
    await page.locator("[data-testid=terminal-dock]").waitFor({ state: "detached", timeout: T });

    assert.deepEqual(csp, [], "the CSP blocked something");
    g.assertClean();

    // A viewer sees no terminal controls, and the pop-out route tells them why.
    const viewerToken = (await hub.admin.createToken({ kind: "viewer", name: "wall" })).token;
    v = await newPage(browser, hub.url);
    await login(v.page, viewerToken);
    const vcard = v.page.locator(`[data-testid=node-card][data-node-id="${NODE}"]`);
    await vcard.click();
    await v.page.locator(`[data-testid=node-panel][data-node-id="${NODE}"]`).waitFor({
      timeout: T,
    });
    await vcard.click({ button: "right" });
    await v.page.locator("[data-testid=context-menu]").waitFor({ timeout: T });
    for (const testid of ["action-terminal", "menu-terminal", "terminal-dock"]) {
      assert.equal(await v.page.locator(`[data-testid=${testid}]`).count(), 0, testid);
    }
    await v.page.goto(`${hub.url}/#/terminal/${NODE}`);
    await v.page.reload();
    await v.page.locator("[data-testid=terminal-popout-denied]").waitFor({ timeout: T });
    assert.equal(await v.page.locator("[data-testid=terminal-pane]").count(), 0);
    v.assertClean();
  } finally {
    await v?.close();
    await g.close();
    await agent.stop();
    await hub.stop();
    for (const pid of pids) {
      if (processAlive(pid)) Deno.kill(pid, "SIGKILL");
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (SCRIPT_MISSING) Deno.test({ name: NAME, ignore: true, fn() {} });
else browserTest(NAME, terminalEndToEnd);
