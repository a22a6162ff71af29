/**
 * One node's pane of a batch exec: the node (live status dot), its exit chip (green `exit 0`,
 * red non-zero, amber `timed out`, grey `offline` / `cancelled` / `interrupted`), how long it
 * ran, and its output as it streams (stderr tinted red). The output keeps to the bottom while
 * the reader is there; scrolling up stops that. A truncated output says so and shows its tail.
 *
 * @module
 */
import type { Signal } from "@preact/signals";
import { useLayoutEffect, useRef } from "preact/hooks";
import { nodeSignal } from "../../state/fleet.ts";
import { formatBytes } from "../../state/format.ts";
import { now } from "../../state/clock.ts";
import { paneElapsed, paneKind, type PaneState, type RunMeta } from "../../state/exec.ts";
import { selectedNode } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { exitText, formatElapsed, kindTone } from "./exec_format.ts";
import { dotClass } from "./target_picker.tsx";

function Output({ p }: { p: PaneState }) {
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  const size = p.chunks.reduce((n, c) => n + c.data.length, 0);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [size]);
  if (!p.chunks.length) {
    return (
      <div class="pane-quiet" data-testid="exec-output">
        {p.state === "running"
          ? (
            <>
              <span class="cursor-blink" /> waiting for output…
            </>
          )
          : p.state === "exited"
          ? "(no output)"
          : null}
      </div>
    );
  }
  return (
    <pre
      ref={box}
      class="exec-out"
      data-testid="exec-output"
      onScroll={(e) => {
        const el = e.currentTarget as HTMLPreElement;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
    >
      {p.chunks.map((c, i) => <span key={i} class={c.stream === "stderr" ? "err" : undefined}>{c.data}</span>)}
    </pre>
  );
}

/** A pane of the run described by `meta`. */
export function ExecPane({ pane, meta }: { pane: Signal<PaneState>; meta: RunMeta }) {
  const p = pane.value;
  const node = nodeSignal(p.node_id)?.value;
  const kind = paneKind(p);
  const tone = kindTone(kind);
  now.value; // a running pane's time ticks with the clock
  const elapsed = paneElapsed(meta, p, Date.now());
  const quietFinal = p.state === "offline" || p.state === "error" || p.state === "interrupted";
  return (
    <article
      class={`exec-pane tone-${tone}${p.state === "running" ? " running" : ""}`}
      data-testid="exec-pane"
      data-node={p.node_id}
      data-state={p.state}
      data-exit-code={p.exit_code ?? ""}
    >
      <header class="pane-head">
        <span
          class={`dot ${dotClass(node)}`}
          title={node
            ? node.control === false ? `${node.status}, agent not connected` : node.status
            : "unknown node"}
        />
        <button
          type="button"
          class="pane-node"
          title={`Open ${node?.name ?? p.node_id}'s details`}
          onClick={() => (selectedNode.value = p.node_id)}
        >
          {node?.name ?? p.node_id}
        </button>
        {node && node.name !== p.node_id ? <span class="pane-id mute">{p.node_id}</span> : null}
        <span class="pane-spacer" />
        {elapsed !== null && !(p.state === "offline")
          ? (
            <span class="pane-time num mute">
              {formatElapsed(elapsed, p.state === "running")}
            </span>
          )
          : null}
        <span
          class={`chip state exit-chip tone-${tone}${p.state === "running" ? " moving" : ""}`}
          data-testid="exec-exit"
        >
          <i class="state-dot" />
          {exitText(p.state, p.exit_code)}
        </span>
      </header>
      {quietFinal && !p.chunks.length ? null : <Output p={p} />}
      {p.error
        ? (
          <div class={`pane-error tone-${tone}`} data-testid="exec-pane-error">
            <Icon name="alert" size={13} />
            <span>{p.error}</span>
          </div>
        )
        : null}
      {p.truncated
        ? (
          <div class="pane-truncated" data-testid="exec-truncated">
            <span class="chip trunc">truncated</span>
            <span class="mute">
              {p.output_bytes !== null
                ? `${formatBytes(p.output_bytes)} written; the hub kept the start`
                : "the output passed the hub's cap"}
              {p.tail ? " and the last part:" : "."}
            </span>
          </div>
        )
        : null}
      {p.truncated && p.tail ? <pre class="exec-out tail">{p.tail}</pre> : null}
    </article>
  );
}
