/**
 * Headless Debian Chromium for the e2e tests and the canvas bench, driven by `playwright-core`
 * (never `playwright install`; TESTING.md "Web UI bundle and browser tests").
 *
 * - {@link launchBrowser} starts `/usr/bin/chromium` with the flags of TESTING.md.
 * - {@link newPage} opens a fresh context on the hub and guards it: every request to a host other
 *   than 127.0.0.1 / localhost is aborted and recorded in `external` (tests assert it stays
 *   empty); uncaught page errors, the app's console errors and 500 answers are collected in
 *   `errors` (`assertClean()` fails on either list); answers with a status the hub documents
 *   (a viewer's 403, a disconnected agent's 503, the 401 of the session check) go to
 *   `failedLoads` instead.
 * - {@link login} logs in through the form; {@link screenshot} writes `tests/out/<name>.png`.
 *
 * Missing Chromium: {@link CHROMIUM_MISSING} says so and the caller skips loudly, unless CI=true
 * where it fails (CI installs it), as tests/helpers/dockerd.ts does for Docker.
 *
 * @module
 */
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { ROOT } from "./hub.ts";

export type { Browser, BrowserContext, Page };

/** Debian's Chromium. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Why browser tests cannot run here (`undefined` when they can). */
export const CHROMIUM_MISSING: string | undefined = (() => {
  try {
    Deno.statSync(CHROMIUM_PATH);
    return undefined;
  } catch {
    return `${CHROMIUM_PATH} is missing; install with: apt-get install -y chromium`;
  }
})();

/** True when browser tests must be skipped (missing Chromium outside CI). */
export const SKIP_BROWSER: boolean = CHROMIUM_MISSING !== undefined &&
  Deno.env.get("CI") !== "true";

if (SKIP_BROWSER) console.warn(`SKIPPING browser tests: ${CHROMIUM_MISSING}`);

/** Where screenshots go (git-ignored; CI keeps them as artifacts). */
export const OUT_DIR: string = join(ROOT, "tests/out");

/** Chromium flags of TESTING.md: no sandbox (containers), no GPU, nothing phoning home. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Launches headless Chromium; `extraArgs` are appended (the bench adds frame-rate flags). */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  if (CHROMIUM_MISSING) throw new Error(CHROMIUM_MISSING);
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    headless: true,
    timeout: 30_000,
  });
}

/** A page on the hub with its guards. */
export interface GuardedPage {
  page: Page;
  context: BrowserContext;
  /** Requests aborted because they left 127.0.0.1 / localhost (method + URL). */
  external: string[];
  /** Uncaught page errors, console errors of the app and 500 answers: each fails the test. */
  errors: string[];
  /** Resources the hub answered with a documented error status (401, 403, 404, 503…). */
  failedLoads: string[];
  /** Console errors matching `pattern` are expected from now on (e.g. a refused write's 403). */
  allowConsoleError(pattern: RegExp): void;
  /** Throws when a request left the machine or the page had an error (call at the end). */
  assertClean(): void;
  close(): Promise<void>;
}

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Sorts a console error: `"error"` fails the test, `"load"` is a resource the hub answered with
 * an error status it documents (kept in `failedLoads`), `"ignore"` is expected.
 *
 * Chromium logs every HTTP error answer as "Failed to load resource: … status of N". The UI
 * meets some on purpose and shows them (a bad token's 401, a viewer's 403, a node whose agent
 * is not connected answering 503): those are `"load"`. A 500 is always a hub bug: `"error"`.
 * The 401 of the session check before logging in is `"ignore"`.
 */
function classify(text: string, url: string | undefined): "error" | "load" | "ignore" {
  const status = /Failed to load resource: the server responded with a status of (\d+)/.exec(text);
  if (!status) return "error";
  if (status[1] === "401" && (url ?? "").includes("/api/v1/session")) return "ignore";
  return status[1] === "500" ? "error" : "load";
}

/**
 * Opens a new context and page (1600×900 unless told) with the guards on; navigates to `hubUrl`
 * when given.
 */
export async function newPage(
  browser: Browser,
  hubUrl?: string,
  options: { width?: number; height?: number } = {},
): Promise<GuardedPage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1600, height: options.height ?? 900 },
    deviceScaleFactor: 1,
  });
  const external: string[] = [];
  const errors: string[] = [];
  const failedLoads: string[] = [];
  const allowed: RegExp[] = [];
  await context.route("**/*", (route) => {
    const req = route.request();
    const url = new URL(req.url());
    const local = (url.protocol === "http:" || url.protocol === "https:" ||
      url.protocol === "ws:" || url.protocol === "wss:") && LOCAL_HOSTS.has(url.hostname);
    if (local || url.protocol === "data:" || url.protocol === "blob:") return route.continue();
    external.push(`${req.method()} ${req.url()}`);
    return route.abort("blockedbyclient");
  });
  // WebSockets are not routed by context.route: record any that leave the machine.
  context.on("page", (p) => watchSockets(p, external));
  const page = await context.newPage();
  watchSockets(page, external);
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.stack ?? err.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    const url = msg.location().url;
    if (allowed.some((re) => re.test(text))) return;
    const kind = classify(text, url);
    if (kind === "load") failedLoads.push(`${text} (${url})`);
    else if (kind === "error") errors.push(`console.error: ${text} (${url})`);
  });
  if (hubUrl) await page.goto(hubUrl, { waitUntil: "domcontentloaded" });
  return {
    page,
    context,
    external,
    errors,
    failedLoads,
    allowConsoleError: (pattern) => void allowed.push(pattern),
    assertClean() {
      if (external.length) {
        throw new Error(`requests left 127.0.0.1:\n${external.join("\n")}`);
      }
      if (errors.length) throw new Error(`errors in the page:\n${errors.join("\n")}`);
    },
    close: () => context.close(),
  };
}

function watchSockets(page: Page, external: string[]): void {
  page.on("websocket", (ws) => {
    const host = new URL(ws.url()).hostname;
    if (!LOCAL_HOSTS.has(host)) external.push(`WS ${ws.url()}`);
  });
}

/** Logs in through the form and waits (bounded) for the app shell. */
export async function login(page: Page, token: string, timeoutMs = 15_000): Promise<void> {
  const input = page.locator("input[name=token]");
  await input.waitFor({ state: "visible", timeout: timeoutMs });
  await input.fill(token);
  await page.locator("button[type=submit]").click();
  await page.locator("[data-testid=who]").waitFor({ state: "visible", timeout: timeoutMs });
}

/** Saves a PNG of the page to `tests/out/<name>.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir(OUT_DIR, { recursive: true });
  const path = join(OUT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Top-left and size of an element in page pixels, or null when it is not laid out. */
export async function box(
  page: Page,
  selector: string,
): Promise<{ x: number; y: number; width: number; height: number } | null> {
  return await page.locator(selector).first().boundingBox();
}

/**
 * Defines a browser test: skipped (loudly, once) when Chromium is missing outside CI; the browser
 * is launched for the test and closed after it, whatever happens.
 *
 * @example
 * ```ts
 * browserTest("the canvas shows every node", async (browser) => { ... });
 * ```
 */
export function browserTest(name: string, fn: (browser: Browser) => Promise<void>): void {
  Deno.test({
    name,
    ignore: SKIP_BROWSER,
    fn: async () => {
      const browser = await launchBrowser();
      try {
        await fn(browser);
      } finally {
        await browser.close();
      }
    },
  });
}

/** A DOM element as in-page callbacks see it (the tests are type-checked without lib.dom). */
export interface PageElement {
  readonly complete?: boolean;
  readonly dataset: Record<string, string | undefined>;
  readonly textContent: string | null;
  readonly style: { transform: string };
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { left: number; top: number; right: number; bottom: number };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement> & { length: number };
}

/**
 * The page's global object inside `page.evaluate` callbacks:
 * `const w = globalThis as unknown as PageWindow;` (casts vanish when the callback is serialized).
 */
export interface PageWindow {
  document: {
    body: PageElement;
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): Iterable<PageElement> & { length: number };
  };
  MutationObserver: new (cb: () => void) => {
    observe(
      el: PageElement,
      options: {
        attributes?: boolean;
        attributeFilter?: string[];
        subtree?: boolean;
        childList?: boolean;
        characterData?: boolean;
      },
    ): void;
  };
  requestAnimationFrame(cb: (t: number) => void): number;
  // deno-lint-ignore no-explicit-any
  [key: string]: any;
}
