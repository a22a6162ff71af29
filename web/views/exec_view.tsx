/**
 * The Batch exec view: for admins a composer (target, command, timeout, Run); the run on screen
 * (`#/exec/<id>`) with its progress and per-node panes, live through the exec state's stream
 * events; and the history of runs at the right. Viewers browse the history and its output but
 * get no Run or Cancel.
 *
 * @module
 */
import { useEffect } from "preact/hooks";
import { isAdmin } from "../state/session.ts";
import { loadHistory, openRun, shownExec } from "../state/exec.ts";
import { Icon } from "../ui/icon.tsx";
import { Composer } from "./exec/composer.tsx";
import { HistoryList } from "./exec/history_list.tsx";
import { RunView } from "./exec/run_view.tsx";

function runFromHash(): string | null {
  const [v, id] = location.hash.replace(/^#\/?/, "").split("/");
  return v === "exec" && id && /^\d+$/.test(id) ? id : null;
}

function Placeholder({ admin }: { admin: boolean }) {
  return (
    <div class="card run-card empty-state run-empty" data-state="empty" data-testid="exec-idle">
      <Icon name="exec" size={34} />
      <h3>{admin ? "Run a command across the fleet" : "Browse past runs"}</h3>
      <p>
        {admin
          ? "Every node runs it with /bin/sh -c in its own process group. Output streams into one pane per node, with its exit code; nodes that are not connected are reported at once."
          : "Pick a run in the history to see each node's output and exit code."}
      </p>
    </div>
  );
}

/** The batch exec view. */
export function ExecView() {
  useEffect(() => {
    void loadHistory();
    const sync = () => {
      const id = runFromHash();
      if (id) openRun(id, false);
      else shownExec.value = null;
    };
    if (runFromHash()) sync();
    addEventListener("popstate", sync);
    return () => removeEventListener("popstate", sync);
  }, []);
  const admin = isAdmin.value;
  const id = shownExec.value;
  return (
    <div class="view exec-view" data-testid="exec-view">
      <div class="exec-main">
        <div class="view-head">
          <div>
            <h2>Batch exec</h2>
            <p class="view-sub">
              One command on many nodes · live output and exit codes per node.
            </p>
          </div>
        </div>
        {admin ? <Composer /> : (
          <div class="viewer-note" data-testid="exec-viewer-note">
            <Icon name="alert" size={14} />
            Signed in as a viewer: you can read every run and its output; running commands needs an
            admin token.
          </div>
        )}
        {id ? <RunView key={id} id={id} /> : <Placeholder admin={admin} />}
      </div>
      <HistoryList />
    </div>
  );
}
