/**
 * The open terminals of the dock: one tab per session (several per node allowed), the active
 * one, whether the dock is expanded and how tall it is. {@link openTerminal} is the entry point
 * for the node panel and the canvas menu; {@link popOut} moves a tab into its own window.
 *
 * Each tab carries a {@link SessionStatus} signal that its session writes and the tab strip reads,
 * so a tab's dot shows its shell's state even while another tab is in front.
 *
 * @module
 */
import { effect, type Signal, signal } from "@preact/signals";
import { session } from "../../state/session.ts";

/** Where a session is in its life. */
export type SessionState = "loading" | "connecting" | "ready" | "ended" | "failed";

/** What a session shows about itself (tab dot, status line, size readout). */
export interface SessionStatus {
  state: SessionState;
  /** Headline of the status line ("node not connected", "shell exited with 0"). */
  text: string;
  /** The hub's own words, when it said more than the headline. */
  detail?: string;
  /** The login shell on the node, once ready. */
  shell?: string;
  cols?: number;
  rows?: number;
}

/** A status before anything happened. */
export function initialStatus(): SessionStatus {
  return { state: "loading", text: "Loading the terminal…" };
}

/** One docked terminal. */
export interface TermTab {
  /** Unique for the page's life (a node may have several tabs). */
  key: number;
  node: string;
  status: Signal<SessionStatus>;
}

/** The dock's tabs, in order. */
export const terminals = signal<TermTab[]>([]);
/** Key of the tab in front (null when there is none). */
export const activeTerminal = signal<number | null>(null);
/** False while the dock is collapsed to its tab strip. */
export const dockExpanded = signal(true);

const HEIGHT_KEY = "fleet.terminal.height";
/** Smallest and default height of the dock's body, in CSS pixels. */
export const DOCK_MIN = 140;
const DOCK_DEFAULT = 320;

function savedHeight(): number {
  const n = Number(globalThis.localStorage?.getItem(HEIGHT_KEY));
  return Number.isFinite(n) && n >= DOCK_MIN ? n : DOCK_DEFAULT;
}

/** Height of the dock's body (kept across reloads). */
export const dockHeight = signal(savedHeight());

/** Sets the dock's height (clamped by the caller to the window) and remembers it. */
export function setDockHeight(px: number): void {
  dockHeight.value = Math.round(Math.max(DOCK_MIN, px));
  try {
    localStorage.setItem(HEIGHT_KEY, String(dockHeight.value));
  } catch { /* private mode */ }
}

let nextKey = 1;

// Logging out closes every terminal (the panes unmount and their sockets close).
effect(() => {
  if (session.value === null && terminals.peek().length) {
    terminals.value = [];
    activeTerminal.value = null;
  }
});

/** Opens a new terminal session on `nodeId` in a new tab, in front, with the dock expanded. */
export function openTerminal(nodeId: string): void {
  const tab: TermTab = { key: nextKey++, node: nodeId, status: signal(initialStatus()) };
  terminals.value = [...terminals.value, tab];
  activeTerminal.value = tab.key;
  dockExpanded.value = true;
}

/** Closes a tab; its pane unmounts, which closes the WebSocket and ends the shell on the node. */
export function closeTerminal(key: number): void {
  const list = terminals.value;
  const i = list.findIndex((t) => t.key === key);
  if (i < 0) return;
  const rest = list.filter((t) => t.key !== key);
  terminals.value = rest;
  if (activeTerminal.value === key) {
    activeTerminal.value = rest.length ? rest[Math.min(i, rest.length - 1)].key : null;
  }
}

/** Brings a tab to the front (expanding the dock). */
export function showTerminal(key: number): void {
  activeTerminal.value = key;
  dockExpanded.value = true;
}

/** The hash route of a pop-out window: `#/terminal/<node>`. */
export const POPOUT_PREFIX = "#/terminal/";

/** The node of a pop-out window's URL, or null when this page is the main UI. */
export function popoutNode(hash: string = location.hash): string | null {
  if (!hash.startsWith(POPOUT_PREFIX)) return null;
  const id = decodeURIComponent(hash.slice(POPOUT_PREFIX.length).split("/")[0]);
  return id || null;
}

/**
 * Opens a terminal on `nodeId` in its own browser window (a new session there); returns false
 * when the browser blocked the window.
 */
export function openPopout(nodeId: string): boolean {
  const url = `${location.pathname}${location.search}${POPOUT_PREFIX}${encodeURIComponent(nodeId)}`;
  const w = open(url, "_blank", "popup,width=980,height=620");
  return w !== null;
}

/** Moves a docked tab into a window of its own: the window opens its own session, the tab closes. */
export function popOut(key: number): boolean {
  const tab = terminals.value.find((t) => t.key === key);
  if (!tab || !openPopout(tab.node)) return false;
  closeTerminal(key);
  return true;
}
