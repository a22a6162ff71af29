/**
 * One terminal filling its box: the xterm element plus a status line while the session is not
 * live (loading, connecting, or why it ended, with a Reconnect button). The session lives as long
 * as the pane is mounted; hidden panes (another tab in front, dock collapsed) keep their shell.
 * The pane exposes the terminal's size as `data-cols` / `data-rows`, its state as `data-state`
 * and whether it is in front as `data-visible`.
 *
 * @module
 */
import type { Signal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { Icon } from "../../ui/icon.tsx";
import { TermSession } from "./terminal_session.ts";
import type { SessionStatus } from "./terminal_state.ts";

/** The status line: spinner while starting, the reason and a Reconnect button once ended. */
function StatusLine(
  { status, onReconnect }: { status: SessionStatus; onReconnect: () => void },
) {
  const { state } = status;
  if (state === "ready") return null;
  const busy = state === "loading" || state === "connecting";
  return (
    <div class={`term-status ${state}`} data-testid="terminal-status" role="status">
      {busy ? <span class="spinner small" /> : (
        <span class="term-status-icon">
          <Icon name={state === "failed" ? "alert" : "stop"} size={14} />
        </span>
      )}
      <span class="term-status-text">
        <b>{status.text}</b>
        {status.detail && status.detail !== status.text
          ? <span class="term-status-detail">{status.detail}</span>
          : null}
      </span>
      {busy ? null : (
        <button
          type="button"
          class="primary small"
          onClick={onReconnect}
          data-testid="terminal-reconnect"
        >
          <Icon name="refresh" size={14} /> Reconnect
        </button>
      )}
    </div>
  );
}

/** A terminal session on `node`; `visible` says whether it is in front (it then takes focus). */
export function TerminalPane(
  { node, status, visible, full = false }: {
    node: string;
    status: Signal<SessionStatus>;
    visible: boolean;
    /** Fills the whole window (pop-out). */
    full?: boolean;
  },
) {
  const host = useRef<HTMLDivElement>(null);
  const session = useRef<TermSession | null>(null);

  useEffect(() => {
    const s = new TermSession(node, host.current!, status);
    session.current = s;
    void s.start();
    return () => {
      s.dispose();
      session.current = null;
    };
  }, [node, status]);

  useEffect(() => {
    if (visible) requestAnimationFrame(() => session.current?.focus());
  }, [visible]);

  const st = status.value;
  return (
    <div
      class={`term-pane${visible ? "" : " hidden"}${full ? " full" : ""}`}
      data-testid="terminal-pane"
      data-node-id={node}
      data-visible={String(visible)}
      data-state={st.state}
      data-cols={st.cols}
      data-rows={st.rows}
    >
      <div class="term-host" ref={host} />
      <StatusLine
        status={st}
        onReconnect={() => {
          session.current?.connect();
          session.current?.focus();
        }}
      />
    </div>
  );
}
