/**
 * Reads a YAML config file against a zod schema and reports every problem with the file name,
 * the line and the key, e.g. `fleet.yml:7: hub.prot: unknown key (allowed: port, host, …)`.
 * Used by the hub (`fleet.yml`) and the agent (`/etc/fleet/agent.yml`).
 *
 * Hostile input is refused before it can cost memory: files larger than
 * {@link MAX_CONFIG_BYTES}, and anchors/aliases that expand to more than
 * {@link MAX_ALIAS_VALUES} values (a "billion laughs" file) — both as a {@link ConfigError}.
 *
 * @module
 */
import {
  isAlias,
  isCollection,
  isMap,
  isNode,
  isPair,
  isScalar,
  LineCounter,
  parseDocument,
} from "yaml";
import type { z } from "zod";
import { ConfigError } from "./config_error.ts";
import { MAX_CONFIG_BYTES, readConfigFile, tooLarge } from "./read_config.ts";

export { ConfigError };

/** Most values that aliases (`*name`) may add to a file in total, counted expanded. */
export const MAX_ALIAS_VALUES = 10_000;

export { MAX_CONFIG_BYTES, readConfigFile };

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

/**
 * Finds the first alias that has no anchor before it, sits inside the node it names (a cycle),
 * or makes aliases add more than {@link MAX_ALIAS_VALUES} values in total. Walks with its own
 * stack, so a deeply nested file cannot overflow the call stack here.
 */
function aliasProblem(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  file: string,
): string | undefined {
  type Anchor = { done: boolean; size: number };
  type Frame = { kids: readonly unknown[]; next: number; size: number; anchor?: Anchor };
  const latest = new Map<string, Anchor>();
  const stack: Frame[] = [{ kids: [doc.contents], next: 0, size: 0 }];
  let added = 0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next === top.kids.length) {
      stack.pop();
      if (top.anchor) Object.assign(top.anchor, { done: true, size: top.size });
      if (stack.length > 0) stack[stack.length - 1].size += top.size;
      continue;
    }
    const node = top.kids[top.next++];
    if (isAlias(node)) {
      const line = node.range ? counter.linePos(node.range[0]).line : undefined;
      const at = `${file}${line === undefined ? "" : `:${line}`}: alias *${node.source}`;
      const target = latest.get(node.source);
      if (!target) return `${at} has no anchor &${node.source} before it`;
      if (!target.done) return `${at} is inside the node it names (a cycle)`;
      added += target.size;
      if (added > MAX_ALIAS_VALUES) {
        return `${at}: aliases expand to more than ${MAX_ALIAS_VALUES} values; write them out`;
      }
      top.size += target.size;
      continue;
    }
    const frame: Frame = {
      kids: isPair(node) ? [node.key, node.value] : isCollection(node) ? node.items : [],
      next: 0,
      size: isPair(node) ? 0 : 1,
    };
    if (isNode(node) && node.anchor) {
      frame.anchor = { done: false, size: 0 };
      latest.set(node.anchor, frame.anchor);
    }
    stack.push(frame);
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
 * const cfg = parseYamlConfig((await readConfigFile("fleet.yml")) ?? "", "fleet.yml", HubFile);
 * ```
 * @throws {ConfigError} naming the file, line and key of every problem.
 */
export function parseYamlConfig<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
): z.infer<S> {
  // Characters, not bytes: a backstop for callers that did not read with readConfigFile.
  if (text.length > MAX_CONFIG_BYTES) throw tooLarge(file);
  const counter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    throw new ConfigError(`${file}: not valid YAML: ${(error as Error).message}`);
  }
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const line = counter.linePos(e.pos[0]).line;
        return `${file}:${line}: ${e.message.split("\n")[0]}`;
      }).join("\n"),
    );
  }
  const aliases = aliasProblem(doc, counter, file);
  if (aliases) throw new ConfigError(aliases);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_VALUES }) ?? {};
  } catch (error) {
    // Not expected after the alias check; still the operator's file, so still a ConfigError.
    throw new ConfigError(`${file}: cannot load: ${(error as Error).message}`);
  }
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
