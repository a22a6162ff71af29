/**
 * The shell every logs dialog shares (a container's, a swarm service's): title, status line
 * (spinner, live dot, line count), the Follow switch, the error line and the scrolling box that
 * keeps to the bottom unless the reader scrolled up. What is read, and how, stays with the caller.
 *
 * @module
 */
import type { ComponentChildren } from "preact";
import type { Signal } from "@preact/signals";
import { useLayoutEffect, useRef } from "preact/hooks";
import { Modal } from "./modal.tsx";

/** Where a logs dialog's reading stands. */
export type LogsState = "loading" | "ready" | "following" | "ended" | "error";

/** A logs dialog: `children` are the lines (or nothing yet), `empty` what an empty log says. */
export function LogsDialog({
  name,
  subtitle,
  testid,
  state,
  lineCount,
  follow,
  error,
  empty,
  onClose,
  children,
}: {
  name: string;
  subtitle: string;
  testid: string;
  state: LogsState;
  lineCount: number;
  follow: Signal<boolean>;
  error: string | null;
  empty: string;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  // Keep to the bottom after every render with new lines, unless the reader scrolled up.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  });

  return (
    <Modal
      title={
        <span class="logs-title">
          Logs · <code>{name}</code>
        </span>
      }
      subtitle={subtitle}
      onClose={onClose}
      testid={testid}
      wide
      footer={
        <>
          <span class="logs-status mute" data-testid="logs-status" data-state={state}>
            {state === "loading"
              ? <span class="spinner small" />
              : state === "following"
              ? <span class="live-dot" />
              : null}
            {state === "following"
              ? "following"
              : state === "ended"
              ? "the stream ended"
              : state === "error"
              ? ""
              : `${lineCount} ${lineCount === 1 ? "line" : "lines"}`}
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
      {error
        ? (
          <div class="form-error" role="alert" data-testid="logs-error">
            <span>{error}</span>
          </div>
        )
        : null}
      <pre
        ref={box}
        class={`logs-box${state === "loading" && !lineCount ? " loading" : ""}`}
        data-testid="logs-box"
        onScroll={(e) => {
          const el = e.currentTarget as HTMLPreElement;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {lineCount
          ? children
          : state === "loading"
          ? "Reading the logs…"
          : state === "error"
          ? ""
          : empty}
      </pre>
    </Modal>
  );
}
