/**
 * The Catalog tab: the definitions (name, newest version, deployed version, live / drift) on the
 * left; the open one on the right with its editor (YAML, checked as typed and by the hub, errors
 * by line), Save (a new version), Deploy (with the service's convergence shown live), Build (when
 * it has a build context), Delete, its versions and the diff against the live service. "New
 * definition" starts from an example; "Save and deploy" registers and deploys in one step.
 *
 * @module
 */
import { signal, useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { SwarmCatalogEntry, SwarmProject } from "../../../shared/protocol/mod.ts";
import { ApiError } from "../../../shared/api_client.ts";
import { api } from "../../state/api.ts";
import { formatAge, now } from "../../state/clock.ts";
import { isAdmin } from "../../state/session.ts";
import {
  endPending,
  engineBlocked,
  loadCatalog,
  pending,
  refreshNow,
  registryCatalog,
  startPending,
  swarmCatalog,
  swarmErrors,
  swarmServices,
} from "../../state/swarm.ts";
import { toast } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { confirmDialog } from "../../ui/modal.tsx";
import { DefinitionEditor, type EditorIssue, lineOf } from "./definition_editor.tsx";
import { DiffView, VersionList } from "./catalog_history.tsx";
import { BuildDialog } from "./build_dialog.tsx";
import { BuildHistory } from "./build_history.tsx";
import { deployEntry } from "./service_actions.ts";
import { openTab, swarmItem } from "./swarm_tabs.ts";
import { replicaTone } from "./task_chip.tsx";

// Not a valid definition name (names start with a letter or digit), so it never clashes.
const NEW = "_new";
/** A first definition; its image names the configured registry once the hub said which. */
const example = (registry: string) =>
  `name: hello
image: ${registry}/fleet/hello:1
replicas: 1
command: [sh, -c, "echo hello from $(hostname); sleep 3600"]
env:
  MODE: demo
constraints:
  - node.role == manager
# ports: ["8080:80"]
# mounts: [/srv/data:/data:ro]
# resources:
#   reservations:
#     generic: [{kind: NVIDIA-GPU, value: 1}]
# build_context: hello      # a folder of the hub's projects directory
`;

type Check = typeof import("./definition_check.ts");
let checker: Promise<Check> | null = null;
/** The YAML checker, loaded the first time the editor needs it. */
function loadChecker(): Promise<Check> {
  return checker ??= import("./definition_check.ts");
}

/** The hub's refusal as editor issues, by line when its message names one. */
function hubIssues(err: unknown): EditorIssue[] {
  const e = err as Error;
  const problem = err instanceof ApiError ? err.problem : undefined;
  if (problem?.errors?.length) {
    return problem.errors.map((x) => ({
      line: lineOf(x.message) ?? lineOf(x.path),
      path: /^line \d+$/.test(x.path) ? undefined : x.path,
      // The line shows as its own link: not again in the text.
      message: x.message.replace(/^line \d+:\s*/, ""),
      source: "hub" as const,
    }));
  }
  return [{ line: lineOf(e.message), message: e.message, source: "hub" }];
}

/** Whether the open editor holds edits not saved yet. */
const unsaved = signal(false);

/** Opens definition `name`, asking first when the editor holds unsaved edits. */
async function leaveTo(name: string): Promise<void> {
  if (unsaved.peek()) {
    const ok = await confirmDialog({
      title: "Leave unsaved edits?",
      body: "The definition in the editor has changes that are not saved as a version.",
      confirm: "Discard edits",
      danger: true,
    });
    if (!ok) return;
  }
  unsaved.value = false;
  openTab("catalog", name);
}

function EntryList({ list, open }: { list: SwarmCatalogEntry[]; open: string | null }) {
  // Without the engine the last live answer is stale: show no replica counts then.
  const live = new Map(
    (engineBlocked.value ? [] : swarmServices.value ?? []).map((s) => [s.name, s]),
  );
  return (
    <nav class="sw-cat-list card" data-testid="catalog-list">
      {isAdmin.value
        ? (
          <button
            type="button"
            class={open === NEW ? "sw-cat-item new on" : "sw-cat-item new"}
            disabled={engineBlocked.value !== null}
            title={engineBlocked.value ?? undefined}
            onClick={() => void leaveTo(NEW)}
            data-testid="catalog-new"
          >
            <Icon name="plus" size={14} /> New definition
          </button>
        )
        : null}
      {list.map((e) => {
        const s = live.get(e.name);
        return (
          <button
            type="button"
            key={e.name}
            class={open === e.name ? "sw-cat-item on" : "sw-cat-item"}
            onClick={() => void leaveTo(e.name)}
            data-testid="catalog-item"
            data-name={e.name}
          >
            <span class="sw-cat-name">
              <b>{e.name}</b>
              <span class="mute num">v{e.version}</span>
            </span>
            <span class="sw-cat-meta">
              {s
                ? (
                  <span
                    class={`chip state tone-${replicaTone(s.replicas_running, s.replicas_desired)}`}
                  >
                    <i class="state-dot" />
                    {s.replicas_running}/{s.replicas_desired ?? "global"}
                  </span>
                )
                : engineBlocked.value
                ? (
                  <span class="chip state tone-off" title="live state unknown: no engine">
                    {e.deployed_version !== null
                      ? `deployed v${e.deployed_version}`
                      : "never deployed"}
                  </span>
                )
                : <span class="chip state tone-off">not deployed</span>}
              {s?.drift ? <span class="chip sw-drift">drift</span> : null}
              {e.deployed_version !== null && e.deployed_version !== e.version
                ? (
                  <span class="chip sw-behind" title="the live service runs an older version">
                    runs v{e.deployed_version}
                  </span>
                )
                : null}
            </span>
          </button>
        );
      })}
      {!list.length ? <p class="mute sw-cat-empty">No definitions yet.</p> : null}
    </nav>
  );
}

/** `text` with its `build_context:` line set to `folder` (added at the end when missing). */
function withContext(text: string, folder: string): string {
  const line = `build_context: ${folder}`;
  if (/^build_context:.*$/m.test(text)) return text.replace(/^build_context:.*$/m, line);
  return `${text.replace(/\n*$/, "")}\n${line}\n`;
}

/** The projects directory's folders, to pick a definition's build context from. */
function Projects({ text, onPick }: { text: string; onPick: (text: string) => void }) {
  const list = useSignal<SwarmProject[] | null>(null);
  useEffect(() => {
    let gone = false;
    // No projects directory is not an error here: the row just stays away.
    api.swarmProjects().then((p) => !gone && (list.value = p), () => {});
    return () => void (gone = true);
  }, []);
  if (!list.value?.length) return null;
  const current = /^build_context:\s*(\S+)/m.exec(text)?.[1];
  return (
    <div class="sw-projects" data-testid="projects">
      <span class="mute">Build context:</span>
      {list.value.slice(0, 24).map((p) => (
        <button
          type="button"
          key={p.name}
          class={`chip sw-project${p.name === current ? " on" : ""}`}
          disabled={!p.has_dockerfile}
          title={p.has_dockerfile
            ? `build from ${p.name}/Dockerfile`
            : "no Dockerfile in this folder"}
          onClick={() => onPick(withContext(text, p.name))}
        >
          {p.name}
        </button>
      ))}
    </div>
  );
}

/** The live state of a just-deployed definition: replicas converging, or how it ended. */
function LiveLine({ name }: { name: string }) {
  if (engineBlocked.value) return null;
  const s = (swarmServices.value ?? []).find((x) => x.name === name);
  const p = pending.value[name];
  if (!s && !p) return null;
  return (
    <div class="sw-liveline" data-testid="catalog-live" data-state={p?.state ?? "idle"}>
      {p?.state === "working" ? <span class="spinner small" /> : null}
      {p?.state === "done" ? <Icon name="check" size={14} /> : null}
      {p?.state === "stuck" ? <Icon name="alert" size={14} /> : null}
      <span>
        {p?.state === "working" ? `${p.label} · ` : ""}
        {s
          ? (
            <>
              <b class="num">{s.replicas_running}</b>/{s.replicas_desired ?? "global"} running
              {s.tasks_failed && p?.state !== "stuck"
                ? <span class="bad-text">{` · ${s.tasks_failed} failed`}</span>
                : null}
            </>
          )
          : "waiting for the service…"}
        {p?.state === "stuck" ? <span class="bad-text">{` · ${p.detail}`}</span> : null}
      </span>
      {s
        ? (
          <button type="button" class="link" onClick={() => openTab("services")}>
            Services tab →
          </button>
        )
        : null}
    </div>
  );
}

function EntryPane({ entry, isNew }: { entry: SwarmCatalogEntry | null; isNew: boolean }) {
  const admin = isAdmin.value;
  // Writes need the engine (the hub checks it is a manager first): disabled, with the reason.
  const blocked = engineBlocked.value;
  const text = useSignal(
    isNew ? example(registryCatalog.peek()?.registry ?? "10.0.0.10:5000") : "",
  );
  const saved = useSignal(isNew ? "" : "\u0000");
  const initial = useRef(text.peek()).current;
  const checkIssues = useSignal<EditorIssue[]>([]);
  const hubErrors = useSignal<EditorIssue[]>([]);
  const note = useSignal("");
  const busy = useSignal<string | null>(null);
  const section = useSignal<"definition" | "versions" | "diff" | "builds">("definition");
  const building = useSignal(false);
  const tick = useSignal(0);

  // Show the entry's definition as YAML (the YAML it came as, when it came as YAML).
  const key = entry ? `${entry.name}@${entry.version}` : "new";
  useEffect(() => {
    if (!entry) return;
    let gone = false;
    (async () => {
      const v = await api.swarmCatalogVersion(entry.name, entry.version).catch(() => null);
      const yaml = v?.yaml ?? (await loadChecker()).definitionYaml(entry.definition);
      if (gone) return;
      // Keep what the operator is typing; otherwise show the newest version.
      if (text.peek() === saved.peek() || saved.peek() === "\u0000") text.value = yaml;
      saved.value = yaml;
    })();
    return () => void (gone = true);
  }, [key]);

  // Check as the operator types (debounced).
  useEffect(() => {
    const t = setTimeout(async () => {
      const { checkDefinition } = await loadChecker();
      checkIssues.value = text.peek().trim()
        ? checkDefinition(text.peek()).map((i) => ({ ...i, source: "check" as const }))
        : [];
    }, 250);
    return () => clearTimeout(t);
  }, [text.value]);

  const dirty = text.value !== saved.value;
  // A new definition counts once it differs from the example it started as.
  useEffect(() => {
    unsaved.value = entry ? dirty && saved.value !== "\u0000" : text.value !== initial;
  }, [dirty, text.value]);
  useEffect(() => () => void (unsaved.value = false), []);
  const issues = hubErrors.value.length ? hubErrors.value : checkIssues.value;

  const save = async (deploy: boolean) => {
    busy.value = deploy ? "deploy" : "save";
    hubErrors.value = [];
    const body = { yaml: text.value, ...(note.value.trim() ? { note: note.value.trim() } : {}) };
    const name = entry?.name ??
      (/^name:\s*["']?([A-Za-z0-9_-]+)/m.exec(text.value)?.[1] ?? "");
    try {
      if (deploy) {
        if (name) startPending(name, { action: "deploy", label: `deploying ${name}` });
        const r = await api.swarmDeploy(body);
        for (const w of r.warnings) toast(`${r.name}: ${w}`, "info");
        toast(`${r.name} deployed (v${r.version ?? "?"})`, "ok");
        refreshNow();
        await loadCatalog();
        openTab("catalog", r.name);
      } else {
        const e = entry
          ? await api.swarmCatalogUpdate(entry.name, body)
          : await api.swarmCatalogCreate(body);
        toast(
          entry && e.version === entry.version
            ? `${e.name}: unchanged (v${e.version})`
            : `${e.name} saved as v${e.version}`,
          "ok",
        );
        saved.value = text.value;
        note.value = "";
        await loadCatalog();
        if (!entry) openTab("catalog", e.name);
      }
      tick.value++;
    } catch (err) {
      if (deploy && name) endPending(name);
      hubErrors.value = hubIssues(err);
    } finally {
      busy.value = null;
    }
  };

  const deploy = async (version?: number) => {
    if (!entry) return;
    busy.value = "deploy";
    try {
      await deployEntry(entry.name, version);
      tick.value++;
    } catch {
      /* toasted */
    } finally {
      busy.value = null;
    }
  };

  const remove = async () => {
    if (!entry) return;
    const live = (swarmServices.peek() ?? []).some((s) => s.name === entry.name);
    const ok = await confirmDialog({
      title: `Delete ${entry.name} from the catalog?`,
      body: live
        ? "Its definition and every version are forgotten. The live service keeps running; stop it from the Services tab."
        : "Its definition and every version are forgotten.",
      confirm: "Delete definition",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.swarmCatalogDelete(entry.name);
      toast(`${entry.name} deleted from the catalog`, "ok");
      await loadCatalog();
      openTab("catalog");
    } catch (err) {
      toast(`Delete failed: ${(err as Error).message}`, "error");
    }
  };

  return (
    <section class="sw-cat-pane card" data-testid="catalog-pane" data-name={entry?.name ?? ""}>
      <header class="sw-pane-head">
        <div>
          <h3>
            {entry ? entry.name : "New definition"}
            {entry ? <span class="chip sw-ver num">v{entry.version}</span> : null}
            {entry?.deployed_version
              ? <span class="chip sw-deployed">deployed v{entry.deployed_version}</span>
              : null}
          </h3>
          <p class="mute">
            {entry
              ? (
                <>
                  changed {formatAge(entry.updated_at, now.value)} ago by {entry.updated_by} ·{" "}
                  <code>{entry.definition.image}</code>
                </>
              )
              : "Write the definition as YAML: its syntax is checked as you type, its fields by the hub when you save."}
          </p>
        </div>
        {admin
          ? (
            <div class="sw-pane-actions">
              {entry?.definition.build_context
                ? (
                  <button
                    type="button"
                    disabled={blocked !== null}
                    title={blocked ?? undefined}
                    onClick={() => (building.value = true)}
                    data-testid="catalog-build"
                  >
                    <Icon name="box" size={14} /> Build
                  </button>
                )
                : null}
              {entry
                ? (
                  <button
                    type="button"
                    class="primary"
                    disabled={!!busy.value || blocked !== null}
                    onClick={() => void deploy()}
                    data-testid="catalog-deploy"
                    title={blocked ??
                      (dirty ? "Deploys the saved version; save your edits first" : undefined)}
                  >
                    {busy.value === "deploy"
                      ? <span class="spinner small" />
                      : <Icon name="play" size={13} />}
                    {busy.value === "deploy" ? "Deploying…" : `Deploy v${entry.version}`}
                  </button>
                )
                : null}
              {entry
                ? (
                  <button
                    type="button"
                    class="ghost icon sw-stop"
                    disabled={blocked !== null}
                    title={blocked ?? "Delete from the catalog"}
                    aria-label="Delete"
                    onClick={() => void remove()}
                  >
                    <Icon name="trash" size={15} />
                  </button>
                )
                : null}
            </div>
          )
          : null}
      </header>
      {entry ? <LiveLine name={entry.name} /> : null}
      {entry
        ? (
          <div class="segmented sw-sections" role="tablist">
            {(entry.definition.build_context
              ? ["definition", "versions", "diff", "builds"] as const
              : ["definition", "versions", "diff"] as const).map((s) => (
                <button
                  key={s}
                  type="button"
                  role="tab"
                  class={section.value === s ? "on" : ""}
                  aria-selected={section.value === s}
                  onClick={() => (section.value = s)}
                  data-testid={`catalog-section-${s}`}
                >
                  {s === "definition"
                    ? "Definition"
                    : s === "versions"
                    ? "Versions"
                    : s === "builds"
                    ? "Builds"
                    : "Diff with live"}
                </button>
              ))}
          </div>
        )
        : null}
      {section.value === "definition" || !entry
        ? (
          <>
            <DefinitionEditor
              text={text.value}
              onInput={(t) => {
                text.value = t;
                hubErrors.value = [];
              }}
              issues={issues}
              readOnly={!admin || blocked !== null}
            />
            {admin
              ? (
                <Projects
                  text={text.value}
                  onPick={(t) => {
                    text.value = t;
                    hubErrors.value = [];
                  }}
                />
              )
              : null}
            {admin
              ? (
                <div class="sw-editor-actions">
                  <input
                    class="sw-note-input"
                    placeholder="What changed (optional note for this version)"
                    value={note.value}
                    onInput={(e) => (note.value = (e.target as HTMLInputElement).value)}
                    maxLength={500}
                  />
                  {dirty && entry ? <span class="warn-text sw-unsaved">unsaved</span> : null}
                  <button
                    type="button"
                    disabled={!!busy.value || (!dirty && !!entry) ||
                      checkIssues.value.length > 0 || blocked !== null}
                    title={blocked ?? undefined}
                    onClick={() => void save(false)}
                    data-testid="catalog-save"
                  >
                    {busy.value === "save" ? "Saving…" : entry ? "Save new version" : "Save"}
                  </button>
                  <button
                    type="button"
                    class="primary"
                    disabled={!!busy.value || checkIssues.value.length > 0 ||
                      (!dirty && !!entry) || blocked !== null}
                    title={blocked ?? undefined}
                    onClick={() => void save(true)}
                    data-testid="catalog-save-deploy"
                  >
                    {busy.value === "deploy" ? <span class="spinner small" /> : null}
                    {busy.value === "deploy" ? "Deploying…" : "Save and deploy"}
                  </button>
                </div>
              )
              : null}
          </>
        )
        : section.value === "versions"
        ? (
          <VersionList
            name={entry.name}
            deployed={entry.deployed_version}
            tick={tick.value}
            onLoad={(v) => {
              void (async () => {
                text.value = v.yaml ?? (await loadChecker()).definitionYaml(v.definition);
                section.value = "definition";
              })();
            }}
            onDeploy={(v) => void deploy(v)}
          />
        )
        : section.value === "builds"
        ? <BuildHistory name={entry.name} tick={tick.value} />
        : <DiffView name={entry.name} tick={tick.value} />}
      {building.value && entry
        ? (
          <BuildDialog
            e={entry}
            onClose={() => {
              building.value = false;
              tick.value++;
            }}
          />
        )
        : null}
    </section>
  );
}

/** The catalog tab. */
export function CatalogTab() {
  const list = swarmCatalog.value;
  const err = swarmErrors.value.catalog;
  const item = swarmItem.value;
  if (!list) {
    return err
      ? (
        <div class="card empty-state table-empty" data-state="error">
          <Icon name="alert" size={26} />
          <h3>Could not read the catalog</h3>
          <p class="error-text">{err}</p>
          <button type="button" onClick={() => void loadCatalog()}>Try again</button>
        </div>
      )
      : (
        <div class="card empty-state table-empty" data-state="loading">
          <span class="spinner" /> Reading the catalog…
        </div>
      );
  }
  const sorted = [...list].sort((a, b) => a.name.localeCompare(b.name));
  const open = item === NEW
    ? NEW
    : sorted.find((e) => e.name === item)?.name ?? sorted[0]?.name ?? null;
  const entry = sorted.find((e) => e.name === open) ?? null;
  return (
    <div class="sw-catalog" data-testid="catalog-tab">
      <EntryList list={sorted} open={open} />
      {open === NEW || (!entry && isAdmin.value && !engineBlocked.value)
        ? <EntryPane key="new" entry={null} isNew />
        : entry
        ? <EntryPane key={entry.name} entry={entry} isNew={false} />
        : (
          <div class="card empty-state table-empty">
            <Icon name="box" size={28} />
            <h3>The catalog is empty</h3>
            <p>An admin registers service definitions here, or with the API and MCP.</p>
          </div>
        )}
    </div>
  );
}
