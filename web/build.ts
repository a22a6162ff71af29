/**
 * Builds the canvas UI into `web/dist/bundle.gen.ts`, a generated module the hub imports, so the
 * UI lives inside the `fleet-hub` binary (no run-time reads of files the binary would
 * not hold). `deno bundle --platform browser --minify --code-splitting` turns `web/main.tsx` into
 * the start script plus chunks loaded on demand (the terminal's xterm.js is only fetched when a
 * terminal opens); the style sheets under `web/styles/` are bundled too, in the order of
 * {@link STYLE_SHEETS} (`deno bundle` follows the `@import`s, the vendor sheets' included); the
 * start script and the sheet are named by a hash of their content, chunks carry esbuild's content
 * hash, so the hub serves all of them with a year-long cache.
 *
 * Usage: deno run -A web/build.ts [--quiet] [--dev]
 *
 * @module
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const WEB = dirname(fileURLToPath(import.meta.url));
const OUT = join(WEB, "dist");
/** The budget of the script a browser must load before the UI shows. */
export const JS_BUDGET_BYTES = 500 * 1024;
/**
 * Every style sheet, in cascade order: the npm packages' sheets (resolved through the import map),
 * then `web/styles/`: base (theme, element defaults, shared keyframes, text helpers), ui (one
 * sheet per UI part), views (one sheet per view or part of a view). A sheet styles only its own
 * part; a later sheet never restates an earlier sheet's rule.
 */
export const STYLE_SHEETS: readonly string[] = [
  "@xterm/xterm/css/xterm.css",
  "base/theme.css",
  "base/elements.css",
  "base/keyframes.css",
  "base/utilities.css",
  "ui/buttons.css",
  "ui/forms.css",
  "ui/marks.css",
  "ui/state_chip.css",
  "ui/feedback.css",
  "ui/table.css",
  "ui/modal.css",
  "ui/filter_bar.css",
  "ui/sparkline.css",
  "ui/history_chart.css",
  "views/shell.css",
  "views/login.css",
  "views/canvas.css",
  "views/canvas_node_card.css",
  "views/canvas_overlays.css",
  "views/node_panel.css",
  "views/node_panel_sections.css",
  "views/node_panel_live.css",
  "views/node_panel_hardware.css",
  "views/node_panel_containers.css",
  "views/node_actions.css",
  "views/container_logs.css",
  "views/clusters.css",
  "views/roamers.css",
  "views/jobs.css",
  "views/job_detail.css",
  "views/terminal.css",
  "views/exec.css",
  "views/exec_composer.css",
  "views/exec_history.css",
  "views/audit.css",
  "views/network.css",
  "views/network_scans.css",
  "views/alerts.css",
  "views/swarm.css",
  "views/backups.css",
];

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    throw new Error(`deno ${args[0]} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** The entry script and every chunk, by file name. */
async function bundle(minify: boolean): Promise<{ entry: string; chunks: Map<string, string> }> {
  const dir = join(OUT, "out");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await run([
    "bundle",
    "--quiet",
    "--platform",
    "browser",
    "--code-splitting",
    ...(minify ? ["--minify"] : []),
    "--outdir",
    dir,
    join(WEB, "main.tsx"),
  ]);
  const chunks = new Map<string, string>();
  let entry = "";
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".js")) continue;
    const text = await Deno.readTextFile(join(dir, e.name));
    if (e.name === "main.js") entry = text;
    else chunks.set(e.name, text);
  }
  if (!entry) throw new Error(`deno bundle wrote no main.js into ${dir}`);
  return { entry, chunks };
}

/** The style sheets of {@link STYLE_SHEETS}, bundled into one, without comments or indentation. */
async function styles(): Promise<string> {
  const dir = join(WEB, "styles");
  const listed = new Set(STYLE_SHEETS);
  for await (const file of cssFiles(dir)) {
    if (!listed.has(file)) {
      throw new Error(`web/styles/${file} is not in STYLE_SHEETS (web/build.ts)`);
    }
  }
  // One generated entry of @imports: the list above is the order, deno bundle reads the files.
  const entry = join(OUT, "styles.gen.css");
  const imports = STYLE_SHEETS.map((s) =>
    `@import ${JSON.stringify(s.startsWith("@") ? s : `../styles/${s}`)};\n`
  );
  await Deno.writeTextFile(entry, imports.join(""));
  const dist = join(OUT, "css");
  await Deno.remove(dist, { recursive: true }).catch(() => {});
  // Not minified by esbuild, which rewrites values (rgba → hex rounds the alpha): the sheets stay
  // as written, less comments and indentation (bytes on every load; no strings hold "/*").
  await run([
    "bundle",
    "--quiet",
    "--platform",
    "browser",
    "--outdir",
    dist,
    entry,
  ]);
  const css = await Deno.readTextFile(join(dist, "styles.gen.css"));
  // esbuild prints long values and selector lists over several lines: put them back on one.
  return css.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\n\s+/g, "\n").replace(/([,(:])\n/g, "$1 ")
    .trim();
}

/** Paths of the `.css` files under `dir`, relative to it, with `/` separators. */
async function* cssFiles(dir: string, prefix = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const path = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) yield* cssFiles(dir, path);
    else if (e.isFile && e.name.endsWith(".css")) yield path;
  }
}

/** Sizes of what was built. */
export interface WebBuild {
  /** The start script. */
  js: number;
  /** Every chunk loaded on demand, together. */
  lazy: number;
  css: number;
  file: string;
}

/** Builds the bundle and writes the generated module. */
export async function buildWeb(options: { minify?: boolean } = {}): Promise<WebBuild> {
  await Deno.mkdir(OUT, { recursive: true });
  const minify = options.minify ?? true;
  // The script first: on a fresh machine it downloads the npm packages the vendor sheets come from.
  const { entry, chunks } = await bundle(minify);
  const css = await styles();
  // Chunks the start script imports statically load with it, so they count against the budget.
  let initial = entry.length;
  for (const [name, text] of chunks) {
    if (
      new RegExp(`from"\\./${name.replace(".", "\\.")}"|from "\\./${name.replace(".", "\\.")}"`)
        .test(entry)
    ) {
      initial += text.length;
    }
  }
  if (minify && initial > JS_BUDGET_BYTES) {
    throw new Error(
      `the UI's start script is ${initial} bytes, over the ${JS_BUDGET_BYTES} budget`,
    );
  }
  const file = join(OUT, "bundle.gen.ts");
  // Each asset is stored gzipped, in base64: the hub sends those bytes as they are to browsers
  // (all take gzip) and holds ~a quarter of the text in memory.
  const assets: [string, string][] = [
    [`app.${hash(entry)}.js`, entry],
    [`app.${hash(css)}.css`, css],
    ...chunks,
  ];
  const gzip = Object.fromEntries(
    assets.map(([name, text]) => [name, gzipSync(text, { level: 9 }).toString("base64")]),
  );
  const body = `// Generated by web/build.ts — do not edit, do not commit.
/** The canvas UI, embedded in the hub. */
export const WEB_BUNDLE: {
  jsName: string;
  cssName: string;
  /** Every asset (start script, style sheet, chunks loaded on demand): its gzip bytes, base64. */
  gzip: Record<string, string>;
} = {
  jsName: ${JSON.stringify(assets[0][0])},
  cssName: ${JSON.stringify(assets[1][0])},
  gzip: ${JSON.stringify(gzip, null, 1)},
};
`;
  // Write through a temp file so a hub starting meanwhile never imports half a module.
  await Deno.writeTextFile(`${file}.tmp`, body);
  await Deno.rename(`${file}.tmp`, file);
  const lazy = [...chunks.values()].reduce((a, t) => a + t.length, 0) - (initial - entry.length);
  return { js: initial, lazy, css: css.length, file };
}

if (import.meta.main) {
  // --dev: readable stack traces while debugging (never for a release).
  const r = await buildWeb({ minify: !Deno.args.includes("--dev") });
  if (!Deno.args.includes("--quiet")) {
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
    console.log(
      `web: ${kb(r.js)} start script, ${kb(r.lazy)} on demand, ${kb(r.css)} css → ${r.file}`,
    );
  }
}
