/**
 * A container's logs in a dialog: the last 200 lines (`GET …/containers/:cid/logs?tail=200`,
 * plain text, stdout and stderr as the engine interleaves them), and a Follow switch that
 * re-opens the request with `follow=1` and appends lines as the response streams them. Turning
 * Follow off, or closing the dialog, aborts the request (the hub then stops the stream on the
 * node). The view keeps to the bottom unless the reader scrolled up, and holds at most 5,000
 * lines.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import { probeApi } from "../../state/api.ts";
import { Modal } from "../../ui/modal.tsx";

const TAIL = 200;
const KEEP_LINES = 5000;

/** Trims `text` to its last {@link KEEP_LINES} lines. */
function keep(text: string): string {
  let cut = text.length;
  for (let n = 0; n < KEEP_LINES; n++) {
    cut = text.lastIndexOf("\n", cut - 1);
    if (cut <= 0) return text;
  }
  return text.slice(cut + 1);
}

/** The logs dialog of container `cid` (shown as `name`) on node `node`. */
export function ContainerLogs({ node, cid, name, onClose }: {
  node: string;
  cid: string;
  name: string;
  onClose: () => void;
}) {
  const text = useSignal("");
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
      // The dialog shows a 401 as its error rather than ending the session.
      const stream = await probeApi.containerLogs(
        node,
        cid,
        { tail: TAIL, follow: follow.value },
        { signal: abort.signal },
      );
      const reader = stream.getReader();
      // The tail replaces what is shown; followed lines are appended to it.
      let first = true;
      if (follow.value) state.value = "following";
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        text.value = keep(first ? value : text.peek() + value);
        first = false;
        if (!follow.value) state.value = "ready";
      }
      if (first) text.value = "";
      state.value = follow.value ? "ended" : "ready";
    })().catch((err) => {
      if (abort.signal.aborted) return;
      error.value = (err as Error).message;
      state.value = "error";
    });
    return () => abort.abort();
  }, [node, cid, follow.value]);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [text.value]);

  const lines = text.value
    ? text.value.split("\n").length - (text.value.endsWith("\n") ? 1 : 0)
    : 0;
  return (
    <Modal
      title={
        <span class="logs-title">
          Logs · <code>{name}</code>
        </span>
      }
      subtitle={`on ${node} · last ${TAIL} lines${follow.value ? ", following new ones" : ""}`}
      onClose={onClose}
      testid="container-logs-dialog"
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
              : `${lines} ${lines === 1 ? "line" : "lines"}`}
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
        class={`logs-box${state.value === "loading" && !text.value ? " loading" : ""}`}
        data-testid="logs-box"
        onScroll={(e) => {
          const el = e.currentTarget as HTMLPreElement;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {text.value ||
          (state.value === "loading"
            ? "Reading the logs…"
            : state.value === "error"
            ? ""
            : "(the container has written nothing)")}
      </pre>
    </Modal>
  );
}
