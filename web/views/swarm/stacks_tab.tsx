/**
 * The Stacks tab: every stack with its services and replicas (a row opens to its services and
 * the compose file the hub deployed), "Deploy stack" (a name and a compose file, pasted or
 * uploaded; `docker stack deploy` runs on the hub and its output is shown), and Remove.
 *
 * @module
 */
import { Fragment } from "preact";
import { signal, useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { SwarmStack, SwarmStackDetail } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { formatAge, now } from "../../state/clock.ts";
import { isAdmin } from "../../state/session.ts";
import {
  loadStacks,
  refreshNow,
  registryCatalog,
  swarmErrors,
  swarmServices,
  swarmStacks,
} from "../../state/swarm.ts";
import { toast } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { confirmDialog, FormError, Modal } from "../../ui/modal.tsx";
import { replicaTone } from "./task_chip.tsx";
import { openTab } from "./swarm_tabs.ts";

/** A first compose file; its image names the configured registry once the hub said which. */
const example = (registry: string) =>
  `version: "3.8"
services:
  web:
    image: ${registry}/fleet/web:1
    command: ["sh", "-c", "sleep 3600"]
    deploy:
      replicas: 2
`;

function DeployDialog({ onClose }: { onClose: () => void }) {
  const name = useSignal("");
  const compose = useSignal(example(registryCatalog.peek()?.registry ?? "10.0.0.10:5000"));
  const auth = useSignal(false);
  const prune = useSignal(false);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const output = useSignal<string | null>(null);
  const submit = async () => {
    if (output.value !== null) return onClose();
    busy.value = true;
    error.value = null;
    try {
      const r = await api.swarmStackDeploy({
        name: name.value.trim(),
        compose: compose.value,
        with_registry_auth: auth.value || undefined,
        prune: prune.value || undefined,
      });
      output.value = r.output || "(docker stack deploy printed nothing)";
      toast(`Stack ${r.name} deployed`, "ok");
      void loadStacks();
      refreshNow();
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };
  const upload = async (e: Event) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    if (f.size > 262_144) {
      error.value = `${f.name} is ${Math.round(f.size / 1024)} KB; a compose file may be 256 KB`;
      return;
    }
    compose.value = await f.text();
    if (!name.value) {
      name.value = f.name.replace(/\.(ya?ml)$/i, "").toLowerCase().replace(/[^a-z0-9_-]/g, "-");
    }
  };
  return (
    <Modal
      title="Deploy stack"
      subtitle="docker stack deploy on the control box; images must already be in a registry (no build: keys)."
      onClose={onClose}
      onSubmit={() => void submit()}
      testid="stack-dialog"
      wide
      footer={
        <>
          {output.value === null
            ? (
              <>
                <button type="button" class="ghost" onClick={onClose}>Cancel</button>
                <button
                  type="submit"
                  class="primary"
                  disabled={busy.value}
                  data-testid="stack-send"
                >
                  {busy.value ? <span class="spinner small" /> : null}
                  {busy.value ? "Deploying…" : "Deploy"}
                </button>
              </>
            )
            : <button type="submit" class="primary">Done</button>}
        </>
      }
    >
      {output.value === null
        ? (
          <>
            <div class="form-grid">
              <label>
                Stack name
                <input
                  name="stack"
                  placeholder="vision"
                  value={name.value}
                  onInput={(e) => (name.value = (e.target as HTMLInputElement).value)}
                  data-testid="stack-name"
                />
              </label>
              <label>
                Compose file
                <input
                  type="file"
                  accept=".yml,.yaml,text/yaml"
                  onChange={(e) => void upload(e)}
                  data-testid="stack-file"
                />
              </label>
            </div>
            <textarea
              class="mono sw-compose"
              rows={14}
              spellcheck={false}
              value={compose.value}
              onInput={(e) => (compose.value = (e.target as HTMLTextAreaElement).value)}
              data-testid="stack-compose"
            />
            <div class="sw-build-opts">
              <label class="inline">
                <input
                  type="checkbox"
                  checked={auth.value}
                  onChange={(e) => (auth.value = (e.target as HTMLInputElement).checked)}
                />
                with registry auth
              </label>
              <label class="inline">
                <input
                  type="checkbox"
                  checked={prune.value}
                  onChange={(e) => (prune.value = (e.target as HTMLInputElement).checked)}
                />
                prune services no longer in the file
              </label>
            </div>
          </>
        )
        : (
          <>
            <p class="sw-ok-line">
              <Icon name="check" size={15} /> Deployed{" "}
              <b>{name.value}</b>. Its services converge in the Services tab.
            </p>
            <pre class="logs-box sw-cli-output" data-testid="stack-output">{output.value}</pre>
          </>
        )}
      <FormError message={error.value} />
    </Modal>
  );
}

function StackDetail({ name }: { name: string }) {
  const d = useSignal<SwarmStackDetail | null>(null);
  const err = useSignal<string | null>(null);
  const showCompose = useSignal(false);
  const tick = swarmServices.value;
  useEffect(() => {
    let gone = false;
    api.swarmStack(name).then(
      (x) => !gone && (d.value = x),
      (e) => !gone && (err.value = (e as Error).message),
    );
    return () => void (gone = true);
  }, [name, tick]);
  if (err.value) return <p class="error-text">{err.value}</p>;
  if (!d.value) {
    return (
      <p class="mute sw-loading">
        <span class="spinner small" /> Reading the stack…
      </p>
    );
  }
  return (
    <div class="sw-stack-detail" data-testid="stack-detail">
      <table class="grid">
        <thead>
          <tr>
            <th>Service</th>
            <th>Image</th>
            <th>Replicas</th>
            <th>Ended tasks</th>
          </tr>
        </thead>
        <tbody>
          {d.value.service_list.map((s) => (
            <tr key={s.id}>
              <td>
                <button type="button" class="link" onClick={() => openTab("services")}>
                  {s.name}
                </button>
              </td>
              <td>
                <code class="image">{s.image.replace(/@sha256:[a-f0-9]+$/, "")}</code>
              </td>
              <td>
                <span
                  class={`chip state tone-${replicaTone(s.replicas_running, s.replicas_desired)}`}
                >
                  <i class="state-dot" />
                  {s.replicas_running}/{s.replicas_desired ?? "global"}
                </span>
              </td>
              <td>
                {s.tasks_failed ? <span class="bad-text">{s.tasks_failed} failed</span> : null}
                {s.tasks_complete ? <span class="mute">{s.tasks_complete} stopped</span> : null}
                {!s.tasks_failed && !s.tasks_complete ? <span class="mute">—</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {d.value.compose
        ? (
          <>
            <button
              type="button"
              class="link sw-compose-toggle"
              onClick={() => (showCompose.value = !showCompose.value)}
            >
              {showCompose.value ? "Hide" : "Show"} the compose file the hub deployed
            </button>
            {showCompose.value ? <pre class="json">{d.value.compose}</pre> : null}
          </>
        )
        : <p class="mute">Deployed outside the hub: no compose file kept.</p>}
    </div>
  );
}

/** Stacks being removed (their Remove button spins). */
const removing = signal<ReadonlySet<string>>(new Set());

async function removeStack(s: SwarmStack): Promise<void> {
  const ok = await confirmDialog({
    title: `Remove stack ${s.name}?`,
    body: `docker stack rm: its ${s.services} service${
      s.services === 1 ? "" : "s"
    } and networks are removed from the swarm.`,
    confirm: "Remove stack",
    danger: true,
  });
  if (!ok) return;
  removing.value = new Set([...removing.value, s.name]);
  try {
    const r = await api.swarmStackRemove(s.name);
    toast(
      `Stack ${s.name} removed${r.output ? `: ${r.output.split("\n").length} objects` : ""}`,
      "ok",
    );
  } catch (err) {
    toast(`Remove ${s.name} failed: ${(err as Error).message}`, "error");
  }
  const rest = new Set(removing.value);
  rest.delete(s.name);
  removing.value = rest;
  void loadStacks();
  refreshNow();
}

/** The stacks tab. */
export function StacksTab() {
  const deploying = useSignal(false);
  const open = useSignal<string | null>(null);
  const list = swarmStacks.value;
  const err = swarmErrors.value.stacks;
  const admin = isAdmin.value;
  let body;
  if (!list) {
    body = err
      ? (
        <div class="empty-state table-empty" data-state="error">
          <Icon name="alert" size={26} />
          <h3>Could not read the stacks</h3>
          <p class="error-text">{err}</p>
        </div>
      )
      : (
        <div class="empty-state table-empty" data-state="loading">
          <span class="spinner" /> Reading the stacks…
        </div>
      );
  } else if (!list.length) {
    body = (
      <div class="empty-state table-empty" data-state="empty">
        <Icon name="layout" size={28} />
        <h3>No stacks</h3>
        <p>A stack is one compose file deployed as a group of services: one per application.</p>
      </div>
    );
  } else {
    body = (
      <table class="grid sw-stack-table">
        <thead>
          <tr>
            <th>Stack</th>
            <th class="right">Services</th>
            <th>Replicas</th>
            <th>Deployed</th>
            {admin ? <th class="actions-cell" /> : null}
          </tr>
        </thead>
        <tbody>
          {list.map((s) => (
            <Fragment key={s.name}>
              <tr
                class={open.value === s.name ? "clickable open" : "clickable"}
                onClick={() => (open.value = open.value === s.name ? null : s.name)}
                data-testid="stack-row"
                data-stack={s.name}
              >
                <td class="sw-name">
                  <span class={open.value === s.name ? "sw-caret open" : "sw-caret"}>
                    <Icon name="chevron-down" size={14} />
                  </span>
                  <b>{s.name}</b>
                </td>
                <td class="num right">{s.services}</td>
                <td>
                  <span
                    class={`chip state tone-${replicaTone(s.replicas_running, s.replicas_desired)}`}
                  >
                    <i class="state-dot" />
                    {s.replicas_running}/{s.replicas_desired}
                  </span>
                </td>
                <td class="mute">
                  {s.deployed_at
                    ? `${formatAge(s.deployed_at, now.value)} ago by ${s.deployed_by}`
                    : "outside the hub"}
                </td>
                {admin
                  ? (
                    <td class="actions-cell" onClick={(e) => e.stopPropagation()}>
                      <button
                        type="button"
                        class="sw-danger-soft"
                        disabled={removing.value.has(s.name)}
                        onClick={() => void removeStack(s)}
                        data-testid="stack-remove"
                      >
                        {removing.value.has(s.name)
                          ? <span class="spinner small" />
                          : <Icon name="trash" size={13} />}
                        {removing.value.has(s.name) ? "Removing…" : "Remove"}
                      </button>
                    </td>
                  )
                  : null}
              </tr>
              {open.value === s.name
                ? (
                  <tr class="sw-detail-row">
                    <td colSpan={admin ? 5 : 4}>
                      <StackDetail name={s.name} />
                    </td>
                  </tr>
                )
                : null}
            </Fragment>
          ))}
        </tbody>
      </table>
    );
  }
  return (
    <div data-testid="stacks-tab">
      {admin
        ? (
          <div class="sw-tab-actions">
            <button
              type="button"
              class="primary"
              onClick={() => (deploying.value = true)}
              data-testid="stack-deploy"
            >
              <Icon name="plus" size={14} /> Deploy stack
            </button>
          </div>
        )
        : null}
      <div class="card table-card">{body}</div>
      {deploying.value ? <DeployDialog onClose={() => (deploying.value = false)} /> : null}
    </div>
  );
}
