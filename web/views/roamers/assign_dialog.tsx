/**
 * The assign dialog of the roamer pool: lend an IDLE roamer to a cluster (it provisions the
 * cluster's template), to a template, or to a custom image (with optional command, env and GPU;
 * it serves no queue — jobs sent to the node run there), until the queue is idle, for a fixed number
 * of minutes, or until released by hand. Posts `POST /api/v1/roamers/:id/assign`; the hub's
 * refusal stays in the dialog, success closes it with a toast.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { AssignMode, RoamerAssign } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { clusters, templates } from "../../state/queue.ts";
import { toast } from "../../state/ui.ts";
import { FormError, Modal } from "../../ui/modal.tsx";
import { templateRuns } from "../jobs/job_format.ts";

const MODES: { mode: AssignMode; label: string; hint: string }[] = [
  {
    mode: "until_idle",
    label: "Until idle",
    hint: "Returned to the pool once its queue has been empty for a while.",
  },
  { mode: "minutes", label: "Fixed time", hint: "Returned when the time is up." },
  { mode: "manual", label: "Manual", hint: "Stays until someone releases it." },
];

/** The dialog; render it while open. */
export function AssignDialog({ nodeId, onClose }: { nodeId: string; onClose: () => void }) {
  const kind = useSignal<"cluster" | "template" | "image">(
    clusters.peek().length ? "cluster" : templates.peek().length ? "template" : "image",
  );
  const image = useSignal("");
  const command = useSignal("");
  const envText = useSignal("");
  const gpu = useSignal(false);
  const cluster = useSignal(clusters.peek()[0]?.id ?? "");
  const template = useSignal(templates.peek()[0]?.name ?? "");
  const mode = useSignal<AssignMode>("until_idle");
  const minutes = useSignal("30");
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);

  const tplName = kind.value === "cluster"
    ? clusters.value.find((c) => c.id === cluster.value)?.template ?? null
    : kind.value === "template"
    ? template.value
    : null;
  const tpl = templates.value.find((t) => t.name === tplName);
  const mins = Number(minutes.value);

  // The hub validates the image (its 400 names the field and stays here); env lines are split here.
  const env: Record<string, string> = {};
  const envProblems: string[] = [];
  for (const line of envText.value.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const i = line.indexOf("=");
    if (i < 1) envProblems.push(`env: "${line}" is not KEY=VALUE`);
    else env[line.slice(0, i)] = line.slice(i + 1);
  }
  const body: RoamerAssign = kind.value === "cluster"
    ? { cluster: cluster.value, mode: mode.value }
    : kind.value === "template"
    ? { template: template.value, mode: mode.value }
    : {
      image: image.value.trim(),
      ...(command.value.trim() ? { command: command.value.trim() } : {}),
      ...(Object.keys(env).length ? { env } : {}),
      ...(gpu.value ? { gpu: true } : {}),
      mode: mode.value,
    };
  if (mode.value === "minutes") body.minutes = mins;
  const problem = kind.value === "image" ? envProblems[0] ?? null : null;
  const valid =
    (kind.value === "cluster"
      ? !!cluster.value
      : kind.value === "template"
      ? !!template.value
      : !!image.value.trim()) &&
    !problem && (mode.value !== "minutes" || (Number.isFinite(mins) && mins > 0));

  const submit = async () => {
    if (!valid || busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      await api.assignRoamer(nodeId, body);
      toast(`${nodeId} assigned to ${body.cluster ?? body.template ?? body.image}`, "ok");
      onClose();
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };

  return (
    <Modal
      title="Assign roamer"
      subtitle={
        <>
          Lend <b>{nodeId}</b> to a cluster, or run a template or an image of your choice on it.
        </>
      }
      onClose={onClose}
      onSubmit={() => void submit()}
      testid="assign-dialog"
      wide
      footer={
        <>
          <button type="button" class="ghost" onClick={onClose}>Cancel</button>
          <button
            type="submit"
            class="primary"
            disabled={!valid || busy.value}
            data-testid="assign-submit"
          >
            {busy.value ? "Assigning…" : "Assign"}
          </button>
        </>
      }
    >
      <fieldset class="field">
        <legend>Target</legend>
        <div class="segmented" role="radiogroup">
          <button
            type="button"
            role="radio"
            aria-checked={kind.value === "cluster"}
            class={kind.value === "cluster" ? "on" : ""}
            disabled={!clusters.value.length}
            onClick={() => (kind.value = "cluster")}
            data-testid="assign-kind-cluster"
          >
            A cluster
          </button>
          <button
            type="button"
            role="radio"
            aria-checked={kind.value === "template"}
            class={kind.value === "template" ? "on" : ""}
            disabled={!templates.value.length}
            onClick={() => (kind.value = "template")}
            data-testid="assign-kind-template"
          >
            A template
          </button>
          <button
            type="button"
            role="radio"
            aria-checked={kind.value === "image"}
            class={kind.value === "image" ? "on" : ""}
            onClick={() => (kind.value = "image")}
            data-testid="assign-kind-image"
          >
            A custom image
          </button>
        </div>
        {kind.value === "image"
          ? (
            <div class="custom-image">
              <label>
                Image
                <input
                  name="image"
                  placeholder="127.0.0.1:5000/team/tool:1"
                  value={image.value}
                  onInput={(e) => (image.value = (e.target as HTMLInputElement).value)}
                  data-testid="assign-image"
                />
              </label>
              <label>
                Command <span class="mute">(optional)</span>
                <input
                  name="command"
                  value={command.value}
                  onInput={(e) => (command.value = (e.target as HTMLInputElement).value)}
                  data-testid="assign-command"
                />
              </label>
              <label>
                Environment <span class="mute">(KEY=VALUE, one a line)</span>
                <textarea
                  name="env"
                  rows={3}
                  value={envText.value}
                  onInput={(e) => (envText.value = (e.target as HTMLTextAreaElement).value)}
                  data-testid="assign-env"
                />
              </label>
              <label class="inline">
                <input
                  type="checkbox"
                  checked={gpu.value}
                  onChange={(e) => (gpu.value = (e.target as HTMLInputElement).checked)}
                  data-testid="assign-gpu"
                />
                Needs the GPU
              </label>
              <p class="hint">
                The roamer pulls the image and serves no queue: submit jobs with this node as their
                node to run them here.
              </p>
            </div>
          )
          : kind.value === "cluster"
          ? (
            <select
              name="cluster"
              value={cluster.value}
              onChange={(e) => (cluster.value = (e.target as HTMLSelectElement).value)}
              data-testid="assign-cluster"
            >
              {clusters.value.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.id}
                  {c.purpose ? ` — ${c.purpose}` : ""} ({c.queue.pending} queued)
                </option>
              ))}
            </select>
          )
          : (
            <select
              name="template"
              value={template.value}
              onChange={(e) => (template.value = (e.target as HTMLSelectElement).value)}
              data-testid="assign-template"
            >
              {templates.value.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name} — {t.executor}
                  {t.gpu ? ", GPU" : ""}
                </option>
              ))}
            </select>
          )}
        <div class="provision">
          <span class="mute">Provisions</span>
          {kind.value === "image" ? <code>{image.value.trim() || "—"}</code> : tpl
            ? (
              <>
                <code>{templateRuns(tpl)}</code>
                {tpl.startup_s ? <span class="mute">~{tpl.startup_s} s to start</span> : null}
              </>
            )
            : <span class="mute">nothing (the cluster has no template)</span>}
        </div>
      </fieldset>
      <fieldset class="field">
        <legend>How long</legend>
        <div class="segmented" role="radiogroup">
          {MODES.map((m) => (
            <button
              type="button"
              role="radio"
              key={m.mode}
              aria-checked={mode.value === m.mode}
              class={mode.value === m.mode ? "on" : ""}
              onClick={() => (mode.value = m.mode)}
              data-testid={`assign-mode-${m.mode}`}
            >
              {m.label}
            </button>
          ))}
        </div>
        {mode.value === "minutes"
          ? (
            <label class="inline">
              <input
                type="number"
                name="minutes"
                min="0.5"
                step="any"
                value={minutes.value}
                onInput={(e) => (minutes.value = (e.target as HTMLInputElement).value)}
                data-testid="assign-minutes"
              />
              minutes
            </label>
          )
          : null}
        <p class="hint">{MODES.find((m) => m.mode === mode.value)!.hint}</p>
      </fieldset>
      <FormError message={error.value ?? problem} />
    </Modal>
  );
}
