/**
 * The pop-out window (`#/terminal/<node>`): only a full-window terminal for one node, with a thin
 * title bar. It opens its own session (the session cookie is shared with the main window);
 * closing the window closes the WebSocket, which ends the shell on the node. No fleet stream,
 * no canvas: nothing else loads here.
 *
 * @module
 */
import { signal, useSignal } from "@preact/signals";
import { useEffect, useMemo } from "preact/hooks";
import { api } from "../../state/api.ts";
import { Icon } from "../../ui/icon.tsx";
import { stateDot } from "./tab_title.ts";
import { TerminalPane } from "./terminal_pane.tsx";
import { initialStatus } from "./terminal_state.ts";

type Access = "checking" | "admin" | "viewer" | "none";

/** Why there is no terminal (not logged in, or a viewer). */
function NoAccess({ access }: { access: Access }) {
  return (
    <div class="term-popout-msg empty-state" data-testid="terminal-popout-denied">
      <Icon name="terminal" size={30} />
      {access === "viewer"
        ? <p>Terminals need an admin session.</p>
        : <p>Log in to Fleet Commander in this browser first, then open the terminal again.</p>}
      <a href="/">Open Fleet Commander</a>
    </div>
  );
}

/** A full-window terminal on `node`. */
export function PopoutTerminal({ node }: { node: string }) {
  const access = useSignal<Access>("checking");
  const name = useSignal(node);
  const status = useMemo(() => signal(initialStatus()), [node]);

  useEffect(() => {
    api.session()
      .then((s) => (access.value = s.kind === "admin" ? "admin" : "viewer"))
      .catch(() => (access.value = "none"));
    api.node(node)
      .then((n) => (name.value = n.name || node))
      .catch(() => {});
  }, [node]);

  useEffect(() => {
    document.title = `${name.value} · terminal — Fleet Commander`;
  }, [name.value]);

  const st = status.value;
  return (
    <div class="term-popout" data-testid="terminal-popout-page" data-node-id={node}>
      <header class="term-bar">
        <span class="term-bar-title">
          <Icon name="logo" size={18} />
          {access.value === "admin" ? <span class={`term-dot ${stateDot(st.state)}`} /> : null}
          <b>{name.value}</b>
          {name.value !== node ? <span class="mute mono">{node}</span> : null}
        </span>
        <span class="spacer" />
        <span class="term-info mono">
          {st.shell ? <span>{st.shell.split("/").pop()}</span> : null}
          {st.cols && st.rows ? <span>{st.cols}×{st.rows}</span> : null}
        </span>
      </header>
      <div class="term-popout-body">
        {access.value === "checking"
          ? (
            <div class="term-popout-msg empty-state">
              <span class="spinner" />
            </div>
          )
          : access.value === "admin"
          ? <TerminalPane node={node} status={status} visible full />
          : <NoAccess access={access.value} />}
      </div>
    </div>
  );
}
