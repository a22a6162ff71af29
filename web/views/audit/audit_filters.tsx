/**
 * The Audit view's filter bar: action (a family or one action), actor (token name) and target
 * (exact, e.g. a node id or `node/container`), the filters `GET /api/v1/audit` supports. Text
 * filters apply on Enter or when the field loses focus; names seen in the list are offered.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { auditEntries, auditFilter, setAuditFilter } from "./audit_state.ts";
import { ACTION_CHOICES } from "./audit_format.ts";
import { Icon } from "../../ui/icon.tsx";
import { nodeIds } from "../../state/fleet.ts";

/** The filter bar; `count` is how many entries are listed. */
export function AuditFilters({ count, more }: { count: number; more: boolean }) {
  const f = auditFilter.value;
  const actor = useSignal(f.actor ?? "");
  const target = useSignal(f.target ?? "");
  useEffect(() => {
    actor.value = f.actor ?? "";
    target.value = f.target ?? "";
  }, [f]);
  const apply = () => {
    if (
      (actor.value.trim() || undefined) === f.actor &&
      (target.value.trim() || undefined) === f.target
    ) {
      return;
    }
    setAuditFilter({ ...f, actor: actor.value, target: target.value });
  };
  const actors = [...new Set(auditEntries.value.map((e) => e.actor.name))].sort();
  const any = !!(f.action || f.actor || f.target);
  return (
    <div class="filter-bar" data-testid="audit-filters">
      <Icon name="filter" size={15} />
      <select
        value={f.action ?? ""}
        onChange={(e) =>
          setAuditFilter({ ...f, action: (e.target as HTMLSelectElement).value || undefined })}
        aria-label="Action"
        data-testid="audit-filter-action"
      >
        <option value="">Any action</option>
        {ACTION_CHOICES.map((c) => (
          <option key={c.value} value={c.value} class={c.family ? "fam" : "sub"}>
            {c.family ? c.label : `\u2003${c.label}`}
          </option>
        ))}
      </select>
      <input
        type="search"
        placeholder="Who (token name)"
        list="audit-actors"
        value={actor.value}
        onInput={(e) => (actor.value = (e.target as HTMLInputElement).value)}
        onKeyDown={(e) => e.key === "Enter" && apply()}
        onBlur={apply}
        aria-label="Who"
        data-testid="audit-filter-actor"
      />
      <datalist id="audit-actors">
        {actors.map((a) => <option key={a} value={a} />)}
      </datalist>
      <input
        type="search"
        placeholder="Target (node id, node/container)"
        list="audit-targets"
        value={target.value}
        onInput={(e) => (target.value = (e.target as HTMLInputElement).value)}
        onKeyDown={(e) => e.key === "Enter" && apply()}
        onBlur={apply}
        aria-label="Target"
        data-testid="audit-filter-target"
      />
      <datalist id="audit-targets">
        {nodeIds.value.slice(0, 500).map((n) => <option key={n} value={n} />)}
      </datalist>
      {any
        ? (
          <button
            type="button"
            class="ghost"
            onClick={() => setAuditFilter({})}
            data-testid="audit-filter-clear"
          >
            Clear
          </button>
        )
        : null}
      <span class="filter-count mute">
        <span class="num">{count}</span> {count === 1 ? "entry" : "entries"}
        {more ? " (more below)" : ""}
      </span>
    </div>
  );
}
