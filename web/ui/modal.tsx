/**
 * A small modal dialog and an imperative confirm, shared by every view.
 *
 * - {@link Modal}: a centred dialog over a dimmed backdrop. Escape or a click on the backdrop
 *   calls `onClose`; the first field (or the primary button) takes focus when it opens. Put the
 *   form fields in `children` and the buttons in `footer`.
 * - {@link FormError}: the hub's refusal shown inline in a dialog (`role="alert"`).
 * - {@link confirmDialog}: `await confirmDialog({...})` resolves `true` when the operator
 *   confirms; it mounts its own modal, so callers need no state.
 *
 * @example
 * ```tsx
 * {open.value && (
 *   <Modal title="Assign roamer" onClose={() => (open.value = false)} testid="assign-dialog"
 *     footer={<button class="primary" onClick={save}>Assign</button>}>
 *     <label>Cluster <select>…</select></label>
 *     <FormError message={error.value} />
 *   </Modal>
 * )}
 *
 * if (await confirmDialog({ title: "Cancel job 42?", confirm: "Cancel job", danger: true })) {…}
 * ```
 *
 * @module
 */
import type { ComponentChildren } from "preact";
import { render } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { Icon } from "./icon.tsx";

/** Props of {@link Modal}. */
export interface ModalProps {
  /** Heading of the dialog. */
  title: ComponentChildren;
  /** A line under the heading (what the dialog acts on). */
  subtitle?: ComponentChildren;
  /** Called on Escape, the close button and a click on the backdrop. */
  onClose: () => void;
  /** The dialog's body (fields, text). */
  children?: ComponentChildren;
  /** The buttons, right-aligned at the bottom. */
  footer?: ComponentChildren;
  /** `data-testid` of the dialog element. */
  testid?: string;
  /** Wider dialog (560 px) for forms with two columns. */
  wide?: boolean;
  /** Submitting the form (Enter in a field) calls this; the dialog is a `<form>` then. */
  onSubmit?: () => void;
}

/** A modal dialog; render it conditionally. */
export function Modal(p: ModalProps) {
  const box = useRef<HTMLDivElement>(null);
  const close = useRef(p.onClose);
  close.current = p.onClose;
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = box.current?.querySelector<HTMLElement>(
      "[autofocus], input:not([type=radio]):not([disabled]), select, textarea, button.primary",
    );
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        close.current();
      }
    };
    addEventListener("keydown", onKey, true);
    return () => {
      removeEventListener("keydown", onKey, true);
      before?.focus?.();
    };
  }, []);
  return (
    <div
      class="modal-back"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) p.onClose();
      }}
    >
      <div
        ref={box}
        class={p.wide ? "modal wide" : "modal"}
        role="dialog"
        aria-modal="true"
        data-testid={p.testid}
      >
        <form
          class="modal-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            p.onSubmit?.();
          }}
        >
          <header class="modal-head">
            <div>
              <h2>{p.title}</h2>
              {p.subtitle ? <p class="modal-sub">{p.subtitle}</p> : null}
            </div>
            <button type="button" class="ghost icon" onClick={p.onClose} aria-label="Close">
              <Icon name="close" size={16} />
            </button>
          </header>
          {p.children}
          {p.footer ? <div class="actions">{p.footer}</div> : null}
        </form>
      </div>
    </div>
  );
}

/** The hub's error message inside a dialog; renders nothing without a message. */
export function FormError({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <div class="form-error" role="alert" data-testid="form-error">
      <Icon name="alert" size={15} />
      <span>{message}</span>
    </div>
  );
}

/** Options of {@link confirmDialog}. */
export interface ConfirmOptions {
  title: string;
  /** What will happen, in a sentence or two. */
  body?: ComponentChildren;
  /** Label of the confirming button (default "Confirm"). */
  confirm?: string;
  /** Paint the confirming button red (destructive actions). */
  danger?: boolean;
}

/**
 * Asks the operator to confirm; resolves `true` on confirm, `false` on cancel, Escape or a click
 * outside. The dialog carries `data-testid="confirm-dialog"`, its button `confirm-ok`.
 */
export function confirmDialog(o: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const host = document.createElement("div");
    document.body.appendChild(host);
    const done = (ok: boolean) => {
      render(null, host);
      host.remove();
      resolve(ok);
    };
    render(
      <Modal
        title={o.title}
        onClose={() => done(false)}
        onSubmit={() => done(true)}
        testid="confirm-dialog"
        footer={
          <>
            <button type="button" class="ghost" onClick={() => done(false)}>Cancel</button>
            <button
              type="submit"
              class={o.danger ? "danger" : "primary"}
              data-testid="confirm-ok"
              autofocus
            >
              {o.confirm ?? "Confirm"}
            </button>
          </>
        }
      >
        {o.body ? <div class="modal-text">{o.body}</div> : null}
      </Modal>,
      host,
    );
  });
}
