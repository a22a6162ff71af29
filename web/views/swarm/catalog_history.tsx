/**
 * A catalog entry's history and drift: the versions (newest first, who, when, note; one opens
 * read-only, can be loaded into the editor, deployed or compared with the live service), and the
 * diff of the live service against a version, field by field.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { SwarmCatalogVersion, SwarmDiff } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatTime } from "../../state/format.ts";
import { isAdmin } from "../../state/session.ts";
import { Icon } from "../../ui/icon.tsx";

function show(v: unknown): string {
  if (v === undefined || v === null) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** The diff of the live service against `version` (newest when left out). */
export function DiffView(
  { name, version, tick }: { name: string; version?: number; tick: number },
) {
  const diff = useSignal<SwarmDiff | null>(null);
  const error = useSignal<string | null>(null);
  useEffect(() => {
    let gone = false;
    api.swarmCatalogDiff(name, version).then((d) => {
      if (!gone) {
        diff.value = d;
        error.value = null;
      }
    }, (err) => !gone && (error.value = (err as Error).message));
    return () => void (gone = true);
  }, [name, version, tick]);
  const d = diff.value;
  if (error.value) return <p class="error-text">{error.value}</p>;
  if (!d) {
    return (
      <p class="mute">
        <span class="spinner small" /> Comparing with the live service…
      </p>
    );
  }
  if (!d.deployed) {
    return (
      <div class="sw-diff-none" data-testid="diff" data-drift="none">
        <Icon name="box" size={16} /> No service named <b>{name}</b> runs: nothing to compare.
      </div>
    );
  }
  if (!d.drift) {
    return (
      <div class="sw-diff-none ok" data-testid="diff" data-drift="0">
        <Icon name="check" size={16} /> The live service matches v{d.version}.
      </div>
    );
  }
  return (
    <div data-testid="diff" data-drift="1">
      <p class="sw-diff-head warn-text">
        <Icon name="alert" size={14} /> The live service differs from v{d.version} in{" "}
        {d.fields.length} field{d.fields.length === 1 ? "" : "s"}:
      </p>
      <table class="grid sw-diff-table">
        <thead>
          <tr>
            <th>Field</th>
            <th>Definition v{d.version}</th>
            <th>Live</th>
          </tr>
        </thead>
        <tbody>
          {d.fields.map((f) => (
            <tr key={f.field} data-testid="diff-field" data-field={f.field}>
              <td>
                <code>{f.field}</code>
              </td>
              <td class="sw-diff-old">
                <code>{show(f.catalog)}</code>
              </td>
              <td class="sw-diff-new">
                <code>{show(f.live)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The versions of `name`; `deployed` is the version last deployed. */
export function VersionList({ name, deployed, tick, onLoad, onDeploy }: {
  name: string;
  deployed: number | null;
  tick: number;
  onLoad: (v: SwarmCatalogVersion) => void;
  onDeploy: (version: number) => void;
}) {
  const list = useSignal<SwarmCatalogVersion[] | null>(null);
  const error = useSignal<string | null>(null);
  const open = useSignal<number | null>(null);
  const compare = useSignal<number | null>(null);
  useEffect(() => {
    let gone = false;
    api.swarmCatalogVersions(name).then(
      (v) => !gone && (list.value = v),
      (err) => !gone && (error.value = (err as Error).message),
    );
    return () => void (gone = true);
  }, [name, tick]);
  if (error.value) return <p class="error-text">{error.value}</p>;
  if (!list.value) {
    return (
      <p class="mute">
        <span class="spinner small" /> Reading versions…
      </p>
    );
  }
  const admin = isAdmin.value;
  return (
    <ol class="sw-versions" data-testid="versions">
      {list.value.map((v) => (
        <li key={v.version} class={open.value === v.version ? "open" : ""} data-version={v.version}>
          <div class="sw-version-head">
            <button
              type="button"
              class="link sw-vnum"
              onClick={() => (open.value = open.value === v.version ? null : v.version)}
            >
              v{v.version}
            </button>
            {deployed === v.version ? <span class="chip sw-deployed">deployed</span> : null}
            <span class="mute" title={formatTime(v.created_at)}>
              {formatAge(v.created_at, now.value)} ago · {v.created_by}
            </span>
            {v.note ? <span class="sw-note">{v.note}</span> : null}
            <span class="sw-version-actions">
              <button
                type="button"
                class="small"
                onClick={() => (compare.value = compare.value === v.version ? null : v.version)}
              >
                {compare.value === v.version ? "Hide diff" : "Diff with live"}
              </button>
              {admin
                ? (
                  <>
                    <button
                      type="button"
                      class="small"
                      onClick={() => onLoad(v)}
                    >
                      Edit from here
                    </button>
                    <button
                      type="button"
                      class="small"
                      onClick={() =>
                        onDeploy(v.version)}
                      data-testid="version-deploy"
                    >
                      Deploy v{v.version}
                    </button>
                  </>
                )
                : null}
            </span>
          </div>
          {open.value === v.version
            ? (
              <pre class="json sw-version-body">{v.yaml ?? JSON.stringify(v.definition, null, 2)}</pre>
            )
            : null}
          {compare.value === v.version
            ? <DiffView name={name} version={v.version} tick={tick} />
            : null}
        </li>
      ))}
    </ol>
  );
}
