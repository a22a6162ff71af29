/**
 * The audit table: when, who (token name and kind), the action, its target (node names, a
 * cluster, a container, a token), a one-line summary and the result, green `ok` or red `error`.
 * A row opens to show its whole detail; an exec entry links to its run's output.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { AuditEntry } from "../../../shared/protocol/mod.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatTime } from "../../state/format.ts";
import { openRun } from "../../state/exec.ts";
import { selectedNode } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { auditFresh } from "./audit_state.ts";
import { execIdOf, FAMILIES, family, notConnected, summary, targetParts } from "./audit_format.ts";

function Target({ e }: { e: AuditEntry }) {
  const parts = targetParts(e);
  if (!parts.length) return <span class="mute">—</span>;
  const shown = parts.slice(0, 3);
  return (
    <span class="audit-target">
      {shown.map((p, i) =>
        p.node
          ? (
            <button
              type="button"
              key={i}
              class="chip tgt node"
              title={p.node}
              onClick={(ev) => {
                ev.stopPropagation();
                selectedNode.value = p.node!;
              }}
            >
              {p.value}
            </button>
          )
          : (
            <span key={i} class={`chip tgt ${p.kind}`} title={`${p.kind} ${p.value}`}>
              {p.kind === "cluster" ? "cluster " : ""}
              {p.value}
            </span>
          )
      )}
      {parts.length > 3
        ? (
          <span class="chip tgt more" title={parts.slice(3).map((p) => p.value).join(", ")}>
            +{parts.length - 3}
          </span>
        )
        : null}
    </span>
  );
}

function Detail({ e }: { e: AuditEntry }) {
  const rows = Object.entries(e.detail ?? {});
  return (
    <tr class="audit-detail-row">
      <td colSpan={6}>
        <dl class="audit-detail" data-testid="audit-detail">
          <dt>Entry</dt>
          <dd>
            #{e.id} · {new Date(e.at).toLocaleString()}
          </dd>
          <dt>Token</dt>
          <dd>
            {e.actor.name}{" "}
            ({e.actor.kind}){e.actor.token_id ? <code class="mute">{e.actor.token_id}</code> : null}
          </dd>
          {e.target
            ? (
              <>
                <dt>Target</dt>
                <dd>
                  <code>{e.target}</code>
                </dd>
              </>
            )
            : null}
          {rows.map(([k, v]) => (
            <>
              <dt key={`k${k}`}>{k}</dt>
              <dd key={`v${k}`}>
                {typeof v === "string"
                  ? <code class="wrap">{v}</code>
                  : <code class="wrap">{JSON.stringify(v)}</code>}
              </dd>
            </>
          ))}
        </dl>
      </td>
    </tr>
  );
}

function Row({ e }: { e: AuditEntry }) {
  const open = useSignal(false);
  const f = family(e.action);
  const fam = FAMILIES[f];
  const text = summary(e);
  const execId = execIdOf(e);
  const offline = notConnected(e);
  const fresh = auditFresh.value.has(e.id);
  return (
    <>
      <tr
        class={`clickable audit-row${open.value ? " selected" : ""}${fresh ? " fresh" : ""}`}
        onClick={() => (open.value = !open.value)}
        tabIndex={0}
        onKeyDown={(ev) => {
          if (ev.key === "Enter") open.value = !open.value;
        }}
        data-testid="audit-row"
        data-id={e.id}
        data-action={e.action}
        data-result={e.result}
      >
        <td class="when num" title={new Date(e.at).toLocaleString()}>
          <span>{formatTime(e.at)}</span>
          <span class="mute">{formatAge(e.at, now.value)} ago</span>
        </td>
        <td data-testid="audit-who">
          <span class="who-name">{e.actor.name}</span>
          <span class={`chip kind ${e.actor.kind}`}>{e.actor.kind}</span>
        </td>
        <td>
          <span class={`audit-action fam-${f}`} title={fam?.label ?? f}>
            <Icon name={fam?.icon ?? "activity"} size={14} />
            <code>{e.action}</code>
          </span>
        </td>
        <td>
          <Target e={e} />
        </td>
        <td class="audit-summary">
          {execId
            ? (
              <button
                type="button"
                class="link run-link"
                onClick={(ev) => {
                  ev.stopPropagation();
                  openRun(execId);
                }}
                title="Open this run's output"
                data-testid="audit-open-run"
              >
                run #{execId}
              </button>
            )
            : null}
          {offline
            ? (
              <span class="chip off-chip" title="nodes not connected: reported offline at once">
                {offline} offline
              </span>
            )
            : null}
          <span
            class={e.result === "error"
              ? "sum bad-text"
              : e.action === "exec.run"
              ? "sum cmd"
              : "sum"}
            title={text}
          >
            {text}
          </span>
        </td>
        <td class="right">
          <span
            class={`chip state tone-${e.result === "ok" ? "ok" : "bad"}`}
            data-testid="audit-result"
          >
            {e.result === "ok"
              ? (
                <span class="state-check">
                  <Icon name="check" size={11} />
                </span>
              )
              : <i class="state-dot" />}
            {e.result}
          </span>
        </td>
      </tr>
      {open.value ? <Detail e={e} /> : null}
    </>
  );
}

/** The table of `list`. */
export function AuditTable({ list }: { list: AuditEntry[] }) {
  return (
    <table class="grid audit-table" data-testid="audit-table">
      <thead>
        <tr>
          <th>When</th>
          <th>Who</th>
          <th>Action</th>
          <th>Target</th>
          <th>Details</th>
          <th class="right">Result</th>
        </tr>
      </thead>
      <tbody>{list.map((e) => <Row key={e.id} e={e} />)}</tbody>
    </table>
  );
}
