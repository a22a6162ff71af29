/**
 * The Registry tab: the configured registry's repositories on the left; the open one's tags on
 * the right with digest, size, architectures (an arm64 tag is what Jetson nodes pull) and age.
 * Admins delete a tag (the registry must allow deletes). A reference copies with one click.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { RegistryTags } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { formatAge, now } from "../../state/clock.ts";
import { formatBytes } from "../../state/format.ts";
import { isAdmin } from "../../state/session.ts";
import { loadRegistry, registryCatalog, swarmErrors } from "../../state/swarm.ts";
import { toast } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { confirmDialog } from "../../ui/modal.tsx";

function Tags({ registry, repo }: { registry: string; repo: string }) {
  const tags = useSignal<RegistryTags | null>(null);
  const err = useSignal<string | null>(null);
  const tick = useSignal(0);
  useEffect(() => {
    let gone = false;
    tags.value = null;
    err.value = null;
    api.registryTags(repo).then(
      (t) => !gone && (tags.value = t),
      (e) => !gone && (err.value = (e as Error).message),
    );
    return () => void (gone = true);
  }, [repo, tick.value]);
  const del = async (tag: string) => {
    const ok = await confirmDialog({
      title: `Delete ${repo}:${tag}?`,
      body:
        "The tag's manifest is deleted from the registry; nodes can no longer pull it. Services already running keep their image.",
      confirm: "Delete tag",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.registryDeleteTag(repo, tag);
      toast(`${repo}:${tag} deleted`, "ok");
    } catch (e) {
      toast(`Delete ${repo}:${tag} failed: ${(e as Error).message}`, "error");
    }
    tick.value++;
    void loadRegistry();
  };
  if (err.value) return <p class="error-text sw-pad">{err.value}</p>;
  if (!tags.value) {
    return (
      <p class="mute sw-pad">
        <span class="spinner small" /> Reading tags…
      </p>
    );
  }
  if (!tags.value.tags.length) return <p class="mute sw-pad">No tags left in {repo}.</p>;
  return (
    <table class="grid sw-tag-table" data-testid="tag-table" data-repo={repo}>
      <thead>
        <tr>
          <th>Tag</th>
          <th>Digest</th>
          <th class="right">Size</th>
          <th>Architectures</th>
          <th class="right">Created</th>
          {isAdmin.value ? <th class="actions-cell" /> : null}
        </tr>
      </thead>
      <tbody>
        {tags.value.tags.map((t) => (
          <tr key={t.tag} data-testid="tag-row" data-tag={t.tag}>
            <td>
              <button
                type="button"
                class="link sw-ref"
                title="Copy the reference"
                onClick={() => {
                  void navigator.clipboard?.writeText(`${registry}/${repo}:${t.tag}`);
                  toast(`Copied ${registry}/${repo}:${t.tag}`, "info");
                }}
              >
                {t.tag}
              </button>
            </td>
            <td>
              <code class="mute" title={t.digest}>
                {t.digest.replace(/^sha256:/, "").slice(0, 12)}
              </code>
            </td>
            <td class="num right">{formatBytes(t.size_b)}</td>
            <td>
              {t.architectures.map((a) => <span key={a} class={`chip sw-arch ${a}`}>{a}</span>)}
              {!t.architectures.length ? <span class="mute">—</span> : null}
            </td>
            <td class="num right">
              {t.created_at ? `${formatAge(t.created_at, now.value)} ago` : "—"}
            </td>
            {isAdmin.value
              ? (
                <td class="actions-cell">
                  <button
                    type="button"
                    class="ghost icon sw-stop"
                    title="Delete this tag"
                    aria-label="Delete tag"
                    onClick={() => void del(t.tag)}
                    data-testid="tag-delete"
                  >
                    <Icon name="trash" size={15} />
                  </button>
                </td>
              )
              : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The registry tab. */
export function RegistryTab() {
  const open = useSignal<string | null>(null);
  useEffect(() => void loadRegistry(), []);
  const cat = registryCatalog.value;
  const err = swarmErrors.value.registry;
  if (!cat) {
    return (
      <div class="card empty-state table-empty" data-state={err ? "error" : "loading"}>
        {err ? <Icon name="alert" size={26} /> : <span class="spinner" />}
        {err
          ? (
            <>
              <h3>Could not read the registry</h3>
              <p class="error-text">{err}</p>
              <button type="button" onClick={() => void loadRegistry()}>Try again</button>
            </>
          )
          : "Reading the registry…"}
      </div>
    );
  }
  if (!cat.registry) {
    return (
      <div class="card empty-state table-empty" data-state="empty">
        <Icon name="disk" size={28} />
        <h3>No registry configured</h3>
        <p>
          Give the hub the LAN registry the nodes pull from (an HTTP registry on the control box):
        </p>
        <pre class="snippet">fleet-hub serve --swarm-registry http://10.0.0.10:5000</pre>
      </div>
    );
  }
  const repos = [...cat.repositories].sort((a, b) => a.name.localeCompare(b.name));
  const cur = repos.find((r) => r.name === open.value)?.name ?? repos[0]?.name ?? null;
  return (
    <div class="sw-registry" data-testid="registry-tab">
      <nav class="sw-cat-list card">
        <div class="sw-reg-head">
          <Icon name="disk" size={15} /> <code>{cat.registry}</code>
          <button
            type="button"
            class="ghost icon"
            title="Reload"
            aria-label="Reload"
            onClick={() => void loadRegistry()}
          >
            <Icon name="refresh" size={14} />
          </button>
        </div>
        {repos.map((r) => (
          <button
            type="button"
            key={r.name}
            class={cur === r.name ? "sw-cat-item on" : "sw-cat-item"}
            onClick={() => (open.value = r.name)}
            data-testid="repo-item"
            data-repo={r.name}
          >
            <span class="sw-cat-name">
              <b>{r.name}</b>
              <span class="mute num">{r.tags} tag{r.tags === 1 ? "" : "s"}</span>
            </span>
          </button>
        ))}
        {!repos.length ? <p class="mute sw-cat-empty">The registry holds no images yet.</p> : null}
      </nav>
      <section class="card table-card sw-tags-pane">
        {cur
          ? <Tags key={cur} registry={cat.registry} repo={cur} />
          : (
            <div class="empty-state table-empty">
              <Icon name="box" size={28} />
              <h3>Nothing pushed yet</h3>
              <p>Build and push from a catalog definition, or push from a workstation:</p>
              <pre class="snippet">{`docker push ${cat.registry}/myapp:1`}</pre>
            </div>
          )}
      </section>
    </div>
  );
}
