/**
 * Node actions for admins, shared by the node panel and the card's context menu: restart the
 * agent (after a confirm), run the boot recovery now, and the cleanup dialog — it shows the dry
 * run (each step, what it frees, what is left out and why) and runs exactly that plan only when
 * the operator confirms (the hub refuses a plan that changed since).
 *
 * @module
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { signal } from "@preact/signals";
import { onEvent } from "../../state/stream.ts";
import type { CleanupStep, NodeCleanupReport, NodeSummary } from "../../../shared/protocol/mod.ts";
import { terminalBlocked } from "../terminal/open_button.tsx";
import { api } from "../../state/api.ts";
import { toast } from "../../state/ui.ts";
import { formatBytes } from "../../state/format.ts";
import { confirmDialog, FormError, Modal } from "../../ui/modal.tsx";
import { Icon } from "../../ui/icon.tsx";

/** What each kind of cleanup step is called in the dialog. */
const KIND_LABEL: Record<string, string> = {
  "stop-container": "Stop container",
  "remove-container": "Remove container",
  "remove-image": "Remove image",
  "remove-volume": "Remove volume",
  "vacuum-journal": "Vacuum journal",
  "clear-dir": "Clear directory",
  "remove-rotated-log": "Remove rotated log",
  "remove-tmp-file": "Remove old /tmp file",
};

/** The latest node action per node, from the stream (whoever started it, in any tab). */
export const lastNodeAction = signal<
  Record<
    string,
    { action: string; dry_run: boolean; state: string; by: string; detail: string | null }
  >
>({});
onEvent("node.action", (e) => {
  lastNodeAction.value = { ...lastNodeAction.value, [e.node_id]: e };
});

/** One line on the node's latest action: running (with who), done or failed (with what). */
export function NodeActionStatus({ id }: { id: string }) {
  const a = lastNodeAction.value[id];
  if (!a) return null;
  const what = a.action === "cleanup" && a.dry_run ? "cleanup dry run" : a.action;
  return (
    <p
      class={`node-action-status ${a.state}`}
      data-testid="node-action-status"
      data-state={a.state}
    >
      {a.state === "started"
        ? `${what} running… (${a.by})`
        : `${what} ${a.state}: ${a.detail ?? ""}`}
    </p>
  );
}

/**
 * Why the node actions (cleanup, recovery, restart) cannot run on a node now, or null when they
 * can: its agent must hold the control channel and offer `actions` (a simulated demo agent or an
 * older agent does not).
 */
export function nodeActionsBlocked(node: NodeSummary): string | null {
  const blocked = terminalBlocked(node);
  if (blocked) return blocked;
  // An older hub sends no capabilities: let the hub answer then.
  if (node.capabilities && !node.capabilities.includes("actions")) {
    return `${node.name}'s agent offers no node actions (a simulated demo agent, or an agent ` +
      `older than this hub${node.agent_version ? `; agent version ${node.agent_version}` : ""})`;
  }
  return null;
}

/** Restarts a node's agent after a confirm; toasts how it restarts. */
export async function restartAgent(id: string, name: string): Promise<void> {
  const ok = await confirmDialog({
    title: `Restart the agent on ${name}?`,
    body: (
      <p>
        Its terminals, exec runs and log follows end; running jobs are handed back to the queue if
        the agent does not hold them again. It reconnects within seconds.
      </p>
    ),
    confirm: "Restart agent",
  });
  if (!ok) return;
  try {
    const r = await api.nodeRestart(id);
    toast(
      r.how === "systemd"
        ? `${name}: the agent exits; systemd starts it again`
        : `${name}: the agent restarts in place`,
      "ok",
    );
  } catch (error) {
    toast(`Restart ${name} failed: ${(error as Error).message}`, "error");
  }
}

/** Runs the boot recovery now; toasts each step's outcome. */
export async function runRecovery(id: string, name: string): Promise<void> {
  toast(`${name}: recovery runs…`);
  try {
    const r = await api.nodeRecover(id);
    const failed = r.steps.filter((s) => !s.ok);
    toast(
      failed.length
        ? `${name}: recovery failed at ${failed.map((s) => `${s.step} (${s.detail})`).join("; ")}`
        : `${name}: recovery ok (${r.steps.length} steps)`,
      failed.length ? "error" : "ok",
    );
  } catch (error) {
    toast(`Recovery on ${name} failed: ${(error as Error).message}`, "error");
  }
}

/** Opens the cleanup dialog for a node (it mounts itself, like a confirm). */
export function openCleanupDialog(id: string, name: string): void {
  const host = document.createElement("div");
  document.body.appendChild(host);
  const close = () => {
    render(null, host);
    host.remove();
  };
  render(<CleanupDialog id={id} name={name} onClose={close} />, host);
}

function Steps({ steps, omitted }: { steps: CleanupStep[]; omitted: number }) {
  if (!steps.length) return <p class="cleanup-empty">Nothing to do: the node is clean.</p>;
  const kinds = [...new Set(steps.map((s) => s.kind))];
  return (
    <div class="cleanup-plan" data-testid="cleanup-plan">
      {kinds.map((k) => {
        const mine = steps.filter((s) => s.kind === k);
        const bytes = mine.reduce((a, s) => a + s.bytes, 0);
        return (
          <section key={k} class="cleanup-kind" data-kind={k}>
            <h4>
              {KIND_LABEL[k] ?? k} <span class="count">{mine.length}</span>
              {bytes ? <span class="bytes">{formatBytes(bytes)}</span> : null}
            </h4>
            <ul>
              {mine.slice(0, 50).map((s) => <li key={s.target} title={s.target}>{s.detail}</li>)}
              {mine.length > 50 ? <li class="more">… and {mine.length - 50} more</li> : null}
            </ul>
          </section>
        );
      })}
      {omitted ? <p class="cleanup-note">… and {omitted} more steps not listed</p> : null}
    </div>
  );
}

function CleanupDialog({ id, name, onClose }: { id: string; name: string; onClose: () => void }) {
  const [plan, setPlan] = useState<NodeCleanupReport | null>(null);
  const [done, setDone] = useState<NodeCleanupReport | null>(null);
  const [busy, setBusy] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const dryRun = async () => {
    setBusy(true);
    setError(null);
    try {
      setPlan(await api.nodeCleanup(id, { dry_run: true }));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => void dryRun(), []);
  const run = async () => {
    if (!plan) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api.nodeCleanup(id, { dry_run: false, plan_id: plan.plan_id });
      setDone(r);
      toast(
        r.failed.length
          ? `${name}: cleanup ran, ${r.failed.length} steps failed`
          : `${name}: cleanup freed about ${formatBytes(r.bytes)}`,
        r.failed.length ? "error" : "ok",
      );
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const shown = done ?? plan;
  return (
    <Modal
      title={done ? `Cleanup on ${name}: done` : `Clean up ${name}?`}
      subtitle={done
        ? `Ran ${done.actions.length + done.omitted} steps, freed about ${formatBytes(done.bytes)}`
        : plan
        ? `Dry run: ${plan.actions.length + plan.omitted} steps, about ${
          formatBytes(plan.bytes)
        } to free. Nothing has changed yet.`
        : error
        ? "The dry run failed: nothing has changed."
        : "Planning (dry run)…"}
      onClose={onClose}
      testid="cleanup-dialog"
      wide
      footer={done
        ? (
          <button type="button" class="primary" onClick={onClose} data-testid="cleanup-close">
            Close
          </button>
        )
        : (
          <>
            <button type="button" class="ghost" onClick={onClose} data-testid="cleanup-cancel">
              {error && !plan ? "Close" : "Cancel"}
            </button>
            <button type="button" onClick={dryRun} disabled={busy} data-testid="cleanup-replan">
              <Icon name="refresh" size={14} /> Dry run again
            </button>
            <button
              type="button"
              class="danger"
              onClick={run}
              disabled={busy || !plan || plan.actions.length === 0}
              data-testid="cleanup-run"
            >
              {busy && plan ? "Working…" : "Run cleanup"}
            </button>
          </>
        )}
    >
      <div class="cleanup-body" data-testid={done ? "cleanup-result" : "cleanup-dry-run"}>
        {busy && !shown ? <p class="cleanup-empty">Asking the agent for its plan…</p> : null}
        {shown ? <Steps steps={shown.actions} omitted={shown.omitted} /> : null}
        {done?.failed.length
          ? (
            <div class="cleanup-failed" data-testid="cleanup-failed">
              <h4>Failed</h4>
              <ul>
                {done.failed.map((f, i) => (
                  <li key={i}>{KIND_LABEL[f.kind] ?? f.kind} {f.detail}: {f.error}</li>
                ))}
              </ul>
            </div>
          )
          : null}
        {shown?.skipped.length
          ? (
            <ul class="cleanup-skipped" data-testid="cleanup-skipped">
              {shown.skipped.map((s) => <li key={s}>{s}</li>)}
            </ul>
          )
          : null}
        <FormError message={error} />
      </div>
    </Modal>
  );
}
