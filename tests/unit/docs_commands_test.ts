/** The README's command tables and each program's module doc list the commands it really has. */
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = join(import.meta.dirname!, "../..");

/** Command names of a program: the lines of its HELP's "Commands:" block. */
function helpCommands(source: string): string[] {
  const block = source.slice(source.indexOf("Commands:\n"));
  const lines = block.slice(0, block.indexOf("\n\n")).split("\n").slice(1);
  return lines.map((l) => /^ {2}([a-z]+)\s/.exec(l)?.[1]).filter((c): c is string => !!c);
}

for (
  const [program, file] of [["fleet-hub", "hub/main.ts"], ["fleet-agent", "agent/main.ts"]]
) {
  Deno.test(`${program}: README table and module doc name every command`, async () => {
    const source = await Deno.readTextFile(join(ROOT, file));
    const commands = helpCommands(source);
    assert.ok(commands.length >= 5, `parsed ${commands.join(",")}`);
    const readme = await Deno.readTextFile(join(ROOT, "README.md"));
    const start = readme.indexOf(`### \`${program}\``);
    const next = readme.indexOf("\n### ", start + 1);
    const section = readme.slice(start, next < 0 ? undefined : next);
    const moduleDoc = source.slice(0, source.indexOf("*/"));
    for (const c of commands) {
      assert.ok(section.includes(`| \`${c}`), `README's ${program} table lacks ${c}`);
      assert.ok(moduleDoc.includes(`\`${c}\``), `${file}'s module doc lacks ${c}`);
    }
  });
}
