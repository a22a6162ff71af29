/**
 * Node search (`/`): filters cards as you type, Enter jumps to the first match and opens it.
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import { useComputed } from "@preact/signals";
import { allNodes, nodeIds } from "../../state/fleet.ts";
import { searchQuery, selectedNode } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";

/** The search box; `focusRef` lets the canvas focus it on `/`. */
export function SearchBox(
  { onJump, focusRef }: {
    onJump: (id: string) => void;
    focusRef: { current: (() => void) | null };
  },
) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    focusRef.current = () => input.current?.focus();
  }, []);
  const matches = useComputed(() => {
    nodeIds.value;
    const q = searchQuery.value.trim().toLowerCase();
    if (!q) return [];
    return allNodes().filter((n) =>
      n.name.toLowerCase().includes(q) || n.id.toLowerCase().includes(q)
    );
  });
  const jump = (id: string) => {
    onJump(id);
    selectedNode.value = id;
  };
  return (
    <div class="search nopan nowheel">
      <Icon name="search" size={15} />
      <input
        ref={input}
        type="search"
        placeholder="Search nodes  ( / )"
        value={searchQuery.value}
        onInput={(e) => (searchQuery.value = (e.target as HTMLInputElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && matches.value[0]) jump(matches.value[0].id);
          if (e.key === "Escape") {
            searchQuery.value = "";
            input.current?.blur();
          }
        }}
        data-testid="node-search"
      />
      {searchQuery.value.trim()
        ? (
          <div class="search-results">
            {matches.value.length === 0 ? <div class="sr-empty">No node matches</div> : null}
            {matches.value.slice(0, 8).map((n) => (
              <button
                type="button"
                class="sr-item"
                onClick={() => jump(n.id)}
              >
                <span class={`dot ${n.status}`} />
                <span>{n.name}</span>
                <span class="sr-meta">{n.cluster ?? n.role ?? ""}</span>
              </button>
            ))}
            {matches.value.length > 8
              ? <div class="sr-empty">+{matches.value.length - 8} more</div>
              : null}
          </div>
        )
        : null}
    </div>
  );
}
