/**
 * The Swarm view's tabs and which one is open, mirrored in the URL as `#/swarm/<tab>` so a
 * reload, the back button and a shared link land on the same tab.
 *
 * @module
 */
import { signal } from "@preact/signals";

/** The tabs, in the order they show. */
export const SWARM_TABS = ["services", "catalog", "stacks", "nodes", "registry"] as const;
/** One tab. */
export type SwarmTab = typeof SWARM_TABS[number];

/** Tab labels. */
export const TAB_LABELS: Record<SwarmTab, string> = {
  services: "Services",
  catalog: "Catalog",
  stacks: "Stacks",
  nodes: "Nodes",
  registry: "Registry",
};

/**
 * The tab (and an optional item, e.g. a catalog definition) named by the URL; `named` is false
 * when the URL names no tab (`#/swarm`), so the view may keep the one last open.
 */
export function tabFromHash(): { tab: SwarmTab; item: string | null; named: boolean } {
  const [v, tab, item] = location.hash.replace(/^#\/?/, "").split("/");
  const named = v === "swarm" && (SWARM_TABS as readonly string[]).includes(tab);
  return {
    tab: named ? tab as SwarmTab : "services",
    item: named && item ? decodeURIComponent(item) : null,
    named,
  };
}

/** The open tab. */
export const swarmTab = signal<SwarmTab>(tabFromHash().tab);
/** The item the tab opened (a definition's name on the Catalog tab), from the URL. */
export const swarmItem = signal<string | null>(tabFromHash().item);

/** Opens `tab` (and `item` in it), recording both in the URL without a new history entry. */
export function openTab(tab: SwarmTab, item: string | null = null): void {
  swarmTab.value = tab;
  swarmItem.value = item;
  const hash = `#/swarm/${tab}${item ? `/${encodeURIComponent(item)}` : ""}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

addEventListener("popstate", () => {
  const t = tabFromHash();
  if (!t.named) return;
  swarmTab.value = t.tab;
  swarmItem.value = t.item;
});
