/**
 * The `docker` executor: runs a job's image through the local Engine API. It pulls the image only
 * when it is not already present (a cached image starts in well under a second), creates a
 * container labelled `fleet.job` / `fleet.attempt` (so cleanup can always find leftovers) and
 * the run's `fleet.tag` (its name is handed to the worker before it exists, so a restarted agent
 * removes what a killed one left), uses the `nvidia` runtime for GPU jobs when the engine has
 * one, follows the logs while the job runs, stops the container on timeout or cancel
 * (`stop?t=2`, then kill) and always removes it.
 *
 * A job that fails (pull error, start error, non-zero exit, timeout, cancel) is a result; only an
 * unreachable engine before anything was created throws ({@link DockerUnavailableError}).
 *
 * @module
 */
import type { ExecOptions, ExecResult, Executor } from "./executor.ts";
import type { JobSpec } from "../../shared/protocol/mod.ts";
import { JOB_TAG_LABEL } from "./ledger.ts";
import {
  type ContainerInspect,
  createDockerApi,
  createLogDemuxer,
  DEFAULT_DOCKER_SOCKET,
  type DockerApi,
  DockerApiError,
  DockerUnavailableError,
  type EngineInfo,
} from "../../shared/docker_api.ts";

/** Options of {@link createDockerExecutor}. */
export interface DockerExecutorOptions {
  /** Path of the Engine API socket; default `/var/run/docker.sock`. */
  socketPath?: string;
  /** Most time a missing image may take to pull; default 15 min (images of GPU jobs are big). */
  pullTimeoutMs?: number;
  /**
   * `HostConfig.NetworkMode` of job containers; default: the engine's default (bridge). Tests
   * pass `"none"` for engines started without a bridge.
   */
  networkMode?: string;
}

/** Seconds `docker stop` waits after SIGTERM before SIGKILL, for timeouts and cancels. */
const STOP_GRACE_S = 2;
const DEFAULT_OUTPUT_CAP = 64 * 1024;
/** How long the log stream may lag behind the container's exit before we read the logs again. */
const LOG_DRAIN_MS = 2000;
/** Deadline of short management calls (inspect, create, start, remove). */
const CALL_TIMEOUT_MS = 60_000;
/** Image references we pass on: registry[:port]/path[:tag][@digest]; nothing that bends a URL. */
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]{0,511}$/;

/** `POST /containers/{id}/wait` answer. */
interface WaitAnswer {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

/** Splits `host:port/repo:tag` or `repo@sha256:…` into what `/images/create` takes. */
function splitImageRef(image: string): { fromImage: string; tag: string } {
  const at = image.indexOf("@");
  if (at >= 0) return { fromImage: image.slice(0, at), tag: image.slice(at + 1) };
  const colon = image.lastIndexOf(":");
  // A colon before the last slash is the registry's port, not a tag.
  if (colon > image.lastIndexOf("/")) {
    return { fromImage: image.slice(0, colon), tag: image.slice(colon + 1) };
  }
  return { fromImage: image, tag: "latest" };
}

/**
 * The job's output: the last `cap` bytes of everything (container logs and our `[fleet]` notes),
 * also handed to `onOutput` as it arrives. Frames are decoded per stream before they are kept,
 * so a character split across frames survives an interleaved frame of the other stream, and the
 * kept text is exactly what `onOutput` saw.
 */
function createOutput(cap: number, onOutput: ExecOptions["onOutput"]) {
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let total = 0;
  // One decoder per log stream, so a character split across frames is not mangled.
  const decoders = new Map<number, TextDecoder>();
  const encoder = new TextEncoder();

  function deliver(text: string): void {
    if (!onOutput || !text) return;
    try {
      onOutput(text);
    } catch {
      // The contract says it must not throw; a faulty listener must not break the job.
    }
  }

  function keep(bytes: Uint8Array): void {
    total += bytes.length;
    chunks.push(bytes);
    kept += bytes.length;
    while (chunks.length > 1 && kept - chunks[0].length >= cap) kept -= chunks.shift()!.length;
  }

  function text(value: string): void {
    if (!value) return;
    keep(encoder.encode(value));
    deliver(value);
  }

  return {
    /** Payload of one log frame (1 = stdout, 2 = stderr). */
    log(stream: number, payload: Uint8Array): void {
      let decoder = decoders.get(stream);
      if (!decoder) decoders.set(stream, decoder = new TextDecoder());
      text(decoder.decode(payload, { stream: true }));
    },
    /** A line from the executor itself, e.g. why the GPU runtime was not used. */
    note(line: string): void {
      text(`[fleet] ${line}\n`);
    },
    result(): { output: string; truncated: boolean } {
      // A stream that ended inside a character still shows what it had.
      for (const decoder of decoders.values()) text(decoder.decode());
      decoders.clear();
      const all = new Uint8Array(kept);
      let off = 0;
      for (const c of chunks) {
        all.set(c, off);
        off += c.length;
      }
      let start = Math.max(0, all.length - cap);
      // Cutting at a byte offset may split a UTF-8 character: start at the next whole one.
      while (start < all.length && start > 0 && (all[start] & 0xc0) === 0x80) start++;
      return { output: new TextDecoder().decode(all.subarray(start)), truncated: total > cap };
    },
  };
}

type Output = ReturnType<typeof createOutput>;

/**
 * Reads the container's logs into `sink`, skipping the first `skip` payload bytes (already seen
 * by an earlier, interrupted read). With `follow` it returns when the container stops.
 */
async function readLogs(
  api: DockerApi,
  id: string,
  follow: boolean,
  skip: number,
  signal: AbortSignal,
  sink: (stream: number, payload: Uint8Array) => void,
): Promise<void> {
  const res = await api.request("GET", `/containers/${id}/logs`, {
    query: { stdout: 1, stderr: 1, follow: follow ? 1 : 0 },
    signal,
  });
  if (!res.body) return;
  const demux = createLogDemuxer((stream, payload) => {
    if (skip >= payload.length) {
      skip -= payload.length;
      return;
    }
    sink(stream, skip ? payload.subarray(skip) : payload);
    skip = 0;
  });
  for await (const chunk of res.body) demux(chunk);
}

/** Whether `promise` settles within `ms`; the timer is cleared either way. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Makes sure `image` is present locally, pulling it if not. Returns why the pull failed, or
 * undefined. Throws the signal's reason when cancelled.
 */
async function ensureImage(
  api: DockerApi,
  image: string,
  pullTimeoutMs: number,
  signal: AbortSignal,
  out: Output,
): Promise<string | undefined> {
  const inspected = await api.send("GET", `/images/${image}/json`, {
    accept: [404],
    signal,
    timeoutMs: CALL_TIMEOUT_MS,
  });
  if (inspected === 200) return undefined;

  const began = Date.now();
  out.note(`pulling ${image}`);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), pullTimeoutMs);
  const both = AbortSignal.any([signal, deadline.signal]);
  try {
    const res = await api.request("POST", "/images/create", {
      query: splitImageRef(image),
      signal: both,
    });
    // The engine answers 200 at once and reports a failure inside the progress stream.
    let failure: string | undefined;
    let rest = "";
    const take = (line: string) => {
      if (!line.trim()) return;
      try {
        const msg = JSON.parse(line);
        if (msg?.error) failure = String(msg.errorDetail?.message ?? msg.error);
      } catch {
        // a progress line we cannot parse says nothing about success
      }
    };
    if (res.body) {
      for await (const text of res.body.pipeThrough(new TextDecoderStream())) {
        rest += text;
        const lines = rest.split("\n");
        rest = lines.pop()!;
        lines.forEach(take);
      }
    }
    take(rest);
    if (failure) return `pull of ${image} failed: ${failure}`;
    out.note(`pulled ${image} in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    return undefined;
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (deadline.signal.aborted) {
      return `pull of ${image} did not finish within ${pullTimeoutMs / 1000} s`;
    }
    if (err instanceof DockerApiError) return `pull of ${image} failed: ${err.detail}`;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes sure `image` is on the node (a roamer provisioning for its assignment); returns why the
 * pull failed, or undefined. Progress lines go to `onOutput`.
 */
export async function pullImage(
  socketPath: string,
  image: string,
  options: { signal: AbortSignal; timeoutMs?: number; onOutput?: (text: string) => void },
): Promise<string | undefined> {
  const api = createDockerApi(socketPath);
  try {
    const out = createOutput(64 * 1024, options.onOutput);
    return await ensureImage(api, image, options.timeoutMs ?? 15 * 60_000, options.signal, out);
  } finally {
    api.close();
  }
}

/** The container's command: a string runs under `/bin/sh -c`, an argv as is, null the image's. */
function containerCmd(command: JobSpec["command"]): string[] | undefined {
  if (command === null) return undefined;
  return typeof command === "string" ? ["/bin/sh", "-c", command] : command;
}

/** A readable container name; the random suffix keeps a re-run of the same attempt unique. */
function containerName(job: JobSpec): string {
  const id = job.id.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 64);
  return `fleet-job-${id}-${job.attempt}-${crypto.randomUUID().slice(0, 6)}`;
}

/**
 * Creates the docker executor. Each run opens its own connection to the engine and closes it at
 * the end, so the executor holds nothing between jobs.
 *
 * @example
 * ```ts
 * const docker = createDockerExecutor({ socketPath: "/var/run/docker.sock" });
 * const result = await docker.run(job, { signal: AbortSignal.timeout(3_600_000), tempDir });
 * if (result.error) console.error(result.error);
 * ```
 */
export function createDockerExecutor(options: DockerExecutorOptions = {}): Executor {
  const socketPath = options.socketPath ?? DEFAULT_DOCKER_SOCKET;
  const pullTimeoutMs = options.pullTimeoutMs ?? 15 * 60_000;

  async function run(job: JobSpec, exec: ExecOptions): Promise<ExecResult> {
    const started_at = Date.now();
    const out = createOutput(exec.outputCapBytes ?? DEFAULT_OUTPUT_CAP, exec.onOutput);
    const finish = (fields: Partial<ExecResult>): ExecResult => ({
      exit_code: null,
      timed_out: false,
      cancelled: false,
      ...out.result(),
      ...fields,
      started_at,
      ended_at: Date.now(),
    });

    if (job.executor !== "docker") {
      return finish({ error: `the docker executor cannot run a ${job.executor} job` });
    }
    if (!job.image) return finish({ error: "a docker job needs an image" });
    if (!IMAGE_REF.test(job.image)) {
      return finish({ error: `not an image reference: ${job.image}` });
    }
    if (exec.signal.aborted) return finish({ cancelled: true });

    const api = createDockerApi(socketPath);
    let containerId: string | undefined;
    try {
      // 1. The image, unless it is already here.
      let pullError: string | undefined;
      try {
        pullError = await ensureImage(api, job.image, pullTimeoutMs, exec.signal, out);
      } catch (err) {
        if (exec.signal.aborted) return finish({ cancelled: true });
        throw err;
      }
      if (pullError) return finish({ error: pullError });

      // 2. The container.
      // The same job variables the process executor sets, so a job reads them either way.
      const env = Object.entries({
        ...job.env,
        FLEET_JOB_ID: job.id,
        FLEET_JOB_ATTEMPT: String(job.attempt),
        FLEET_JOB_PAYLOAD: JSON.stringify(job.payload ?? null),
      }).map(([k, v]) => `${k}=${v}`);
      const hostConfig: Record<string, unknown> = {
        Binds: job.mounts.map((m) => `${m.source}:${m.target}${m.readonly ? ":ro" : ""}`),
      };
      if (options.networkMode) hostConfig.NetworkMode = options.networkMode;
      // Limits: no swap beyond the memory limit, so passing it is an OOM kill, not a slow crawl.
      if (job.memory_b) {
        hostConfig.Memory = job.memory_b;
        hostConfig.MemorySwap = job.memory_b;
      }
      if (job.cpus) hostConfig.NanoCpus = Math.round(job.cpus * 1e9);
      if (job.gpu) {
        const info = await api.json<EngineInfo>("GET", "/info", {
          timeoutMs: CALL_TIMEOUT_MS,
        });
        if (info?.Runtimes && "nvidia" in info.Runtimes) {
          // JetPack's way: the nvidia runtime (Jetsons have no NVML for --gpus).
          hostConfig.Runtime = "nvidia";
          // Without it the nvidia hook exposes no GPU to images that do not set it themselves.
          if (!("NVIDIA_VISIBLE_DEVICES" in job.env)) env.push("NVIDIA_VISIBLE_DEVICES=all");
        } else {
          // `docker run --gpus all`: the NVIDIA container toolkit's device driver, if any.
          hostConfig.DeviceRequests = [{ Driver: "", Count: -1, Capabilities: [["gpu"]] }];
        }
      }
      if (exec.signal.aborted) return finish({ cancelled: true });
      const name = containerName(job);
      try {
        exec.onHandle?.({ container: name });
      } catch { /* recording where the run is must not break it */ }
      const create = () =>
        api.json<{ Id: string; Warnings?: string[] }>(
          "POST",
          "/containers/create",
          {
            query: { name },
            body: {
              Image: job.image,
              Cmd: containerCmd(job.command),
              Env: env,
              Labels: {
                "fleet.job": job.id,
                "fleet.attempt": String(job.attempt),
                ...(exec.tag ? { [JOB_TAG_LABEL]: exec.tag } : {}),
              },
              Tty: false,
              OpenStdin: false,
              AttachStdin: false,
              AttachStdout: false,
              AttachStderr: false,
              HostConfig: hostConfig,
            },
            timeoutMs: CALL_TIMEOUT_MS,
          },
        );
      const created = await create().catch((err) => {
        if (err instanceof DockerApiError) {
          return { error: `cannot create the container: ${err.detail}` };
        }
        throw err;
      });
      if ("error" in created) return finish({ error: created.error });
      containerId = created.Id;
      let id = containerId;
      if (exec.signal.aborted) return finish({ cancelled: true });

      // 3. Start, follow the logs, wait, and stop it on timeout or cancel.
      const start = (cid: string) =>
        api.send("POST", `/containers/${cid}/start`, { timeoutMs: CALL_TIMEOUT_MS });
      try {
        await start(id).catch(async (err) => {
          // No GPU device driver on this engine (it says so at start): run without the GPU.
          if (
            !(err instanceof DockerApiError) || !hostConfig.DeviceRequests ||
            !/device driver/i.test(err.detail)
          ) throw err;
          delete hostConfig.DeviceRequests;
          out.note(
            "GPU requested but the engine has no nvidia runtime and no GPU device driver; " +
              "running without GPU",
          );
          await api.send("DELETE", `/containers/${id}`, {
            query: { force: 1 },
            accept: [404],
            timeoutMs: CALL_TIMEOUT_MS,
          });
          containerId = undefined;
          const again = await create();
          containerId = id = again.Id;
          await start(id);
        });
      } catch (err) {
        if (err instanceof DockerApiError) {
          return finish({ error: `cannot start the container: ${err.detail}` });
        }
        throw err;
      }

      let seen = 0;
      const sink = (stream: number, payload: Uint8Array) => {
        seen += payload.length;
        out.log(stream, payload);
      };
      const logsAbort = new AbortController();
      let logsOk = false;
      const following = readLogs(api, id, true, 0, logsAbort.signal, sink).then(
        () => logsOk = true,
        () => {},
      );

      const waitAbort = new AbortController();
      const waiting = api.json<WaitAnswer>("POST", `/containers/${id}/wait`, {
        query: { condition: "not-running" },
        signal: waitAbort.signal,
      });
      let exited = false;
      waiting.then(() => exited = true, () => exited = true);

      let timed_out = false;
      let cancelled = false;
      let stopping: Promise<void> | undefined;
      const stop = async (): Promise<void> => {
        try {
          await api.send("POST", `/containers/${id}/stop`, {
            query: { t: STOP_GRACE_S },
            accept: [304, 404],
            timeoutMs: STOP_GRACE_S * 1000 + 10_000,
          });
        } catch {
          // the kill below is the fallback
        }
        if (!await settlesWithin(waiting, 2000)) {
          await api.send("POST", `/containers/${id}/kill`, {
            accept: [404, 409],
            timeoutMs: 10_000,
          }).catch(() => {});
          // An engine that cannot even kill it: give up waiting, the removal below forces it.
          if (!await settlesWithin(waiting, 10_000)) {
            waitAbort.abort(new Error("the container did not stop after kill"));
          }
        }
      };
      const requestStop = (why: "timeout" | "cancel") => {
        if (stopping || exited) return;
        if (why === "timeout") timed_out = true;
        else cancelled = true;
        out.note(
          why === "timeout"
            ? `timed out after ${job.timeout_s} s; stopping the container`
            : "cancelled; stopping the container",
        );
        stopping = stop();
      };
      const timer = job.timeout_s > 0
        ? setTimeout(() => requestStop("timeout"), job.timeout_s * 1000)
        : undefined;
      const onAbort = () => requestStop("cancel");
      exec.signal.addEventListener("abort", onAbort, { once: true });
      if (exec.signal.aborted) onAbort();

      let answer: WaitAnswer | undefined;
      let waitError: unknown;
      try {
        answer = await waiting;
      } catch (err) {
        waitError = err;
      } finally {
        clearTimeout(timer);
        exec.signal.removeEventListener("abort", onAbort);
      }
      if (stopping) await stopping;

      // 4. The rest of the logs: the follow stream ends when the container stops; if it lags or
      // broke, read the logs once more from where it got to.
      await settlesWithin(following, LOG_DRAIN_MS);
      if (!logsOk) {
        logsAbort.abort();
        await following;
        const deadline = new AbortController();
        const readTimer = setTimeout(() => deadline.abort(), CALL_TIMEOUT_MS);
        try {
          await readLogs(api, id, false, seen, deadline.signal, sink);
        } catch (err) {
          out.note(`could not read the container's logs: ${describe(err)}`);
        } finally {
          clearTimeout(readTimer);
        }
      }

      const killed = timed_out || cancelled;
      // The engine's word on why it ended: OOMKilled is set when the kernel killed it for memory.
      const inspect = () =>
        api.json<ContainerInspect>("GET", `/containers/${id}/json`, {
          timeoutMs: CALL_TIMEOUT_MS,
        }).catch(() => undefined);
      let oom = (await inspect())?.State?.OOMKilled === true;
      // The engine may learn of the OOM kill just after the exit (cgroup v1 event order; seconds
      // on a loaded host): a SIGKILL under a memory limit is looked at again for up to 3 s.
      for (
        let i = 0;
        !oom && !killed && job.memory_b && answer?.StatusCode === 137 && i < 30;
        i++
      ) {
        await new Promise((r) => setTimeout(r, 100));
        oom = (await inspect())?.State?.OOMKilled === true;
      }
      if (oom) {
        out.note(
          `killed for memory: the container passed its ${
            job.memory_b ? `${Math.round(job.memory_b / 1_048_576)} MiB ` : ""
          }memory limit (OOM)`,
        );
      }
      const fields: Partial<ExecResult> = {
        exit_code: killed || !answer ? null : answer.StatusCode,
        timed_out,
        cancelled,
        ...(oom ? { oom_killed: true } : {}),
      };
      if (waitError) fields.error = `lost track of the container: ${describe(waitError)}`;
      else if (answer?.Error?.Message) fields.error = answer.Error.Message;
      return finish(fields);
    } catch (err) {
      // Docker gone before anything existed: the caller cannot run docker jobs at all.
      if (err instanceof DockerUnavailableError && containerId === undefined) throw err;
      return finish({ error: describe(err) });
    } finally {
      if (containerId !== undefined) {
        await api.send("DELETE", `/containers/${containerId}`, {
          query: { force: 1, v: 1 },
          accept: [404],
          timeoutMs: CALL_TIMEOUT_MS,
        }).catch(() => {
          // cleanupJobContainers finds it by its fleet.job label later.
        });
      }
      api.close();
    }
  }

  return { kind: "docker", run };
}
