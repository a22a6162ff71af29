/**
 * Build and push a catalog definition's image: the tag, platform (Jetson nodes need
 * `linux/arm64`), push and no-cache choices, then the build's output streamed live
 * (`GET /swarm/builds/:id/events`) with its step (build → push → done) and how it ended: the
 * pushed reference and digest, or the error. Closing the dialog leaves the build running on the
 * hub; Cancel stops it.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import type { SwarmBuildRun, SwarmCatalogEntry } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { loadCatalog } from "../../state/swarm.ts";
import { toast } from "../../state/ui.ts";
import { Icon } from "../../ui/icon.tsx";
import { FormError, Modal } from "../../ui/modal.tsx";

const KEEP_CHARS = 400_000;
const STEPS = ["build", "push", "done"] as const;

function Steps({ run }: { run: SwarmBuildRun }) {
  const at = STEPS.indexOf(run.step as typeof STEPS[number]);
  return (
    <ol class="sw-steps" data-testid="build-steps">
      {STEPS.filter((s) => s !== "push" || run.push).map((s) => {
        const i = STEPS.indexOf(s);
        const state = (run.state === "failed" || run.state === "cancelled") && i === at
          ? "bad"
          : i < at || run.state === "succeeded"
          ? "done"
          : i === at
          ? "now"
          : "later";
        return (
          <li key={s} class={state}>
            {state === "now"
              ? <span class="spinner small" />
              : state === "done"
              ? <Icon name="check" size={12} />
              : state === "bad"
              ? <Icon name="close" size={12} />
              : <i />}
            {s}
          </li>
        );
      })}
    </ol>
  );
}

/** The build dialog of catalog entry `e`. */
export function BuildDialog({ e, onClose }: { e: SwarmCatalogEntry; onClose: () => void }) {
  const def = e.definition;
  const tagOf = /:([A-Za-z0-9_][A-Za-z0-9_.-]*)$/.exec(def.image.split("/").pop() ?? "");
  const tag = useSignal(tagOf?.[1] ?? "latest");
  const platform = useSignal(def.platform ?? "");
  const push = useSignal(true);
  const noCache = useSignal(false);
  const network = useSignal<"default" | "host" | "none">("default");
  const run = useSignal<SwarmBuildRun | null>(null);
  const output = useSignal("");
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  const runId = run.value?.id;
  useEffect(() => {
    if (!runId) return;
    const abort = new AbortController();
    (async () => {
      const stream = await api.swarmBuildEvents(runId, { signal: abort.signal });
      const reader = stream.getReader();
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value.event === "output") {
          const t = (value.data as { text: string }).text;
          const next = output.peek() + t;
          output.value = next.length > KEEP_CHARS ? next.slice(-KEEP_CHARS) : next;
          // The step moves with the output; the run itself comes with `end`.
          if (/^(The push refers|Pushing|push)/m.test(t) && run.peek()?.step === "build") {
            run.value = { ...run.peek()!, step: "push" };
          }
        } else if (value.event === "end") {
          const r = (value.data as { run: SwarmBuildRun }).run;
          run.value = r;
          if (r.state === "succeeded") toast(`Built ${r.image}`, "ok");
          else if (r.state === "cancelled") toast(`Build of ${e.name} cancelled`, "info");
          else toast(`Build of ${e.name} failed: ${r.error ?? "see its output"}`, "error");
          void loadCatalog();
        }
      }
    })().catch((err) => {
      if (!abort.signal.aborted) error.value = (err as Error).message;
    });
    return () => abort.abort();
  }, [runId]);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [output.value]);

  const start = async () => {
    busy.value = true;
    error.value = null;
    output.value = "";
    try {
      run.value = await api.swarmBuild(e.name, {
        tag: tag.value.trim() || undefined,
        platform: platform.value.trim() || undefined,
        push: push.value,
        no_cache: noCache.value || undefined,
        network: network.value === "default" ? undefined : network.value,
      });
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };

  const cancel = async () => {
    const id = run.value?.id;
    if (!id) return;
    busy.value = true;
    try {
      run.value = await api.swarmBuildCancel(id);
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };

  const r = run.value;
  const value = (ev: Event) => (ev.target as HTMLInputElement).value;
  return (
    <Modal
      title={`Build · ${e.name}`}
      subtitle={
        <>
          from <code>{def.build_context}</code>
          {def.dockerfile
            ? (
              <>
                , <code>{def.dockerfile}</code>
              </>
            )
            : null} on the hub
        </>
      }
      onClose={onClose}
      onSubmit={() => void start()}
      testid="build-dialog"
      wide
      footer={
        <>
          {r
            ? (
              <span
                class={`sw-build-state ${r.state}`}
                data-testid="build-state"
                data-state={r.state}
              >
                {r.state === "running" ? <span class="spinner small" /> : null}
                {r.state === "running"
                  ? `${r.step === "push" ? "pushing" : "building"} ${r.image}`
                  : r.state === "succeeded"
                  ? `pushed ${r.image}${r.digest ? ` · ${r.digest.slice(0, 19)}` : ""}`
                  : r.state === "cancelled"
                  ? r.error ?? "cancelled"
                  : `failed${r.error ? `: ${r.error}` : ""}`}
              </span>
            )
            : null}
          <button type="button" class="ghost" onClick={onClose}>
            {r?.state === "running" ? "Close (keeps building)" : "Close"}
          </button>
          {r?.state === "running"
            ? (
              <button
                type="button"
                class="danger"
                disabled={busy.value}
                onClick={() => void cancel()}
                data-testid="build-cancel"
              >
                {busy.value ? "Cancelling…" : "Cancel build"}
              </button>
            )
            : null}
          {!r || r.state !== "running"
            ? (
              <button type="submit" class="primary" disabled={busy.value} data-testid="build-start">
                {busy.value
                  ? "Starting…"
                  : r
                  ? "Build again"
                  : push.value
                  ? "Build and push"
                  : "Build"}
              </button>
            )
            : null}
        </>
      }
    >
      {!r || r.state !== "running"
        ? (
          <div class="form-grid three sw-build-form">
            <label>
              Tag
              <input
                class="mono"
                value={tag.value}
                onInput={(ev) => (tag.value = value(ev))}
                data-testid="build-tag"
              />
            </label>
            <label>
              Platform
              <input
                class="mono"
                placeholder="engine default"
                list="sw-platforms"
                value={platform.value}
                onInput={(ev) => (platform.value = value(ev))}
              />
              <datalist id="sw-platforms">
                <option value="linux/arm64" />
                <option value="linux/amd64" />
              </datalist>
            </label>
            <label title="Network of the Dockerfile's RUN steps">
              RUN network
              <select
                value={network.value}
                onChange={(
                  ev,
                ) => (network.value = (ev.target as HTMLSelectElement)
                  .value as typeof network.value)}
                data-testid="build-network"
              >
                <option value="default">engine default</option>
                <option value="host">host</option>
                <option value="none">none</option>
              </select>
            </label>
            <div class="sw-build-opts">
              <label class="inline">
                <input
                  type="checkbox"
                  checked={push.value}
                  onChange={(ev) => (push.value = (ev.target as HTMLInputElement).checked)}
                />
                push
              </label>
              <label class="inline">
                <input
                  type="checkbox"
                  checked={noCache.value}
                  onChange={(ev) => (noCache.value = (ev.target as HTMLInputElement).checked)}
                />
                no cache
              </label>
            </div>
          </div>
        )
        : null}
      {r ? <Steps run={r} /> : null}
      {r
        ? (
          <pre
            ref={box}
            class="logs-box sw-build-output"
            data-testid="build-output"
            onScroll={(ev) => {
              const el = ev.currentTarget as HTMLPreElement;
              stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
            }}
          >
            {output.value || "Waiting for the engine…"}
          </pre>
        )
        : null}
      <FormError message={error.value} />
    </Modal>
  );
}
