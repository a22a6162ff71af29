/**
 * Checks a service definition's YAML in the browser with the hub's own schema
 * (`SwarmDefinition`), naming the line of every error, and writes a definition back as YAML for
 * the editor. Loaded on demand (the YAML parser and zod stay out of the start script); the hub
 * checks again on save, and its answer wins.
 *
 * @module
 */
import { isMap, isSeq, LineCounter, parseDocument, stringify } from "yaml";
import { SwarmDefinition } from "../../../shared/protocol/swarm.ts";

/** One problem of the text, on a line (1-based) when it has one. */
export interface DefinitionIssue {
  line: number | null;
  path: string;
  message: string;
}

/** Errors of `text` as a definition; none when it is one. */
export function checkDefinition(text: string): DefinitionIssue[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    return doc.errors.slice(0, 20).map((e) => ({
      line: lines.linePos(e.pos[0]).line,
      path: "",
      message: e.message.split("\n")[0],
    }));
  }
  const value = doc.toJS();
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [{ line: 1, path: "", message: "a definition is a mapping: name, image, replicas …" }];
  }
  const r = SwarmDefinition.safeParse(value);
  if (r.success) return [];
  return r.error.issues.slice(0, 20).map((i) => {
    // An unknown key: name it and point at its own line, not its parent's.
    if (i.code === "unrecognized_keys") {
      const parent = i.path.map(String);
      const key = i.keys[0];
      const map = parent.length ? doc.getIn(parent, true) : doc.contents;
      const pair = isMap(map)
        ? map.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === key)
        : undefined;
      const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
      return {
        line: range ? lines.linePos(range[0]).line : null,
        path: [...parent, key].join("."),
        message: `unknown key${i.keys.length > 1 ? "s" : ""} ${i.keys.join(", ")}`,
      };
    }
    const path = i.path.map(String);
    // The deepest node of the path that exists: a missing key points at its parent mapping.
    let line: number | null = null;
    for (let n = path.length; n >= 0 && line === null; n--) {
      const key = path.slice(0, n);
      const node = key.length ? doc.getIn(key, true) : doc.contents;
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range && (n === path.length || isMap(node) || isSeq(node))) {
        line = lines.linePos(range[0]).line;
      }
    }
    // A missing required key says so rather than "expected string, received undefined".
    const missing = i.code === "invalid_type" && /received undefined/.test(i.message);
    return { line, path: path.join("."), message: missing ? "required" : i.message };
  });
}

/** A definition as the YAML the editor shows (defaults that say nothing left out). */
export function definitionYaml(def: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(def)) {
    if (v === undefined) continue;
    if (Array.isArray(v) && !v.length) continue;
    if (v && typeof v === "object" && !Array.isArray(v) && !Object.keys(v).length) continue;
    if (k === "mode" && v === "replicated") continue;
    out[k] = v;
  }
  return stringify(out, { lineWidth: 0 });
}
