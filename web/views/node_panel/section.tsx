/**
 * One titled block of the details panel: an icon, a title, an optional count or note at the
 * right, and the body. Every section of the panel looks the same through this.
 *
 * @module
 */
import type { ComponentChildren } from "preact";
import { Icon } from "../../ui/icon.tsx";

/** Properties of {@link Section}. */
export interface SectionProps {
  title: string;
  icon: string;
  /** Shown muted after the title (a count, a unit, a summary). */
  note?: ComponentChildren;
  /** Controls at the right of the title row. */
  tools?: ComponentChildren;
  testid?: string;
  children: ComponentChildren;
}

/** A panel section. */
export function Section(p: SectionProps) {
  return (
    <section class="psec" data-testid={p.testid}>
      <header class="psec-head">
        <Icon name={p.icon} size={15} />
        <h3>{p.title}</h3>
        {p.note !== undefined && p.note !== null ? <span class="psec-note">{p.note}</span> : null}
        <span class="psec-tools">{p.tools}</span>
      </header>
      {p.children}
    </section>
  );
}

/** A one-line muted message inside a section ("no disks reported"). */
export function Quiet({ children }: { children: ComponentChildren }) {
  return <p class="psec-quiet">{children}</p>;
}

/** A usage bar: `pct` 0–100, amber from 75, red from 90 (unless told otherwise). */
export function UsageBar(
  { pct, warn = 75, crit = 90 }: { pct: number | null | undefined; warn?: number; crit?: number },
) {
  const v = pct ?? 0;
  const cls = v >= crit ? "bar crit" : v >= warn ? "bar warn" : "bar";
  return (
    <div class={cls}>
      <i style={{ width: `${Math.max(0, Math.min(100, v))}%` }} />
    </div>
  );
}
