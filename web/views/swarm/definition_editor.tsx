/**
 * The definition editor: YAML with a line-number gutter, checked as the operator types (in the
 * browser, with the hub's schema) and on save (by the hub). Each error names its line; its
 * number turns red in the gutter and a click on the error puts the cursor on that line.
 *
 * @module
 */
import { useRef } from "preact/hooks";
import { Icon } from "../../ui/icon.tsx";

/** An error to show: its line (1-based) when known. */
export interface EditorIssue {
  line: number | null;
  path?: string;
  message: string;
  /** Where it came from: the browser's check while typing, or the hub's answer. */
  source: "check" | "hub";
}

/** The line an error message of the hub names (`line 4`, `4:7`), if any. */
export function lineOf(message: string): number | null {
  const m = /\bline (\d+)/i.exec(message) ?? /\bat (\d+):\d+/.exec(message);
  return m ? Number(m[1]) : null;
}

/** The editor. */
export function DefinitionEditor({ text, onInput, issues, readOnly, rows = 22 }: {
  text: string;
  onInput: (text: string) => void;
  issues: EditorIssue[];
  readOnly?: boolean;
  rows?: number;
}) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const count = Math.max(text.split("\n").length, rows);
  const bad = new Set(issues.map((i) => i.line).filter((l): l is number => l !== null));
  const goTo = (line: number) => {
    const el = area.current;
    if (!el) return;
    const lines = el.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    const lh = parseFloat(getComputedStyle(el).lineHeight) || 18;
    el.scrollTop = Math.max(0, (line - 4) * lh);
  };
  return (
    <div class="sw-editor-wrap">
      <div class={`sw-editor${issues.length ? " has-errors" : ""}`}>
        <div class="sw-gutter" ref={gutter} aria-hidden="true">
          {Array.from(
            { length: count },
            (_, i) => <span key={i} class={bad.has(i + 1) ? "bad" : undefined}>{i + 1}</span>,
          )}
        </div>
        <textarea
          ref={area}
          class="mono"
          spellcheck={false}
          rows={rows}
          value={text}
          readOnly={readOnly}
          onInput={(e) => onInput((e.target as HTMLTextAreaElement).value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = (e.target as HTMLElement).scrollTop;
          }}
          onKeyDown={(e) => {
            // Tab indents (two spaces) rather than leaving the editor.
            if (e.key !== "Tab" || readOnly) return;
            e.preventDefault();
            const el = e.currentTarget as HTMLTextAreaElement;
            const { selectionStart: a, selectionEnd: b, value } = el;
            el.value = value.slice(0, a) + "  " + value.slice(b);
            el.setSelectionRange(a + 2, a + 2);
            onInput(el.value);
          }}
          data-testid="definition-yaml"
          aria-label="Service definition (YAML)"
        />
      </div>
      {issues.length
        ? (
          <ul class="sw-issues" role="alert" data-testid="definition-errors">
            {issues.map((i, n) => (
              <li key={n} data-line={i.line ?? ""} data-source={i.source}>
                <Icon name="alert" size={13} />
                {i.line !== null
                  ? (
                    <button type="button" class="link sw-line" onClick={() => goTo(i.line!)}>
                      line {i.line}
                    </button>
                  )
                  : null}
                {i.path ? <code>{i.path}</code> : null}
                <span>{i.message}</span>
                {i.source === "hub" ? <span class="chip sw-hub-said">hub</span> : null}
              </li>
            ))}
          </ul>
        )
        : null}
    </div>
  );
}
