/**
 * Batch exec on the agent: each `exec.start` of the control channel runs `/bin/sh -c COMMAND` in
 * its own process group (through {@link runProcessGroup}, the job executor's core) with the
 * hub's timeout. Output goes back as `exec.output` frames, coalesced (a few ms or 16 KiB) and in
 * order across stdout and stderr, up to the hub's cap; past it the command keeps running, its
 * output is counted and its tail kept for `exec.exit`. Cancel, or the loss of the control
 * connection, kills the whole group.
 *
 * @module
 */
import { runProcessGroup } from "./worker/process.ts";
import type { AgentMessage, ExecStartMessage, OutputStream } from "../shared/protocol/mod.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("exec");
const encoder = new TextEncoder();

/** Bytes of output sent in one frame at most. */
const FRAME_BYTES = 16 * 1024;
/** How long output waits for more before it is sent. */
const COALESCE_MS = 20;
/** Bytes of the output's end kept for `exec.exit` when the output was truncated. */
const TAIL_BYTES = 8 * 1024;

/** The environment of an exec: enough for a shell, never the agent's own (token) variables. */
export function execEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: home,
    LANG: Deno.env.get("LANG") ?? "C.UTF-8",
  };
  for (const k of ["USER", "LOGNAME", "TZ"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/** Cuts `text` to at most `bytes` UTF-8 bytes (on a character boundary). */
function cutToBytes(text: string, bytes: number): string {
  if (encoder.encode(text).length <= bytes) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (encoder.encode(text.slice(0, mid)).length <= bytes) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo);
}

/** Runs the execs of one control connection. */
export class ExecRunner {
  #send: (m: AgentMessage) => void;
  #runs = new Map<number, AbortController>();

  constructor(send: (m: AgentMessage) => void) {
    this.#send = send;
  }

  /** Number of running execs. */
  get running(): number {
    return this.#runs.size;
  }

  /** Starts an exec; its frames carry `msg.ch`. */
  start(msg: ExecStartMessage): void {
    const ch = msg.ch;
    if (this.#runs.has(ch)) {
      this.#send({ type: "error", ch, message: `channel ${ch} is already running an exec` });
      return;
    }
    const abort = new AbortController();
    this.#runs.set(ch, abort);
    let sent = 0;
    let total = 0;
    let truncated = false;
    let pending: { stream: OutputStream; text: string } | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (!pending) return;
      const { stream, text } = pending;
      pending = undefined;
      if (truncated) return;
      const room = msg.output_cap_b - sent;
      const part = cutToBytes(text, room);
      if (part.length < text.length) truncated = true;
      if (!part) return;
      sent += encoder.encode(part).length;
      this.#send({ type: "exec.output", ch, stream, data: part });
    };
    const onOutput = (text: string, stream: OutputStream) => {
      total += encoder.encode(text).length;
      if (truncated) return;
      if (pending && pending.stream !== stream) flush();
      pending = pending ? { stream, text: pending.text + text } : { stream, text };
      if (pending.text.length >= FRAME_BYTES) flush();
      else timer ??= setTimeout(flush, COALESCE_MS);
    };
    const home = Deno.env.get("HOME") ?? "/";
    logger.info("exec started", { ch, timeout_s: msg.timeout_s });
    runProcessGroup({
      file: "/bin/sh",
      args: ["-c", msg.command],
      cwd: home,
      env: execEnv(home),
      timeoutMs: msg.timeout_s * 1000,
      signal: abort.signal,
      tailCapBytes: TAIL_BYTES,
      onOutput,
    }).then((r) => {
      flush();
      this.#runs.delete(ch);
      logger.info("exec ended", {
        ch,
        exit_code: r.exit_code,
        timed_out: r.timed_out,
        cancelled: r.cancelled,
        output_bytes: total,
      });
      this.#send({
        type: "exec.exit",
        ch,
        exit_code: r.exit_code,
        timed_out: r.timed_out,
        cancelled: r.cancelled,
        truncated,
        output_bytes: total,
        ...(truncated ? { tail: r.output } : {}),
        ...(r.error ? { error: r.error } : {}),
      });
    });
  }

  /** Kills an exec's process group (it then reports `exec.exit` with `cancelled`). */
  cancel(ch: number): void {
    this.#runs.get(ch)?.abort();
  }

  /** Kills every exec (the control connection is gone: nobody can receive their output). */
  abortAll(): void {
    for (const abort of this.#runs.values()) abort.abort();
  }
}
