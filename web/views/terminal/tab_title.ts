/**
 * Labels of the terminal tabs: the node's name, numbered when a node has several tabs
 * ("agx-01", "agx-01 · 2"), and the colour class of a session state's dot.
 *
 * @module
 */
import type { SessionState, TermTab } from "./terminal_state.ts";

/** Title of each tab by key; `nameOf` turns a node id into its display name. */
export function tabTitles(
  tabs: readonly TermTab[],
  nameOf: (id: string) => string,
): Map<number, string> {
  const total = new Map<string, number>();
  for (const t of tabs) total.set(t.node, (total.get(t.node) ?? 0) + 1);
  const seen = new Map<string, number>();
  const out = new Map<number, string>();
  for (const t of tabs) {
    const n = (seen.get(t.node) ?? 0) + 1;
    seen.set(t.node, n);
    const name = nameOf(t.node);
    out.set(t.key, total.get(t.node)! > 1 ? `${name} · ${n}` : name);
  }
  return out;
}

/** The dot colour class of a session state. */
export function stateDot(state: SessionState): string {
  switch (state) {
    case "ready":
      return "live";
    case "loading":
    case "connecting":
      return "busy";
    case "failed":
      return "bad";
    default:
      return "off";
  }
}
