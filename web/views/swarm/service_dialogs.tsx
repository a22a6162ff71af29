/**
 * The Services tab's dialogs: Scale (a replica count) and Rolling update (image, parallelism,
 * delay, failure action, order, force — force is what a re-pushed `:latest` needs; the image field
 * offers the registry's tags of the running image, newest first). A refusal
 * stays in the dialog; on success the row shows the action in flight.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { SwarmService, SwarmUpdate } from "../../../shared/protocol/mod.ts";
import { FormError, Modal } from "../../ui/modal.tsx";
import { api } from "../../state/api.ts";
import { registryCatalog } from "../../state/swarm.ts";
import { scaleService, updateService } from "./service_actions.ts";

const value = (e: Event) => (e.target as HTMLInputElement).value;

/** Scales `s`. */
export function ScaleDialog({ s, onClose }: { s: SwarmService; onClose: () => void }) {
  const n = useSignal(String(s.replicas_desired ?? 1));
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async () => {
    const to = Number(n.value);
    if (!Number.isInteger(to) || to < 0 || to > 1000) {
      error.value = "replicas: a whole number from 0 to 1000";
      return;
    }
    busy.value = true;
    error.value = null;
    try {
      await scaleService(s.name, s.replicas_desired, to);
      onClose();
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };
  return (
    <Modal
      title={`Scale ${s.name}`}
      subtitle={
        <>
          <b class="num">{s.replicas_running}</b> of <b class="num">{s.replicas_desired}</b>{" "}
          replicas running now
        </>
      }
      onClose={onClose}
      onSubmit={() => void submit()}
      testid="scale-dialog"
      footer={
        <>
          <button type="button" class="ghost" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy.value} data-testid="scale-send">
            {busy.value ? "Scaling…" : "Scale"}
          </button>
        </>
      }
    >
      <label>
        Replicas
        <div class="sw-stepper">
          <button
            type="button"
            onClick={() => (n.value = String(Math.max(0, Number(n.value) - 1)))}
            aria-label="One fewer"
          >
            −
          </button>
          <input
            type="number"
            name="replicas"
            min="0"
            max="1000"
            step="1"
            value={n.value}
            onInput={(e) => (n.value = value(e))}
            data-testid="scale-replicas"
          />
          <button
            type="button"
            onClick={() => (n.value = String(Math.min(1000, Number(n.value) + 1)))}
            aria-label="One more"
          >
            +
          </button>
        </div>
      </label>
      <FormError message={error.value} />
    </Modal>
  );
}

/** A rolling update of `s`. */
export function UpdateDialog({ s, onClose }: { s: SwarmService; onClose: () => void }) {
  const image = useSignal(s.image.replace(/@sha256:[a-f0-9]+$/, ""));
  const parallelism = useSignal("1");
  const delay = useSignal("5");
  const failure = useSignal<"pause" | "continue" | "rollback">("pause");
  const order = useSignal<"stop-first" | "start-first">("stop-first");
  const force = useSignal(image.value.endsWith(":latest") || !/:[^/]+$/.test(image.value));
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const tags = useSignal<string[]>([]);
  // The tags the registry holds for this image, newest first, to roll to one by name.
  useEffect(() => {
    const registry = registryCatalog.peek()?.registry;
    const ref = image.peek();
    if (!registry || !ref.startsWith(`${registry}/`)) return;
    const repo = ref.slice(registry.length + 1).replace(/:[^/]+$/, "");
    let gone = false;
    api.registryTags(repo).then((t) => {
      if (gone) return;
      tags.value = [...t.tags].sort((a, b) => (b.created_at ?? 0) - (a.created_at ?? 0))
        .map((x) => `${registry}/${repo}:${x.tag}`);
    }, () => {});
    return () => void (gone = true);
  }, []);
  const submit = async () => {
    const body: SwarmUpdate = {
      failure_action: failure.value,
      order: order.value,
      force: force.value,
    };
    const img = image.value.trim();
    if (img && img !== s.image) body.image = img;
    const p = Number(parallelism.value);
    if (!Number.isInteger(p) || p < 0) {
      error.value = "parallelism: a whole number (0 = all at once)";
      return;
    }
    body.parallelism = p;
    const d = Number(delay.value);
    if (!Number.isFinite(d) || d < 0) {
      error.value = "delay: seconds, 0 or more";
      return;
    }
    body.delay_s = d;
    busy.value = true;
    error.value = null;
    try {
      await updateService(s.name, body);
      onClose();
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };
  return (
    <Modal
      title={`Rolling update · ${s.name}`}
      subtitle="Tasks are replaced a batch at a time; the row shows the update until it completes."
      onClose={onClose}
      onSubmit={() => void submit()}
      testid="update-dialog"
      wide
      footer={
        <>
          <label
            class="switch"
            title="Recreate the tasks even if nothing changed (a re-pushed :latest)"
          >
            <input
              type="checkbox"
              checked={force.value}
              onChange={(e) => (force.value = (e.target as HTMLInputElement).checked)}
              data-testid="update-force"
            />
            <span class="switch-track">
              <i />
            </span>
            Force
          </label>
          <button type="button" class="ghost" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy.value} data-testid="update-send">
            {busy.value ? "Starting…" : "Start update"}
          </button>
        </>
      }
    >
      <label>
        Image
        <input
          name="image"
          class="mono"
          list="sw-update-tags"
          value={image.value}
          onInput={(e) => (image.value = value(e))}
          data-testid="update-image"
        />
        <datalist id="sw-update-tags">
          {tags.value.map((t) => <option key={t} value={t} />)}
        </datalist>
      </label>
      <div class="form-grid">
        <label>
          Parallelism (tasks at a time, 0 = all)
          <input
            type="number"
            min="0"
            max="1000"
            value={parallelism.value}
            onInput={(e) => (parallelism.value = value(e))}
          />
        </label>
        <label>
          Delay between batches (s)
          <input
            type="number"
            min="0"
            step="0.5"
            value={delay.value}
            onInput={(e) => (delay.value = value(e))}
          />
        </label>
        <label>
          When a task fails
          <select
            value={failure.value}
            onChange={(e) => (failure.value = value(e) as typeof failure.value)}
          >
            <option value="pause">pause the update</option>
            <option value="continue">continue</option>
            <option value="rollback">roll back</option>
          </select>
        </label>
        <label>
          Order
          <select
            value={order.value}
            onChange={(e) => (order.value = value(e) as typeof order.value)}
          >
            <option value="stop-first">stop the old task first</option>
            <option value="start-first">start the new task first</option>
          </select>
        </label>
      </div>
      <FormError message={error.value} />
    </Modal>
  );
}
