/**
 * A service's logs in a dialog: the last 200 lines of every task (`GET …/logs?tail=200`), and a
 * Follow switch that opens the SSE stream (`follow=1`) and appends `log` events as they come.
 * stderr lines are tinted. Follow off or closing the dialog aborts the stream. At most 5,000
 * lines are kept; the box keeps to the bottom unless the reader scrolled up.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { SwarmLogLine } from "../../../shared/protocol/mod.ts";
import { probeApi } from "../../state/api.ts";
import { LogsDialog, type LogsState } from "../../ui/logs_dialog.tsx";

const TAIL = 200;
const KEEP = 5000;

/** The logs dialog of service `name`. */
export function ServiceLogs({ name, onClose }: { name: string; onClose: () => void }) {
  const lines = useSignal<SwarmLogLine[]>([]);
  const follow = useSignal(false);
  const state = useSignal<LogsState>("loading");
  const error = useSignal<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    state.value = "loading";
    error.value = null;
    (async () => {
      if (!follow.value) {
        const r = await probeApi.swarmServiceLogs(name, TAIL);
        lines.value = r.lines.slice(-KEEP);
        state.value = "ready";
        return;
      }
      const stream = await probeApi.swarmFollowServiceLogs(name, TAIL, { signal: abort.signal });
      const reader = stream.getReader();
      let first = true;
      state.value = "following";
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value.event !== "log") continue;
        const l = value.data as SwarmLogLine;
        // The follow stream starts with its own tail: it replaces what the dialog showed.
        lines.value = first ? [l] : [...lines.peek(), l].slice(-KEEP);
        first = false;
      }
      state.value = "ended";
    })().catch((err) => {
      if (abort.signal.aborted) return;
      error.value = (err as Error).message;
      state.value = "error";
    });
    return () => abort.abort();
  }, [name, follow.value]);

  const n = lines.value.length;
  return (
    <LogsDialog
      name={name}
      subtitle={`every task · last ${TAIL} lines${follow.value ? ", following new ones" : ""}`}
      testid="service-logs-dialog"
      state={state.value}
      lineCount={n}
      follow={follow}
      error={error.value}
      empty="(the service has written nothing)"
      onClose={onClose}
    >
      {lines.value.map((l, i) => (
        <span key={i} class={l.stream === "stderr" ? "err" : undefined}>
          {l.line}
          {"\n"}
        </span>
      ))}
    </LogsDialog>
  );
}
