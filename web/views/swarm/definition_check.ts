/**
 * The YAML side of the definition editor, loaded on demand (the YAML parser stays out of the
 * start script): a syntax check as the operator types, naming the line of each error, and a
 * definition written back as YAML. The schema (field names, values) is checked by the hub on
 * save, whose errors name their line too. Only `yaml` is imported here: a module the start script
 * also imports would be split into extra small chunks loaded with it.
 *
 * @module
 */
import { LineCounter, parseDocument, stringify } from "yaml";

/** One problem of the text, on a line (1-based) when it has one. */
export interface DefinitionIssue {
  line: number | null;
  path: string;
  message: string;
}

/** YAML errors of `text` (and a top level that is not a mapping); none when it parses. */
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
  return [];
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
