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
import { useEffect } from "preact/hooks";
import { probeApi } from "../../state/api.ts";
import { LogsDialog, type LogsState } from "../../ui/logs_dialog.tsx";

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
  const state = useSignal<LogsState>("loading");
  const error = useSignal<string | null>(null);

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

  const lines = text.value
    ? text.value.split("\n").length - (text.value.endsWith("\n") ? 1 : 0)
    : 0;
  return (
    <LogsDialog
      name={name}
      subtitle={`on ${node} · last ${TAIL} lines${follow.value ? ", following new ones" : ""}`}
      testid="container-logs-dialog"
      state={state.value}
      lineCount={lines}
      follow={follow}
      error={error.value}
      empty="(the container has written nothing)"
      onClose={onClose}
    >
      {text.value}
    </LogsDialog>
  );
}
