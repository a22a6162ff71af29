/**
 * One terminal session: xterm.js in an element ↔ the hub's terminal WebSocket
 * (`/api/v1/terminal/:node`, same origin, the session cookie authenticates) ↔ the node's shell.
 *
 * xterm.js and its fit addon are loaded on first use with a dynamic `import()`, so they stay out
 * of the start script. Keystrokes go out as `{"type":"input"}` frames; the element's size is
 * watched (ResizeObserver), the terminal refitted and `{"type":"resize"}` sent; output frames are
 * written as they come. `ready`, `exit`, `error` frames and the close code become the session's
 * {@link SessionStatus} (the pane shows it with a Reconnect button). {@link TermSession.dispose}
 * closes the socket, which ends the shell on the node.
 *
 * @module
 */
import type { Signal } from "@preact/signals";
import type { FitAddon } from "@xterm/addon-fit";
import type { ITheme, Terminal } from "@xterm/xterm";
import type { TerminalClientMessage, TerminalServerMessage } from "../../../shared/protocol/mod.ts";
import { TERMINAL_CLOSE } from "../../../shared/protocol/enums.ts";
import { ApiError } from "../../../shared/api_client.ts";
import { probeApi } from "../../state/api.ts";
import { allowLibraryStyles } from "../../ui/csp_nonce.ts";
import type { SessionState, SessionStatus } from "./terminal_state.ts";

/** The dark navy theme of the UI, with a readable ANSI palette. */
const THEME: ITheme = {
  background: "#080e1f",
  foreground: "#dbe3fb",
  cursor: "#22d3ee",
  cursorAccent: "#080e1f",
  selectionBackground: "rgba(34, 211, 238, 0.28)",
  selectionInactiveBackground: "rgba(111, 125, 168, 0.25)",
  scrollbarSliderBackground: "rgba(42, 58, 106, 0.55)",
  scrollbarSliderHoverBackground: "rgba(58, 78, 140, 0.75)",
  scrollbarSliderActiveBackground: "rgba(34, 211, 238, 0.45)",
  black: "#1b2547",
  red: "#f87171",
  green: "#34d399",
  yellow: "#fbbf24",
  blue: "#60a5fa",
  magenta: "#c084fc",
  cyan: "#22d3ee",
  white: "#c8d2f0",
  brightBlack: "#5b6a98",
  brightRed: "#fca5a5",
  brightGreen: "#6ee7b7",
  brightYellow: "#fde68a",
  brightBlue: "#93c5fd",
  brightMagenta: "#d8b4fe",
  brightCyan: "#67e8f9",
  brightWhite: "#f4f7ff",
};

/** Monospace faces found on Linux (and macOS/Windows) without fetching web fonts. */
const FONT = '"DejaVu Sans Mono", "Liberation Mono", "Noto Sans Mono", "Ubuntu Mono", ' +
  'Menlo, Consolas, "Courier New", monospace';

/** What the hub's close codes mean (README "Web terminal"). */
const CLOSE_TEXT: Record<number, [SessionState, string]> = {
  1001: ["ended", "the hub is stopping"],
  [TERMINAL_CLOSE.idle]: ["ended", "idle timeout"],
  [TERMINAL_CLOSE.nodeLost]: ["failed", "connection to the node lost"],
  [TERMINAL_CLOSE.tooSlow]: ["failed", "the browser fell behind the output"],
  [TERMINAL_CLOSE.notConnected]: ["failed", "node not connected"],
  [TERMINAL_CLOSE.failed]: ["failed", "the node's agent offers no terminals"],
  [TERMINAL_CLOSE.tooMany]: ["failed", "too many terminals on the node (16)"],
  [TERMINAL_CLOSE.revoked]: ["ended", "signed out: the session ended or its token was revoked"],
};

/** Characters per input frame (UTF-8 may triple them; the hub's cap is 64 KB). */
const INPUT_CHUNK = 16_000;

type Libs = { Terminal: typeof Terminal; FitAddon: typeof FitAddon };
let libs: Promise<Libs> | undefined;

/** xterm.js and the fit addon, fetched once, on demand. */
function loadLibs(): Promise<Libs> {
  libs ??= Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit")]).then((
    [x, f],
  ) => ({ Terminal: x.Terminal, FitAddon: f.FitAddon }));
  // A failed fetch (hub restarting) may be retried by the next session.
  libs.catch(() => (libs = undefined));
  return libs;
}

/** A terminal on `node` drawn into `host`, reporting through `status`. */
export class TermSession {
  #term?: Terminal;
  #fit?: FitAddon;
  #ws?: WebSocket;
  #observer?: ResizeObserver;
  #frame = 0;
  #disposed = false;
  /** Set once the hub said why the session ended (exit or refusal), for the close handler. */
  #said: { exit?: { code: number | null; reason: string }; error?: string } = {};
  #opened = false;

  constructor(
    readonly node: string,
    readonly host: HTMLElement,
    readonly status: Signal<SessionStatus>,
  ) {}

  #set(patch: Partial<SessionStatus>): void {
    if (this.#disposed) return;
    const next = { ...this.status.value, ...patch };
    if (!("detail" in patch) && patch.state) delete next.detail;
    this.status.value = next;
  }

  /** Loads xterm.js, draws the terminal and connects. */
  async start(): Promise<void> {
    this.#set({ state: "loading", text: "Loading the terminal…" });
    let L: Libs;
    try {
      L = await loadLibs();
    } catch (err) {
      this.#set({
        state: "failed",
        text: "could not load the terminal",
        detail: (err as Error).message,
      });
      return;
    }
    if (this.#disposed) return;
    // xterm.js writes its own <style> elements: give them the page's CSP nonce first.
    allowLibraryStyles();
    const term = new L.Terminal({
      theme: THEME,
      fontFamily: FONT,
      fontSize: 13,
      lineHeight: 1.15,
      cursorBlink: true,
      cursorStyle: "block",
      cursorInactiveStyle: "outline",
      scrollback: 5000,
      allowProposedApi: false,
    });
    const fit = new L.FitAddon();
    term.loadAddon(fit);
    term.open(this.host);
    this.#term = term;
    this.#fit = fit;
    this.#refit();
    term.onData((data) => {
      // The hub takes at most 64 KB per frame: a big paste goes out in pieces.
      for (let i = 0; i < data.length; i += INPUT_CHUNK) {
        this.#send({ type: "input", data: data.slice(i, i + INPUT_CHUNK) });
      }
    });
    term.onResize(({ cols, rows }) => {
      this.#set({ cols, rows });
      this.#send({ type: "resize", cols, rows });
    });
    this.#observer = new ResizeObserver(() => {
      cancelAnimationFrame(this.#frame);
      this.#frame = requestAnimationFrame(() => this.#refit());
    });
    this.#observer.observe(this.host);
    this.#set({ cols: term.cols, rows: term.rows });
    this.connect();
    term.focus();
  }

  /** Fits the terminal to its element, unless the element is hidden (another tab in front). */
  #refit(): void {
    if (!this.#term || !this.#fit || this.#disposed) return;
    if (this.host.clientWidth < 20 || this.host.clientHeight < 20) return;
    try {
      this.#fit.fit();
    } catch { /* not measurable yet */ }
  }

  #send(frame: TerminalClientMessage): void {
    const ws = this.#ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  /** Opens a new session (the first one, or after the last one ended). */
  connect(): void {
    const term = this.#term;
    if (!term || this.#disposed) return;
    if (this.#ws && this.#ws.readyState <= WebSocket.OPEN) return;
    if (this.#opened) term.write("\r\n\x1b[2m── new session ──\x1b[0m\r\n");
    this.#refit();
    this.#said = {};
    this.#opened = false;
    this.#set({ state: "connecting", text: `Connecting to ${this.node}…`, shell: undefined });
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}` +
      `/api/v1/terminal/${encodeURIComponent(this.node)}?cols=${term.cols}&rows=${term.rows}`;
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.onopen = () => (this.#opened = true);
    ws.onmessage = (e) => {
      if (ws !== this.#ws || typeof e.data !== "string") return;
      let m: TerminalServerMessage;
      try {
        m = JSON.parse(e.data);
      } catch {
        return;
      }
      this.#onFrame(m);
    };
    ws.onclose = (e) => {
      if (ws !== this.#ws) return;
      this.#onClose(e.code, e.reason);
    };
  }

  #onFrame(m: TerminalServerMessage): void {
    const term = this.#term!;
    switch (m.type) {
      case "output":
        term.write(m.data);
        break;
      case "ready":
        this.#set({ state: "ready", text: "connected", shell: m.shell });
        // The size may have changed while the shell started.
        this.#send({ type: "resize", cols: term.cols, rows: term.rows });
        break;
      case "exit":
        this.#said.exit = { code: m.code, reason: m.reason };
        break;
      case "error":
        this.#said.error = m.message;
        if (this.status.value.state === "ready") {
          // A frame the hub refused; the session goes on.
          term.write(`\r\n\x1b[31m[hub: ${m.message}]\x1b[0m\r\n`);
        }
        break;
    }
  }

  #onClose(code: number, reason: string): void {
    if (this.#disposed) return;
    const { exit, error } = this.#said;
    const known = CLOSE_TEXT[code];
    if (known) {
      this.#set({ state: known[0], text: known[1], detail: error ?? exit?.reason ?? reason });
    } else if (exit && exit.code !== null) {
      this.#set({
        state: "ended",
        text: `shell exited with ${exit.code}`,
        detail: exit.reason,
      });
    } else if (code === 1000) {
      this.#set({ state: "ended", text: "session closed", detail: exit?.reason ?? reason });
    } else if (!this.#opened) {
      this.#set({ state: "failed", text: "could not open the terminal", detail: "…" });
      void this.#whyRefused();
    } else {
      this.#set({
        state: "failed",
        text: "connection to the hub lost",
        detail: reason || `WebSocket closed (${code})`,
      });
    }
    this.#term?.blur();
  }

  /** The browser hides a refused upgrade's HTTP answer: ask the API what is wrong. */
  async #whyRefused(): Promise<void> {
    let detail = "the hub refused the WebSocket";
    try {
      // The probe explains a 401 here instead of ending the session.
      await probeApi.node(this.node);
      const who = await probeApi.session().catch((err) => {
        if (err instanceof ApiError) return null;
        throw err;
      });
      if (who && who.kind !== "admin") detail = "terminals need an admin session";
    } catch (err) {
      if (!(err instanceof ApiError)) detail = "the hub is not reachable";
      else if (err.status === 404) detail = `no node ${this.node} in the fleet`;
      else if (err.status === 401) detail = "your session expired: log in again";
      else detail = `the hub answered ${err.status}`;
    }
    if (this.status.value.state === "failed") this.#set({ detail });
  }

  /** Gives the terminal the keyboard. */
  focus(): void {
    this.#term?.focus();
    this.#refit();
  }

  /** Closes the socket (ending the shell on the node) and frees the terminal. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    cancelAnimationFrame(this.#frame);
    this.#observer?.disconnect();
    const ws = this.#ws;
    if (ws) {
      ws.onclose = ws.onmessage = null;
      // Closing a socket still connecting makes Chromium log an error: close it once open.
      if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close(1000, "closed");
      else if (ws.readyState === WebSocket.OPEN) ws.close(1000, "closed");
    }
    this.#term?.dispose();
  }
}
