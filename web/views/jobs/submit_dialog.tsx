/**
 * The submit dialog of the Jobs view: a job from a fleet.yml template, or (advanced) an explicit
 * executor — a process with a shell command string, or a docker image with an optional command.
 * Optional cluster, priority, attempts, resource limits (memory, CPUs, GPU; a template's own are
 * shown and used when left empty) and a JSON payload. Posts `POST /api/v1/jobs`; the hub's
 * validation errors stay in the dialog; on success the new job's detail opens.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { JobExecutor, JobSubmit } from "../../../shared/protocol/mod.ts";
import { api } from "../../state/api.ts";
import { clusters, templates } from "../../state/queue.ts";
import { toast } from "../../state/ui.ts";
import { formatBytes } from "../../state/format.ts";
import { FormError, Modal } from "../../ui/modal.tsx";
import { templateRuns } from "./job_format.ts";

const value = (e: Event) => (e.target as HTMLInputElement).value;

/** The dialog; `onSubmitted` gets the new job's id. */
export function SubmitDialog({ onClose, onSubmitted }: {
  onClose: () => void;
  onSubmitted: (id: string) => void;
}) {
  const kind = useSignal<"template" | "custom">(templates.peek().length ? "template" : "custom");
  const template = useSignal(templates.peek()[0]?.name ?? "");
  const executor = useSignal<JobExecutor>("process");
  const image = useSignal("");
  const command = useSignal("");
  const cluster = useSignal("");
  const priority = useSignal("0");
  const attempts = useSignal("3");
  const payload = useSignal("");
  const memory = useSignal("");
  const cpus = useSignal("");
  const gpu = useSignal<"" | "yes" | "no">("");
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);

  const tpl = templates.value.find((t) => t.name === template.value);

  const build = (): JobSubmit | string => {
    const body: JobSubmit = {};
    if (kind.value === "template") {
      if (!template.value) return "pick a template";
      body.template = template.value;
    } else {
      body.executor = executor.value;
      if (executor.value === "docker") {
        if (!image.value.trim()) return "a docker job needs an image";
        body.image = image.value.trim();
        if (command.value.trim()) body.command = command.value.trim();
      } else {
        if (!command.value.trim()) return "a process job needs a command";
        body.command = command.value.trim();
      }
    }
    if (cluster.value) body.cluster = cluster.value;
    const p = Number(priority.value);
    if (!Number.isInteger(p)) return "priority: a whole number from 0 to 1000";
    body.priority = p;
    const a = Number(attempts.value);
    if (!Number.isInteger(a)) return "attempts: a whole number from 1 to 100";
    body.max_attempts = a;
    if (memory.value.trim()) body.memory = memory.value.trim();
    if (cpus.value.trim()) {
      const c = Number(cpus.value);
      if (!(c >= 0.01 && c <= 1024)) return "CPUs: a number from 0.01 to 1024 (e.g. 1.5)";
      body.cpus = c;
    }
    if (gpu.value) body.gpu = gpu.value === "yes";
    if (payload.value.trim()) {
      try {
        body.payload = JSON.parse(payload.value);
      } catch (err) {
        return `payload is not JSON: ${(err as Error).message}`;
      }
    }
    return body;
  };

  const submit = async () => {
    if (busy.value) return;
    const body = build();
    if (typeof body === "string") {
      error.value = body;
      return;
    }
    busy.value = true;
    error.value = null;
    try {
      const r = await api.submitJob(body);
      toast(`Job ${r.id} submitted`, "ok");
      onSubmitted(r.id);
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };

  return (
    <Modal
      title="Submit job"
      subtitle="Queue work for the fleet; a free worker claims it."
      onClose={onClose}
      onSubmit={() => void submit()}
      testid="submit-dialog"
      wide
      footer={
        <>
          <button type="button" class="ghost" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy.value} data-testid="submit-send">
            {busy.value ? "Submitting…" : "Submit job"}
          </button>
        </>
      }
    >
      <div class="segmented" role="tablist">
        <button
          type="button"
          role="tab"
          aria-selected={kind.value === "template"}
          class={kind.value === "template" ? "on" : ""}
          disabled={!templates.value.length}
          onClick={() => (kind.value = "template")}
          data-testid="submit-kind-template"
        >
          From a template
        </button>
        <button
          type="button"
          role="tab"
          aria-selected={kind.value === "custom"}
          class={kind.value === "custom" ? "on" : ""}
          onClick={() => (kind.value = "custom")}
          data-testid="submit-kind-custom"
        >
          Advanced: command or image
        </button>
      </div>
      {kind.value === "template"
        ? (
          <label>
            Template
            <select
              name="template"
              value={template.value}
              onChange={(e) => (template.value = value(e))}
              data-testid="submit-template"
            >
              {templates.value.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name} — {t.executor}
                  {t.gpu ? ", GPU" : ""}
                </option>
              ))}
            </select>
            <span class="provision">
              <span class="mute">Runs</span> <code>{templateRuns(tpl)}</code>
            </span>
          </label>
        )
        : (
          <div class="form-grid">
            <label>
              Executor
              <select
                name="executor"
                value={executor.value}
                onChange={(e) => (executor.value = value(e) as JobExecutor)}
                data-testid="submit-executor"
              >
                <option value="process">process — a shell command on the node</option>
                <option value="docker">docker — a container from an image</option>
              </select>
            </label>
            {executor.value === "docker"
              ? (
                <label>
                  Image
                  <input
                    name="image"
                    placeholder="10.0.0.10:5000/fleet/app:1"
                    value={image.value}
                    onInput={(e) => (image.value = value(e))}
                    data-testid="submit-image"
                  />
                </label>
              )
              : null}
            <label class="span2">
              Command{executor.value === "docker" ? " (optional)" : ""}
              <input
                name="command"
                class="mono"
                placeholder={executor.value === "docker"
                  ? "python3 /app/run.py"
                  : "echo hello from $(hostname)"}
                value={command.value}
                onInput={(e) => (command.value = value(e))}
                data-testid="submit-command"
              />
            </label>
          </div>
        )}
      <div class="form-grid three">
        <label>
          Cluster
          <select
            name="cluster"
            value={cluster.value}
            onChange={(e) => (cluster.value = value(e))}
            data-testid="submit-cluster"
          >
            <option value="">Any eligible node</option>
            {clusters.value.map((c) => <option key={c.id} value={c.id}>{c.id}</option>)}
          </select>
        </label>
        <label>
          Priority
          <input
            type="number"
            name="priority"
            min="0"
            max="1000"
            step="1"
            value={priority.value}
            onInput={(e) => (priority.value = value(e))}
            data-testid="submit-priority"
          />
        </label>
        <label>
          Attempts
          <input
            type="number"
            name="max_attempts"
            min="1"
            max="100"
            step="1"
            value={attempts.value}
            onInput={(e) => (attempts.value = value(e))}
          />
        </label>
      </div>
      <div class="form-grid three" data-testid="submit-limits">
        <label>
          Memory limit
          <input
            name="memory"
            placeholder={tpl?.memory_b && kind.value === "template"
              ? `template: ${formatBytes(tpl.memory_b)}`
              : "none, e.g. 512M"}
            value={memory.value}
            onInput={(e) => (memory.value = value(e))}
            data-testid="submit-memory"
          />
        </label>
        <label>
          CPUs
          <input
            name="cpus"
            type="number"
            min="0.01"
            max="1024"
            step="0.01"
            placeholder={tpl?.cpus && kind.value === "template"
              ? `template: ${tpl.cpus}`
              : "none, e.g. 1.5"}
            value={cpus.value}
            onInput={(e) => (cpus.value = value(e))}
            data-testid="submit-cpus"
          />
        </label>
        <label>
          GPU
          <select
            name="gpu"
            value={gpu.value}
            onChange={(e) => (gpu.value = value(e) as "" | "yes" | "no")}
            title={kind.value === "template" ? "the template's setting unless changed" : undefined}
            data-testid="submit-gpu"
          >
            <option value="">
              {kind.value === "template" && tpl?.gpu ? "yes" : "no"}
            </option>
            {kind.value === "template" && tpl?.gpu
              ? <option value="no">no</option>
              : <option value="yes">yes</option>}
          </select>
        </label>
      </div>
      <label>
        Payload (JSON, optional)
        <textarea
          name="payload"
          class="mono"
          rows={3}
          placeholder='{"prompt": "a lighthouse at dusk"}'
          value={payload.value}
          onInput={(e) => (payload.value = value(e))}
          data-testid="submit-payload"
        />
      </label>
      <FormError message={error.value} />
    </Modal>
  );
}
