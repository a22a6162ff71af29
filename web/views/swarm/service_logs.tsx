/**
 * A service's logs in a dialog: the last 200 lines of every task (`GET …/logs?tail=200`), and a
 * Follow switch that opens the SSE stream (`follow=1`) and appends `log` events as they come.
 * stderr lines are tinted. Follow off or closing the dialog aborts the stream. At most 5,000
 * lines are kept; the box keeps to the bottom unless the reader scrolled up.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import type { SwarmLogLine } from "../../../shared/protocol/mod.ts";
import { probeApi } from "../../state/api.ts";
import { Modal } from "../../ui/modal.tsx";

const TAIL = 200;
const KEEP = 5000;

/** The logs dialog of service `name`. */
export function ServiceLogs({ name, onClose }: { name: string; onClose: () => void }) {
  const lines = useSignal<SwarmLogLine[]>([]);
  const follow = useSignal(false);
  const state = useSignal<"loading" | "ready" | "following" | "ended" | "error">("loading");
  const error = useSignal<string | null>(null);
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

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

  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines.value]);

  const n = lines.value.length;
  return (
    <Modal
      title={
        <span class="logs-title">
          Logs · <code>{name}</code>
        </span>
      }
      subtitle={`every task · last ${TAIL} lines${follow.value ? ", following new ones" : ""}`}
      onClose={onClose}
      testid="service-logs-dialog"
      wide
      footer={
        <>
          <span class="logs-status mute" data-testid="logs-status" data-state={state.value}>
            {state.value === "loading"
              ? <span class="spinner small" />
              : state.value === "following"
              ? <span class="live-dot" />
              : null}
            {state.value === "following"
              ? "following"
              : state.value === "ended"
              ? "the stream ended"
              : state.value === "error"
              ? ""
              : `${n} ${n === 1 ? "line" : "lines"}`}
          </span>
          <label class="switch" data-testid="logs-follow">
            <input
              type="checkbox"
              checked={follow.value}
              onChange={(e) => {
                follow.value = (e.target as HTMLInputElement).checked;
                stick.current = true;
              }}
            />
            <span class="switch-track">
              <i />
            </span>
            Follow
          </label>
          <button type="button" class="primary" onClick={onClose}>Close</button>
        </>
      }
    >
      {error.value
        ? (
          <div class="form-error" role="alert" data-testid="logs-error">
            <span>{error.value}</span>
          </div>
        )
        : null}
      <pre
        ref={box}
        class={`logs-box${state.value === "loading" && !n ? " loading" : ""}`}
        data-testid="logs-box"
        onScroll={(e) => {
          const el = e.currentTarget as HTMLPreElement;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {n
          ? lines.value.map((l, i) => (
            <span key={i} class={l.stream === "stderr" ? "err" : undefined}>
              {l.line}
              {"\n"}
            </span>
          ))
          : state.value === "loading"
          ? "Reading the logs…"
          : state.value === "error"
          ? ""
          : "(the service has written nothing)"}
      </pre>
    </Modal>
  );
}
