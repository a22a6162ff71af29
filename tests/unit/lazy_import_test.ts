/**
 * The agent's start-up module graph holds only what every run needs: the code it loads on use
 * (`lazyImport`) stays out of the graph `deno run` builds first, and `deno compile` embeds each
 * such module because `bootstrap/dist.ts` names it.
 */
import assert from "node:assert/strict";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AGENT_LAZY_MODULES, TARGETS } from "../../bootstrap/dist.ts";
import { lazyImport } from "../../shared/lazy_import.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CALL = /lazyImport<[^>]*>\(\s*import\.meta\.url,\s*"([^"]+)",?\s*\)/g;

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* sources(path);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield path;
  }
}

/** Repository paths of the modules the `lazyImport` calls under `dirs` name (node: built-ins aside). */
async function lazyTargets(dirs: string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const dir of dirs) {
    for await (const file of sources(join(ROOT, dir))) {
      const text = await Deno.readTextFile(file);
      if (file.endsWith("shared/lazy_import.ts")) continue;
      const calls = [...text.matchAll(CALL)];
      // A call this pattern misses (a computed specifier) would escape the include list.
      assert.equal(
        calls.length,
        text.split("lazyImport<").length - 1,
        `${relative(ROOT, file)}: every lazyImport names its module as a string literal`,
      );
      for (const [, spec] of calls) {
        if (spec.startsWith("node:")) continue;
        const target = resolve(join(file, ".."), spec);
        await Deno.stat(target); // throws when the named module does not exist
        found.add(relative(ROOT, target));
      }
    }
  }
  return [...found].sort();
}

Deno.test("dist: every module the agent loads with lazyImport is embedded with --include", async () => {
  assert.deepEqual(await lazyTargets(["agent", "shared"]), [...AGENT_LAZY_MODULES].sort());
  for (const t of TARGETS.filter((t) => t.program === "fleet-agent")) {
    assert.deepEqual(t.include, AGENT_LAZY_MODULES);
  }
  // The hub loads its lazy code with literal import()s, which deno compile follows by itself.
  assert.deepEqual(await lazyTargets(["hub"]), []);
});

Deno.test("the agent's start-up graph has no npm package, no node: module, no lazily loaded code", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", join(ROOT, "agent/main.ts")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: { code?: { specifier: string } }[] }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  // What `deno run` loads before the agent starts: code dependencies, static or literal dynamic.
  const loaded = new Set<string>();
  const todo = [...info.roots];
  while (todo.length) {
    const s = todo.pop()!;
    if (loaded.has(s)) continue;
    loaded.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) if (d.code) todo.push(d.code.specifier);
  }
  const paths = [...loaded].map((s) =>
    s.startsWith("file:") ? relative(ROOT, fileURLToPath(s)) : s
  );
  assert.deepEqual(paths.filter((p) => p.startsWith("npm:") || p.startsWith("node:")), []);
  assert.deepEqual(paths.filter((p) => AGENT_LAZY_MODULES.includes(p)), []);
  assert.ok(
    paths.includes("agent/collect/proc.ts") && paths.includes("agent/push.ts"),
    paths.join(),
  );
});

Deno.test("lazyImport resolves against the caller's module and loads it once", async () => {
  const a = await lazyImport<typeof import("../../shared/base64.ts")>(
    import.meta.url,
    "../../shared/base64.ts",
  );
  const b = await lazyImport<typeof import("../../shared/base64.ts")>(
    import.meta.url,
    "../../shared/base64.ts",
  );
  assert.equal(a, b);
  assert.equal(a.fromBase64(a.toBase64(new Uint8Array([1, 2, 250]))).join(), "1,2,250");
  await assert.rejects(lazyImport(import.meta.url, "./no_such_module.ts"));
});
