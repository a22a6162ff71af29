/**
 * The Swarm view in Chromium against a real hub driving a real dockerd (a single-node swarm and a
 * loopback registry, tests/helpers/dockerd.ts):
 *
 * 0. Before `docker swarm init` the view says the engine is not a swarm manager (409) and how to
 *    fix it; after it, the view recovers by itself.
 * 1. Catalog: a new definition with broken YAML shows the error on its line as it is typed; with a
 *    bad value the hub refuses it and the editor shows that error on its line; fixed, "Save and
 *    deploy" registers and deploys it, and the pane shows the service converge.
 * 1b. Build: a definition with a build context is built and pushed from its Build dialog; the
 *    engine's output streams into it, its steps end done, the registry holds the tag and the
 *    Builds section lists the run.
 * 2. Services: the row shows 1/1; opened, it lists its task running; Scale to 3 shows the scale
 *    in flight, then the running count and the task rows grow to 3 without a reload (the task
 *    phases seen on the way are recorded by a MutationObserver in the page).
 * 3. Batch tasks: a one-shot service exiting 1 shows its task failed, red, with exit 1 and
 *    Docker's error; one exiting 0 shows its task grey as "stopped".
 * 4. Nodes and Registry tabs list the engine's node (manager, active) and the pushed image.
 * 5. Canvas: the fleet node named like the swarm node shows its swarm role; "Drain (swarm)" from
 *    its context menu (confirmed) drains it in the engine and marks the card drained; "Activate
 *    (swarm)" makes it active again.
 * 6. The registry tag is deleted from the Registry tab (confirmed); the registry no longer has it.
 * 7. A viewer sees services and logs but no action, and the catalog editor read-only.
 * 8. With the engine stopped, the open view says the engine does not answer (503).
 *
 * The page must stay free of page errors and of requests leaving 127.0.0.1; screenshots go to
 * tests/out/swarm-*.png.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { pushSeqs } from "../helpers/samples.ts";
import {
  DOCKER_INSTALL,
  DOCKER_MISSING,
  type Dockerd,
  removeDockerd,
  startDockerd,
} from "../helpers/dockerd.ts";
import {
  type Browser,
  launchBrowser,
  login,
  newPage,
  type Page,
  type PageWindow,
  screenshot,
  SKIP_BROWSER,
} from "../helpers/browser.ts";

const T = 30_000;
const CI = Deno.env.get("CI") === "true";
const SKIP_DOCKER = DOCKER_MISSING.length > 0 && !CI;
if (SKIP_DOCKER && !SKIP_BROWSER) {
  console.warn(
    `SKIPPING the swarm UI test: missing ${DOCKER_MISSING.join(", ")}; ${DOCKER_INSTALL}`,
  );
}

/** Waits (bounded) until the task rows of `service` have exactly `phases` (any order). */
async function tasksAre(page: Page, service: string, phases: string[]): Promise<void> {
  await page.waitForFunction(
    ({ service, want }) => {
      const { document } = globalThis as unknown as PageWindow;
      const table = document.querySelector(
        `[data-testid=task-table][data-service="${service}"]`,
      );
      if (!table) return false;
      const got = [...table.querySelectorAll("[data-testid=task-row]")]
        .map((r) => r.dataset.phase ?? "").sort();
      return JSON.stringify(got) === JSON.stringify([...want].sort());
    },
    { service, want: phases },
    { timeout: T },
  );
}

/** Types into the definition editor, replacing what it holds. */
async function typeDefinition(page: Page, yaml: string): Promise<void> {
  const area = page.locator("[data-testid=definition-yaml]");
  await area.fill(yaml);
}

Deno.test({
  name: "swarm view: deploy from the catalog, scale live, failed tasks red",
  ignore: SKIP_BROWSER || SKIP_DOCKER,
  fn: async () => {
    const browser = await launchBrowser();
    try {
      await swarmUi(browser);
    } finally {
      await browser.close();
    }
  },
});

async function swarmUi(browser: Browser): Promise<void> {
  let d: Dockerd | null = null;
  let hub: Awaited<ReturnType<typeof startHub>> | null = null;
  let projects: string | null = null;
  try {
    d = await startDockerd();
    // A build context in the hub's projects directory (COPY only: the engine has no bridge).
    projects = await Deno.makeTempDir({ prefix: "fleet-projects-" });
    await Deno.mkdir(`${projects}/hello`);
    await Deno.writeTextFile(
      `${projects}/hello/Dockerfile`,
      `FROM ${d.image}\nCOPY hello.txt /hello.txt\nCMD ["sh", "-c", "cat /hello.txt; sleep 3600"]\n`,
    );
    await Deno.writeTextFile(`${projects}/hello/hello.txt`, "hello from the build\n");
    await Deno.mkdir(`${projects}/slowb`);
    await Deno.writeTextFile(
      `${projects}/slowb/Dockerfile`,
      `FROM ${d.image}\nRUN echo slow-step-started && sleep 300\n`,
    );
    hub = await startHub({
      args: [
        "--docker-socket",
        d.socket,
        "--swarm-registry",
        `http://${d.registry}`,
        "--swarm-projects-dir",
        projects,
      ],
    });
    // A fleet node whose id is the swarm node's hostname: the hub pairs them.
    const host = await d.docker("info", "--format", "{{.Name}}");
    const nodeToken = (await hub.admin.createToken({ kind: "node", node_id: host })).token;
    await pushSeqs(hub.url, nodeToken, host, 1, 2);
    const g = await newPage(browser, `${hub.url}/#/swarm/catalog`);
    const { page } = g;
    await login(page, hub.adminToken);
    await page.locator("[data-testid=swarm-view]").waitFor({ timeout: T });

    // 0. The engine is no swarm manager yet: the view says so and how to fix it (the stored
    // catalog still shows, its writes disabled), then recovers by itself once the swarm exists.
    const down = page.locator("[data-testid=swarm-unavailable-banner]");
    await down.waitFor({ timeout: T });
    await page.locator("[data-testid=catalog-tab]").waitFor({ timeout: T });
    assert.equal(await page.locator("[data-testid=catalog-new]").isDisabled(), true);
    assert.equal(await down.getAttribute("data-status"), "409");
    assert.match(await down.innerText(), /not a swarm manager/);
    assert.match(await down.innerText(), /docker swarm init/);
    await screenshot(page, "swarm-not-manager");
    // Its own swarm port on loopback, not 0.0.0.0:2377: other engines on the machine may hold it.
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    await d.docker(
      "swarm",
      "init",
      "--advertise-addr",
      `127.0.0.1:${port}`,
      "--listen-addr",
      `127.0.0.1:${port}`,
    );
    await page.locator("[data-testid=swarm-health]").waitFor({ timeout: T });
    await down.waitFor({ state: "detached", timeout: T });
    await page.locator("[data-testid=catalog-tab]").waitFor({ timeout: T });

    // 1. A new definition: a bad replicas value is named on its line, then fixed and deployed.
    await page.locator("[data-testid=catalog-new]").click();
    const good = [
      "name: web",
      `image: ${d.image}`,
      "replicas: 1",
      'command: [sh, -c, "echo up; sleep 3600"]',
      "env:",
      "  MODE: e2e",
      "",
    ].join("\n");
    // Broken YAML is caught as it is typed, on its line; nothing can be saved.
    await typeDefinition(page, good.replace('"echo up; sleep 3600"]', '"echo up; sleep 3600"'));
    const typo = page.locator("[data-testid=definition-errors] li[data-source=check]").first();
    await typo.waitFor({ timeout: T });
    assert.ok(Number(await typo.getAttribute("data-line")) >= 4, "the error names its line");
    assert.ok(await page.locator("[data-testid=catalog-save-deploy]").isDisabled());
    // A bad value: the hub refuses it, naming line 3; nothing is registered or deployed.
    await typeDefinition(page, good.replace("replicas: 1", "replicas: many"));
    await typo.waitFor({ state: "detached", timeout: T });
    await page.locator("[data-testid=catalog-save-deploy]").click();
    const err = page.locator("[data-testid=definition-errors] li[data-source=hub]").first();
    await err.waitFor({ timeout: T });
    assert.equal(await err.getAttribute("data-line"), "3", "the error names line 3 (replicas)");
    assert.match(await err.innerText(), /replicas/);
    assert.deepEqual(await hub.admin.swarmCatalog(), []);
    await screenshot(page, "swarm-catalog-error");

    await typeDefinition(page, good);
    await page.locator("[data-testid=definition-errors]").waitFor({
      state: "detached",
      timeout: T,
    });
    await page.locator("[data-testid=catalog-save-deploy]").click();
    await page.locator("[data-testid=catalog-pane][data-name=web]").waitFor({ timeout: T });
    await page.locator("[data-testid=catalog-item][data-name=web]").waitFor({ timeout: T });
    await page.waitForFunction(
      () => {
        const { document } = globalThis as unknown as PageWindow;
        return /1\/1 running/.test(
          document.querySelector("[data-testid=catalog-live]")?.textContent ?? "",
        );
      },
      undefined,
      { timeout: T },
    );
    assert.equal(
      (await hub.admin.swarmCatalogEntry("web")).deployed_version,
      1,
      "the hub deployed v1",
    );
    await screenshot(page, "swarm-catalog");

    // 1b. Build and push from the catalog: the output streams into the dialog, the steps end
    // done, and the registry holds the new tag.
    await hub.admin.swarmCatalogCreate({
      yaml: `name: hello\nimage: ${d.registry}/hello:2\nbuild_context: hello\n`,
    });
    await page.locator("[data-testid=catalog-item][data-name=hello]").click();
    await page.locator("[data-testid=catalog-build]").click();
    assert.equal(await page.locator("[data-testid=build-tag]").inputValue(), "2");
    await page.locator("[data-testid=build-start]").click();
    await page.locator("[data-testid=build-output]").waitFor({ timeout: T });
    await page.locator("[data-testid=build-state][data-state=succeeded]").waitFor({
      timeout: 60_000,
    });
    const built = await page.locator("[data-testid=build-output]").innerText();
    assert.match(built, /COPY hello\.txt/, "the build's own output is shown");
    assert.match(built, /Pushed|digest/, "and the push's");
    assert.equal(await page.locator("[data-testid=build-steps] li.done").count(), 3);
    await screenshot(page, "swarm-build");
    assert.deepEqual((await hub.admin.registryTags("hello")).tags.map((t) => t.tag), ["2"]);
    await page.keyboard.press("Escape");
    await page.locator("[data-testid=catalog-section-builds]").click();
    await page.locator("[data-testid=builds] li[data-state=succeeded]").waitFor({ timeout: T });

    // 1c. Cancel: a slow build is stopped from its dialog and ends cancelled, saying by whom.
    await hub.admin.swarmCatalogCreate({
      yaml: `name: slowb\nimage: ${d.registry}/slowb:1\nbuild_context: slowb\n`,
    });
    await page.locator("[data-testid=catalog-item][data-name=slowb]").click();
    await page.locator("[data-testid=catalog-build]").click();
    // This engine has no bridge: the RUN step runs without a network.
    await page.locator("[data-testid=build-network]").selectOption("none");
    await page.locator("[data-testid=build-start]").click();
    await page.locator("[data-testid=build-output]", { hasText: "slow-step-started" }).waitFor({
      timeout: 60_000,
    });
    await page.locator("[data-testid=build-cancel]").click();
    await page.locator("[data-testid=build-state][data-state=cancelled]").waitFor({ timeout: T });
    assert.match(
      await page.locator("[data-testid=build-state]").innerText(),
      /cancelled by admin during the build/,
    );
    assert.equal(await page.locator("[data-testid=build-cancel]").count(), 0);
    await screenshot(page, "swarm-build-cancelled");
    await page.keyboard.press("Escape");

    // 2. Services: open the row, scale 1 → 3, the tasks follow without a reload.
    await page.locator(".sw-tab[data-tab=services]").click();
    const row = page.locator("[data-testid=service-row][data-service=web]");
    await row.waitFor({ timeout: T });
    assert.equal(await row.getAttribute("data-running"), "1");
    await row.click();
    await tasksAre(page, "web", ["running"]);
    // Every phase a task row of `web` takes from now on, as the page shows it.
    await page.evaluate(() => {
      const w = globalThis as unknown as PageWindow;
      w.seenPhases = [] as string[];
      const seen = () => {
        for (const r of w.document.querySelectorAll("[data-testid=task-row]")) {
          const p = r.dataset.phase ?? "";
          if (!w.seenPhases.includes(p)) w.seenPhases.push(p);
        }
      };
      new w.MutationObserver(seen).observe(w.document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ["data-phase"],
      });
    });
    const navigations: string[] = [];
    page.on("framenavigated", (f) => navigations.push(f.url()));
    await row.locator("[data-testid=service-scale]").click();
    await page.locator("[data-testid=scale-replicas]").fill("3");
    await page.locator("[data-testid=scale-send]").click();
    await page.locator("[data-testid=service-progress]").first().waitFor({ timeout: T });
    await page.waitForFunction(
      () => {
        const { document } = globalThis as unknown as PageWindow;
        const r = document.querySelector("[data-testid=service-row][data-service=web]");
        return r?.dataset.running === "3" && r?.dataset.desired === "3";
      },
      undefined,
      { timeout: T },
    );
    await tasksAre(page, "web", ["running", "running", "running"]);
    assert.deepEqual(navigations, [], "the page was not reloaded");
    const seen = await page.evaluate(() => (globalThis as unknown as PageWindow).seenPhases);
    console.log(`task phases the page showed while scaling: ${JSON.stringify(seen)}`);
    assert.ok(seen.includes("running"));
    const live = JSON.parse(await d.docker("service", "inspect", "web"))[0];
    assert.equal(live.Spec.Mode.Replicated.Replicas, 3, "the engine runs 3 replicas");
    await screenshot(page, "swarm-services-scaled");

    // 3. One-shot services: exit 1 is failed (red, with its error), exit 0 is stopped (grey).
    for (const [name, code] of [["job-bad", 1], ["job-ok", 0]] as const) {
      await hub.admin.swarmDeploy({
        definition: {
          name,
          image: d.image,
          replicas: 1,
          command: ["sh", "-c", `echo run; exit ${code}`],
          restart_policy: { condition: "none" },
        },
      });
    }
    for (const name of ["job-bad", "job-ok"]) {
      const r = page.locator(`[data-testid=service-row][data-service=${name}]`);
      await r.waitFor({ timeout: T });
      await r.click();
    }
    await tasksAre(page, "job-bad", ["failed"]);
    await tasksAre(page, "job-ok", ["complete"]);
    const failed = page.locator(
      "[data-testid=task-table][data-service=job-bad] [data-testid=task-row]",
    );
    const chip = failed.locator("[data-testid=task-state]");
    assert.equal((await chip.innerText()).trim(), "failed");
    assert.match(await chip.getAttribute("class") ?? "", /tone-bad/);
    const color = await chip.evaluate((el) =>
      (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } })
        .getComputedStyle(el).color
    );
    const [r, gr, b] = color.match(/\d+/g)!.map(Number);
    assert.ok(r > 200 && gr < 150 && b < 150, `a failed task is red, not ${color}`);
    assert.equal((await failed.locator("[data-testid=task-exit]").innerText()).trim(), "1");
    assert.match(await failed.locator("[data-testid=task-error]").innerText(), /exit|1/);
    const ok = page.locator(
      "[data-testid=task-table][data-service=job-ok] [data-testid=task-state]",
    );
    assert.equal((await ok.innerText()).trim(), "stopped");
    assert.match(await ok.getAttribute("class") ?? "", /tone-off/);
    assert.ok(
      await page.locator(
        "[data-testid=service-row][data-service=job-bad] [data-testid=failed-count]",
      )
        .isVisible(),
      "the row counts the failed task",
    );
    await screenshot(page, "swarm-services-tasks");

    // 4. The node and the registry.
    await page.locator(".sw-tab[data-tab=nodes]").click();
    const node = page.locator("[data-testid=swarm-node-row]").first();
    await node.waitFor({ timeout: T });
    assert.equal(await node.getAttribute("data-availability"), "active");
    assert.match(await node.innerText(), /leader|manager/);
    await screenshot(page, "swarm-nodes");
    await page.locator(".sw-tab[data-tab=registry]").click();
    await page.locator("[data-testid=repo-item][data-repo='fleet/busybox']").waitFor({
      timeout: T,
    });
    await page.locator("[data-testid=tag-row][data-tag='1']").waitFor({ timeout: T });
    await screenshot(page, "swarm-registry");

    // 5. The canvas card: role, drain and activate from its menu.
    await page.locator(".navitem[data-view=canvas]").click();
    const card = page.locator(`[data-testid=node-card][data-node-id="${host}"]`);
    await card.locator("[data-testid=swarm-role]").waitFor({ timeout: T });
    assert.equal((await card.locator("[data-testid=swarm-role]").innerText()).trim(), "leader");
    await card.click({ button: "right" });
    await page.locator("[data-testid=menu-swarm-drain]").click();
    await page.locator("[data-testid=confirm-ok]").click();
    await card.locator("[data-testid=swarm-drained]").waitFor({ timeout: T });
    assert.match(await card.getAttribute("class") ?? "", /swarm-drain/);
    assert.equal(
      await d.docker("node", "inspect", "self", "--format", "{{.Spec.Availability}}"),
      "drain",
    );
    await screenshot(page, "swarm-canvas-drained");
    await card.click({ button: "right" });
    await page.locator("[data-testid=menu-swarm-activate]").click();
    await card.locator("[data-testid=swarm-drained]").waitFor({ state: "detached", timeout: T });
    assert.equal(
      await d.docker("node", "inspect", "self", "--format", "{{.Spec.Availability}}"),
      "active",
    );

    // Last, as the services need the image no more: the registry tag is deleted from its tab.
    await page.locator(".navitem[data-view=swarm]").click();
    await page.locator(".sw-tab[data-tab=registry]").click();
    const tag = page.locator("[data-testid=tag-row][data-tag='1']");
    await tag.locator("[data-testid=tag-delete]").click();
    await page.locator("[data-testid=confirm-ok]").click();
    await tag.waitFor({ state: "detached", timeout: T });
    assert.deepEqual((await hub.admin.registryTags("fleet/busybox")).tags, []);

    g.assertClean();
    await g.close();

    // 7. A viewer sees the services, their tasks and logs, but no action and a read-only editor.
    const viewerToken = (await hub.admin.createToken({ kind: "viewer", name: "wall" })).token;
    const v = await newPage(browser, `${hub.url}/#/swarm/services`);
    await login(v.page, viewerToken);
    const vrow = v.page.locator("[data-testid=service-row][data-service=web]");
    await vrow.waitFor({ timeout: T });
    assert.equal(await vrow.locator("[data-testid=service-logs]").count(), 1);
    for (const b of ["service-scale", "service-update", "service-restart", "service-stop"]) {
      assert.equal(await v.page.locator(`[data-testid=${b}]`).count(), 0, `a viewer has no ${b}`);
    }
    await v.page.locator(".sw-tab[data-tab=catalog]").click();
    await v.page.locator("[data-testid=catalog-item][data-name=web]").click();
    await v.page.locator("[data-testid=catalog-pane][data-name=web]").waitFor({ timeout: T });
    assert.ok(
      await v.page.locator("[data-testid=definition-yaml]").getAttribute("readonly") !== null,
    );
    assert.equal(await v.page.locator("[data-testid=catalog-deploy]").count(), 0);
    assert.equal(await v.page.locator("[data-testid=catalog-new]").count(), 0);

    // 8. The engine goes away: the open view says the engine does not answer (503); the
    // catalog, stored in the hub's database, still shows its definitions.
    await removeDockerd(d);
    d = null;
    const gone = v.page.locator("[data-testid=swarm-unavailable-banner][data-status='503']");
    await gone.waitFor({ timeout: T });
    assert.match(await gone.innerText(), /does not answer/);
    assert.match(await gone.innerText(), /--docker-socket/);
    await v.page.locator("[data-testid=catalog-pane][data-name=web]").waitFor({ timeout: T });
    await screenshot(v.page, "swarm-catalog-no-engine");
    // Other tabs say what is missing and how to fix it.
    await v.page.locator(".sw-tab[data-tab=services]").click();
    const full = v.page.locator("[data-testid=swarm-unavailable][data-status='503']");
    await full.waitFor({ timeout: T });
    assert.match(await full.innerText(), /FLEET_DOCKER_SOCKET/);
    v.assertClean();
    await v.close();
  } finally {
    await hub?.stop();
    if (d) await removeDockerd(d);
    if (projects) await Deno.remove(projects, { recursive: true }).catch(() => {});
  }
}
