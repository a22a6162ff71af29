/**
 * "Open terminal" for the node details panel (admins only): opens a session in the dock, or in
 * a window of its own with the small button next to it. Disabled, with the reason as tooltip,
 * while the node's agent does not hold the control channel.
 *
 * @module
 */
import type { NodeSummary } from "../../../shared/protocol/mod.ts";
import { isAdmin } from "../../state/session.ts";
import { toast } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { openPopout, openTerminal } from "./terminal_state.ts";

/** Why a node cannot take a terminal now, or null when it can. */
export function terminalBlocked(node: NodeSummary): string | null {
  if (node.control) return null;
  return node.status === "offline"
    ? `${node.name} is offline`
    : `${node.name}'s agent is not on the control channel (not connected, or --control off)`;
}

/** The panel's terminal buttons. */
export function OpenTerminalButton({ node }: { node: NodeSummary }) {
  if (!isAdmin.value) return null;
  const blocked = terminalBlocked(node);
  const popout = () => {
    if (!openPopout(node.id)) {
      toast("The browser blocked the pop-out window: allow pop-ups for this hub", "error");
    }
  };
  return (
    <span class="term-open" title={blocked ?? `Open a shell on ${node.name}`}>
      <button
        type="button"
        disabled={blocked !== null}
        onClick={() => openTerminal(node.id)}
        data-testid="action-terminal"
      >
        <Icon name="terminal" size={15} /> Open terminal
      </button>
      <button
        type="button"
        class="icon"
        disabled={blocked !== null}
        onClick={popout}
        title={blocked ?? "Open the terminal in a new window"}
        aria-label="Open the terminal in a new window"
        data-testid="action-terminal-popout"
      >
        <Icon name="popout" size={15} />
      </button>
    </span>
  );
}
