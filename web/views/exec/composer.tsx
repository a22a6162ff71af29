/**
 * The command box of the exec view (admins only): target picker, a monospace command field
 * (Enter runs, Shift+Enter adds a line, ↑/↓ walk this browser's recent commands), the timeout
 * and Run. The hub's refusal (unknown node, empty command …) shows under the field.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useLayoutEffect, useRef } from "preact/hooks";
import { execDraft, execTarget, recentCommands, startExec } from "../../state/exec.ts";
import { selection } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { FormError } from "../../ui/modal.tsx";
import { TargetPicker, targetSize } from "./target_picker.tsx";

const TIMEOUT_KEY = "fleet.exec.timeout";
const EXAMPLES = ["uptime", "df -h /", "free -m", "systemctl --failed --no-pager", "uname -a"];

function savedTimeout(): string {
  try {
    return localStorage.getItem(TIMEOUT_KEY) ?? "60";
  } catch {
    return "60";
  }
}

/** The composer card. */
export function Composer() {
  const command = execDraft;
  const timeout = useSignal(savedTimeout());
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const walk = useRef(-1);
  const field = useRef<HTMLTextAreaElement>(null);

  const size = targetSize();
  const t = execTarget.value;
  // The field grows with its text (wrapped lines too), up to eight lines.
  useLayoutEffect(() => {
    const el = field.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 8 * 22)}px`;
  }, [command.value]);

  const run = async () => {
    const cmd = command.value;
    if (busy.value) return;
    if (!cmd.trim()) {
      error.value = "Type a command first.";
      return;
    }
    const secs = Number(timeout.value);
    if (!Number.isInteger(secs) || secs < 1 || secs > 86_400) {
      error.value = "Timeout: whole seconds from 1 to 86400.";
      return;
    }
    if (t.mode === "nodes" && selection.value.size === 0) {
      error.value = "Pick the nodes to run on (or a cluster).";
      return;
    }
    if (t.mode === "cluster" && !t.cluster) {
      error.value = "Pick a cluster.";
      return;
    }
    busy.value = true;
    error.value = null;
    try {
      localStorage.setItem(TIMEOUT_KEY, String(secs));
    } catch { /* storage off */ }
    try {
      await startExec(
        t.mode === "nodes" ? { nodes: [...selection.value] } : { cluster: t.cluster },
        cmd,
        secs,
      );
      walk.current = -1;
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };

  const onKey = (e: KeyboardEvent) => {
    const el = e.currentTarget as HTMLTextAreaElement;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void run();
      return;
    }
    const recent = recentCommands.value;
    if (!recent.length) return;
    const atStart = el.selectionStart === 0 && el.selectionEnd === 0;
    const atEnd = el.selectionStart === el.value.length;
    if (e.key === "ArrowUp" && (atStart || !el.value.includes("\n"))) {
      e.preventDefault();
      walk.current = Math.min(recent.length - 1, walk.current + 1);
      command.value = recent[walk.current];
    } else if (e.key === "ArrowDown" && walk.current >= 0 && (atEnd || !el.value.includes("\n"))) {
      e.preventDefault();
      walk.current--;
      command.value = walk.current >= 0 ? recent[walk.current] : "";
    }
  };

  const pick = (c: string) => {
    command.value = c;
    walk.current = -1;
    field.current?.focus();
  };

  const suggestions = recentCommands.value.length ? recentCommands.value.slice(0, 6) : EXAMPLES;
  return (
    <section class="card exec-composer" data-testid="exec-composer">
      <TargetPicker />
      <div class="cmd-row">
        <div class={error.value ? "cmd-box invalid" : "cmd-box"}>
          <span class="cmd-prompt" aria-hidden="true">$</span>
          <textarea
            ref={field}
            rows={1}
            spellcheck={false}
            autoComplete="off"
            placeholder="Command to run with /bin/sh -c on every node, e.g. uptime; df -h /"
            value={command.value}
            onInput={(e) => {
              command.value = (e.target as HTMLTextAreaElement).value;
              if (error.value) error.value = null;
            }}
            onKeyDown={onKey}
            data-testid="exec-command"
            aria-label="Command"
          />
        </div>
        <label class="timeout-field" title="Each node's command is killed after this long">
          <span>Timeout</span>
          <span class="timeout-input">
            <input
              type="number"
              min={1}
              max={86400}
              value={timeout.value}
              onInput={(e) => (timeout.value = (e.target as HTMLInputElement).value)}
              data-testid="exec-timeout"
            />
            <span class="unit">s</span>
          </span>
        </label>
        <button
          type="button"
          class="primary run-btn"
          onClick={() => void run()}
          disabled={busy.value || size === 0}
          data-testid="exec-run"
        >
          {busy.value ? <span class="spinner small" /> : <Icon name="play" size={14} />}
          {size ? `Run on ${size} ${size === 1 ? "node" : "nodes"}` : "Run"}
        </button>
      </div>
      <FormError message={error.value} />
      <div class="cmd-recent">
        <span class="mute">{recentCommands.value.length ? "Recent" : "Try"}</span>
        {suggestions.map((c) => (
          <button
            type="button"
            key={c}
            class="recent-cmd"
            title={c}
            onClick={() => pick(c)}
            data-testid="exec-recent"
          >
            {c}
          </button>
        ))}
        <span class="cmd-hint mute">
          <kbd>Enter</kbd> runs · <kbd>Shift</kbd>+<kbd>Enter</kbd> new line · <kbd>↑</kbd> recent
        </span>
      </div>
    </section>
  );
}
