// The agent's argument parser (shared/args.ts) against node:util's parseArgs, which it replaces:
// the same values, or the same error code and message, on many command lines.
import assert from "node:assert/strict";
import { parseArgs as nodeParseArgs } from "node:util";
import { type ArgOption, parseArgs } from "../../shared/args.ts";

const OPTIONS: Record<string, ArgOption> = {
  help: { type: "boolean", short: "h" },
  config: { type: "string" },
  hub: { type: "string" },
  "dry-run": { type: "boolean" },
  force: { type: "boolean" },
  volumes: { type: "boolean", short: "v" },
  "node-id": { type: "string", short: "n" },
};

const LINES: string[][] = [
  [],
  ["--hub", "http://h:8765"],
  ["--hub=http://h:8765"],
  ["--hub="],
  ["--hub", ""],
  ["--hub"],
  ["--hub", "--force"],
  ["--hub", "-x"],
  ["--hub=-x"],
  ["--hub", "a", "--hub", "b"],
  ["-h"],
  ["-hv"],
  ["-vh"],
  ["-n", "node1"],
  ["-nnode1"],
  ["-n"],
  ["-hn", "x"],
  ["-x"],
  ["--nope"],
  ["--nope=1"],
  ["--force=yes"],
  ["--force", "--dry-run"],
  ["positional"],
  ["--force", "positional"],
  ["--"],
  ["--", "x"],
  ["--force", "--"],
  ["-"],
  ["--config", "/etc/fleet/agent.yml", "--help"],
  ["--node-id", "a=b"],
  ["--hub", "http://h", "extra"],
];

function run(
  f: () => { values: unknown },
): { ok: true; values: unknown } | { ok: false; code: string; message: string } {
  try {
    return { ok: true, values: { ...f().values as object } };
  } catch (error) {
    const e = error as TypeError & { code: string };
    return { ok: false, code: e.code, message: e.message };
  }
}

Deno.test("parseArgs matches node:util on every command line", () => {
  for (const args of LINES) {
    const ours = run(() => parseArgs({ args, options: OPTIONS, allowPositionals: false }));
    const node = run(() => nodeParseArgs({ args, options: OPTIONS, allowPositionals: false }));
    assert.deepEqual(ours, node, JSON.stringify(args));
  }
});
