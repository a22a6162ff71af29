/**
 * Reads a YAML config file against a zod schema and reports every problem with the file name,
 * the line and the key, e.g. `fleet.yml:7: hub.prot: unknown key (allowed: port, host, …)`.
 * Used by the hub (`fleet.yml`) and the agent (`/etc/fleet/agent.yml`).
 *
 * @module
 */
import { isMap, isPair, isScalar, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";

/** A config file that cannot be used; `message` lists each problem on its own line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Issue = z.core.$ZodIssue;

function lineOf(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  path: readonly PropertyKey[],
  key?: string,
): number | undefined {
  // Walk up the path until a node with a source range is found.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as unknown[], true);
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (range) return counter.linePos(range[0]).line;
    }
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (range) return counter.linePos(range[0]).line;
  }
  return undefined;
}

function describe(issue: Issue): { keys: string[]; text: string }[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => ({ keys: [k], text: "unknown key" }));
  }
  return [{ keys: [], text: issue.message }];
}

/**
 * Parses `text` as YAML and validates it with `schema`.
 *
 * @example
 * ```ts
 * const cfg = parseYamlConfig(await Deno.readTextFile("fleet.yml"), "fleet.yml", HubFile);
 * ```
 * @throws {ConfigError} naming the file, line and key of every problem.
 */
export function parseYamlConfig<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
): z.infer<S> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const line = counter.linePos(e.pos[0]).line;
        return `${file}:${line}: ${e.message.split("\n")[0]}`;
      }).join("\n"),
    );
  }
  const value = doc.toJS() ?? {};
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const lines: string[] = [];
  for (const issue of result.error.issues) {
    for (const { keys, text } of describe(issue)) {
      const path = [...issue.path, ...keys];
      const line = lineOf(doc, counter, issue.path, keys[0]);
      const where = line === undefined ? file : `${file}:${line}`;
      lines.push(`${where}: ${path.map(String).join(".") || "(top level)"}: ${text}`);
    }
  }
  throw new ConfigError(lines.join("\n"));
}
