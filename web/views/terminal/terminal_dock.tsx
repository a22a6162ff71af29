/**
 * The terminal dock under the content area, like an IDE's panel: a tab strip (one tab per
 * session: node name, a status dot, a close button), a drag handle for its height, collapse and
 * expand, pop-out of the tab in front, and every session's pane stacked in the body (only the
 * front one visible; the others keep their shells). Admins only; absent while no terminal is
 * open.
 *
 * @module
 */
import { nodeSignal } from "../../state/fleet.ts";
import { isAdmin } from "../../state/session.ts";
import { toast } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { TerminalPane } from "./terminal_pane.tsx";
import {
  activeTerminal,
  closeTerminal,
  DOCK_MIN,
  dockExpanded,
  dockHeight,
  popOut,
  setDockHeight,
  showTerminal,
  terminals,
  type TermTab,
} from "./terminal_state.ts";
import { stateDot, tabTitles } from "./tab_title.ts";

/** One tab of the strip. */
function Tab({ tab, title, active }: { tab: TermTab; title: string; active: boolean }) {
  const st = tab.status.value;
  return (
    <div
      class={`term-tab${active ? " active" : ""}`}
      role="tab"
      aria-selected={active}
      title={`${title} — ${st.state === "ready" ? (st.shell ?? "connected") : st.text}`}
      data-testid="terminal-tab"
      data-node-id={tab.node}
      data-key={tab.key}
      data-state={st.state}
      onMouseDown={(e) => {
        if (e.button === 1) {
          e.preventDefault();
          closeTerminal(tab.key);
        }
      }}
      onClick={() => showTerminal(tab.key)}
    >
      <span class={`term-dot ${stateDot(st.state)}`} />
      <span class="term-tab-name">{title}</span>
      <button
        type="button"
        class="term-tab-close"
        title="Close the terminal (ends the shell)"
        aria-label={`Close ${title}`}
        data-testid="terminal-tab-close"
        onClick={(e) => {
          e.stopPropagation();
          closeTerminal(tab.key);
        }}
      >
        <Icon name="close" size={12} />
      </button>
    </div>
  );
}

/** The top edge: drag to set the dock's height. */
function ResizeHandle() {
  const onPointerDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    e.preventDefault();
    const el = e.currentTarget as HTMLElement;
    el.setPointerCapture(e.pointerId);
    const startY = e.clientY;
    const startH = dockHeight.value;
    const max = Math.max(DOCK_MIN, innerHeight - 180);
    el.classList.add("dragging");
    const move = (ev: PointerEvent) => setDockHeight(Math.min(max, startH + (startY - ev.clientY)));
    const up = () => {
      el.classList.remove("dragging");
      el.removeEventListener("pointermove", move);
      el.removeEventListener("pointerup", up);
      el.removeEventListener("pointercancel", up);
    };
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", up);
    el.addEventListener("pointercancel", up);
  };
  return (
    <div
      class="term-resize"
      onPointerDown={onPointerDown}
      onDblClick={() => setDockHeight(320)}
      title="Drag to resize (double-click: default height)"
      data-testid="terminal-resize"
    />
  );
}

/** Shell and size of the tab in front. */
function ActiveInfo({ tab }: { tab: TermTab | undefined }) {
  if (!tab) return null;
  const st = tab.status.value;
  return (
    <span class="term-info mono" data-testid="terminal-info">
      {st.shell ? <span>{st.shell.split("/").pop()}</span> : null}
      {st.cols && st.rows ? <span>{st.cols}×{st.rows}</span> : null}
    </span>
  );
}

/** The dock (admins only; nothing while no terminal is open). */
export function TerminalDock() {
  if (!isAdmin.value) return null;
  const tabs = terminals.value;
  if (!tabs.length) return null;
  const expanded = dockExpanded.value;
  const activeKey = activeTerminal.value;
  const active = tabs.find((t) => t.key === activeKey);
  const titles = tabTitles(tabs, (id) => nodeSignal(id)?.value.name ?? id);

  const popActive = () => {
    if (active && !popOut(active.key)) {
      toast("The browser blocked the pop-out window: allow pop-ups for this hub", "error");
    }
  };

  return (
    <section
      class={`term-dock${expanded ? "" : " collapsed"}`}
      data-testid="terminal-dock"
      data-expanded={String(expanded)}
    >
      {expanded ? <ResizeHandle /> : null}
      <header
        class="term-bar"
        onDblClick={(e) => {
          if (e.target === e.currentTarget) dockExpanded.value = !expanded;
        }}
      >
        <span class="term-bar-title">
          <Icon name="terminal" size={15} /> Terminals
        </span>
        <div class="term-tabs" role="tablist">
          {tabs.map((t) => (
            <Tab key={t.key} tab={t} title={titles.get(t.key)!} active={t.key === activeKey} />
          ))}
        </div>
        <ActiveInfo tab={active} />
        <button
          type="button"
          class="ghost icon"
          onClick={popActive}
          disabled={!active}
          title="Open in a separate window (a new session there; this tab closes)"
          data-testid="terminal-popout"
        >
          <Icon name="popout" size={15} />
        </button>
        <button
          type="button"
          class="ghost icon"
          onClick={() => (dockExpanded.value = !expanded)}
          title={expanded ? "Collapse the terminals" : "Expand the terminals"}
          data-testid="terminal-collapse"
        >
          <Icon name={expanded ? "chevron-down" : "chevron-up"} size={15} />
        </button>
      </header>
      <div class="term-body" style={{ height: `${dockHeight.value}px` }}>
        {tabs.map((t) => (
          <TerminalPane
            key={t.key}
            node={t.node}
            status={t.status}
            visible={expanded && t.key === activeKey}
          />
        ))}
      </div>
    </section>
  );
}
