/**
 * Terminals on the agent. Deno has no PTY API, so each terminal is
 * `script -qefc "<login shell> -l" /dev/null` (util-linux) with piped stdio: `script` allocates
 * the PTY and runs the shell in a new session on it. Resize runs
 * `stty -F /dev/pts/N rows R cols C` on the shell's terminal (found through
 * `/proc/<script>/task/<script>/children` and `/proc/<shell>/fd/0`); the kernel then sends the
 * shell SIGWINCH.
 *
 * Output is read only as fast as the terminal's rate limit (a token bucket), the hub's pause
 * requests and the socket's send buffer allow; a runaway `yes` then blocks on its full pipe
 * instead of flooding the hub. Closing a terminal kills every process of the shell's session
 * (SIGHUP, then SIGKILL) and `script` itself.
 *
 * @module
 */
import type { AgentMessage, PtyOpenMessage, PtyResizeMessage } from "../shared/protocol/mod.ts";
import { TokenBucket } from "./rate_limit.ts";
import { execEnv } from "./exec.ts";
import { sleep } from "../shared/backoff.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("pty");
const encoder = new TextEncoder();

/** Most terminals one agent runs at once. */
export const MAX_TERMINALS = 16;
/** Unsent bytes on the control socket above which terminal output waits. */
const SOCKET_HIGH_WATER = 1024 * 1024;
/** Time between SIGHUP and SIGKILL of a closed terminal's session. */
const KILL_GRACE_MS = 300;

/** The login shell and home of the user the agent runs as (from /etc/passwd). */
export async function loginShell(): Promise<{ shell: string; home: string; user: string }> {
  const uid = Deno.uid();
  try {
    for (const line of (await Deno.readTextFile("/etc/passwd")).split("\n")) {
      const f = line.split(":");
      if (f.length >= 7 && Number(f[2]) === uid) {
        const shell = f[6].trim();
        const usable = shell && !/nologin|false$/.test(shell) &&
          (await Deno.stat(shell).then(() => true, () => false));
        return { shell: usable ? shell : "/bin/sh", home: f[5] || "/", user: f[0] };
      }
    }
  } catch { /* no passwd: fall back */ }
  return {
    shell: Deno.env.get("SHELL") ?? "/bin/sh",
    home: Deno.env.get("HOME") ?? "/",
    user: Deno.env.get("USER") ?? String(uid),
  };
}

/** Pids of every process whose session id is `sid` (from /proc/<pid>/stat). */
export function sessionMembers(sid: number): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // Fields after the command name (which may contain spaces and parentheses).
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(rest[3]) === sid) pids.push(Number(entry.name));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

function kill(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch { /* already gone */ }
}

/** One terminal. */
class PtySession {
  readonly ch: number;
  #send: (m: AgentMessage) => void;
  #buffered: () => number;
  #child: Deno.ChildProcess | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #shellPid: number | undefined;
  #pts: string | undefined;
  #size: { cols: number; rows: number };
  #resizing: Promise<void> = Promise.resolve();
  #bucket: TokenBucket;
  #paused = false;
  #closed = false;
  #onEnd: () => void;

  constructor(
    msg: PtyOpenMessage,
    send: (m: AgentMessage) => void,
    buffered: () => number,
    onEnd: () => void,
  ) {
    this.ch = msg.ch;
    this.#send = send;
    this.#buffered = buffered;
    this.#size = { cols: msg.cols, rows: msg.rows };
    this.#bucket = new TokenBucket(msg.rate_bps, Math.max(64 * 1024, msg.rate_bps / 4));
    this.#onEnd = onEnd;
  }

  async start(): Promise<void> {
    const { shell, home, user } = await loginShell();
    if (this.#closed) return this.#end(null, "closed before the shell started");
    try {
      this.#child = new Deno.Command("script", {
        // -e: script exits with the shell's status.
        args: ["-qefc", `${shell} -l`, "/dev/null"],
        cwd: home,
        env: {
          ...execEnv(home),
          SHELL: shell,
          USER: user,
          LOGNAME: user,
          TERM: "xterm-256color",
          COLORTERM: "truecolor",
        },
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      const why = error instanceof Deno.errors.NotFound
        ? "'script' (util-linux) is not installed on this node"
        : (error as Error).message;
      this.#end(null, `cannot start a terminal: ${why}`);
      return;
    }
    this.#writer = this.#child.stdin.getWriter();
    const shellPid = await this.#findShell(this.#child.pid);
    if (this.#closed) {
      // Closed while the shell was starting: close() could not see its session yet.
      this.#shellPid = shellPid;
      await this.#kill();
      await this.#discardOutput();
      this.#end(null, "closed before the shell started");
      return;
    }
    if (shellPid === undefined) {
      await this.#kill();
      await this.#discardOutput();
      this.#end(null, "the terminal's shell did not start");
      return;
    }
    this.#shellPid = shellPid;
    this.#pts = await this.#findPts(shellPid);
    this.resize(this.#size);
    this.#send({ type: "pty.opened", ch: this.ch, pid: shellPid, shell });
    logger.info("terminal opened", { ch: this.ch, pid: shellPid, pts: this.#pts });
    const reading = Promise.all([
      this.#pump(this.#child.stdout),
      this.#pump(this.#child.stderr),
    ]);
    const status = await this.#child.status;
    await reading;
    this.#end(status.code, this.#closed ? "closed" : "the shell exited");
  }

  /** Releases the output pipes of a terminal that never got going. */
  async #discardOutput(): Promise<void> {
    await this.#child?.stdout.cancel().catch(() => {});
    await this.#child?.stderr.cancel().catch(() => {});
    await this.#child?.status;
  }

  /** Waits (bounded) for `script` to start the shell; returns the shell's pid. */
  async #findShell(scriptPid: number): Promise<number | undefined> {
    for (let i = 0; i < 250 && !this.#closed; i++) {
      try {
        const text = await Deno.readTextFile(`/proc/${scriptPid}/task/${scriptPid}/children`);
        const pid = Number(text.trim().split(/\s+/)[0]);
        if (pid > 0) return pid;
      } catch {
        return undefined; // script is gone
      }
      await sleep(20);
    }
    return undefined;
  }

  /**
   * Waits (bounded) for the shell's terminal, `/dev/pts/N` on its fd 0. Right after the fork the
   * child still holds `script`'s stdin (a pipe) until it puts the PTY there: reading the link
   * too early would aim every resize at the pipe.
   */
  async #findPts(shellPid: number): Promise<string | undefined> {
    for (let i = 0; i < 250 && !this.#closed; i++) {
      try {
        const link = await Deno.readLink(`/proc/${shellPid}/fd/0`);
        if (link.startsWith("/dev/")) return link;
      } catch {
        return undefined; // the shell exited already: the status says so
      }
      await sleep(20);
    }
    return undefined;
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        // Not reading is the brake: the shell's writes block once the pipe is full.
        await this.#bucket.take(value.byteLength);
        while (!this.#closed && (this.#paused || this.#buffered() > SOCKET_HIGH_WATER)) {
          await sleep(20);
        }
        const data = decoder.decode(value, { stream: true });
        if (data && !this.#closed) this.#send({ type: "pty.output", ch: this.ch, data });
      }
    } catch {
      /* the pipe closed under us: the status says why */
    } finally {
      reader.releaseLock();
    }
  }

  /** Writes keystrokes to the shell. */
  async input(data: string): Promise<void> {
    if (!this.#writer || this.#closed) return;
    try {
      await this.#writer.write(encoder.encode(data));
    } catch { /* the shell is gone; its exit is reported by start() */ }
  }

  /** Applies a new size (queued behind any resize still running). */
  resize(size: { cols: number; rows: number }): void {
    this.#size = size;
    const pts = this.#pts;
    if (!pts) return;
    this.#resizing = this.#resizing.then(async () => {
      if (this.#closed || this.#size !== size) return; // a newer size follows
      const out = await new Deno.Command("stty", {
        args: ["-F", pts, "rows", String(size.rows), "cols", String(size.cols)],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output().catch((e) => ({ success: false, stderr: encoder.encode(String(e)) }));
      if (!out.success) {
        logger.warn("terminal resize failed", {
          ch: this.ch,
          error: new TextDecoder().decode(out.stderr).trim(),
        });
      }
    });
  }

  /** Pauses or resumes reading output (the browser behind the hub is slow). */
  flow(paused: boolean): void {
    this.#paused = paused;
  }

  /** Kills the shell's session and `script`; start() then reports the exit. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#kill();
  }

  async #kill(): Promise<void> {
    const members = () => (this.#shellPid ? sessionMembers(this.#shellPid) : []);
    for (const pid of members()) kill(pid, "SIGHUP");
    if (this.#child) kill(this.#child.pid, "SIGTERM");
    await sleep(KILL_GRACE_MS);
    for (const pid of members()) kill(pid, "SIGKILL");
    if (this.#child) kill(this.#child.pid, "SIGKILL");
    await this.#writer?.close().catch(() => {});
  }

  #ended = false;
  #end(code: number | null, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#closed = true;
    logger.info("terminal ended", { ch: this.ch, code, reason });
    this.#send({ type: "pty.exit", ch: this.ch, code, reason });
    this.#onEnd();
  }
}

/** The terminals of one control connection. */
export class PtySessions {
  #send: (m: AgentMessage) => void;
  #buffered: () => number;
  #sessions = new Map<number, PtySession>();

  /** `buffered` returns the control socket's unsent bytes (for backpressure). */
  constructor(send: (m: AgentMessage) => void, buffered: () => number) {
    this.#send = send;
    this.#buffered = buffered;
  }

  /** Number of open terminals. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Opens a terminal; it answers `pty.opened`, then `pty.output`…, and finally `pty.exit`. */
  open(msg: PtyOpenMessage): void {
    if (this.#sessions.has(msg.ch)) {
      this.#send({ type: "error", ch: msg.ch, message: `channel ${msg.ch} is already a terminal` });
      return;
    }
    if (this.#sessions.size >= MAX_TERMINALS) {
      this.#send({
        type: "pty.exit",
        ch: msg.ch,
        code: null,
        reason: `this node already runs ${MAX_TERMINALS} terminals`,
      });
      return;
    }
    const session = new PtySession(
      msg,
      this.#send,
      this.#buffered,
      () => this.#sessions.delete(msg.ch),
    );
    this.#sessions.set(msg.ch, session);
    session.start().catch((error) => {
      logger.error("terminal failed", { ch: msg.ch, error });
      this.#sessions.delete(msg.ch);
      this.#send({ type: "pty.exit", ch: msg.ch, code: null, reason: String(error) });
    });
  }

  /** Routes keystrokes; unknown channels are answered with an error. */
  input(ch: number, data: string): void {
    const s = this.#sessions.get(ch);
    if (s) s.input(data);
    else this.#unknown(ch);
  }

  /** Routes a resize. */
  resize(msg: PtyResizeMessage): void {
    const s = this.#sessions.get(msg.ch);
    if (s) s.resize({ cols: msg.cols, rows: msg.rows });
    else this.#unknown(msg.ch);
  }

  /** Routes a pause/resume. */
  flow(ch: number, paused: boolean): void {
    this.#sessions.get(ch)?.flow(paused);
  }

  /** Closes one terminal (no error if it already ended). */
  close(ch: number): void {
    this.#sessions.get(ch)?.close();
  }

  /** Closes every terminal (the control connection is gone). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((s) => s.close()));
  }

  #unknown(ch: number): void {
    this.#send({ type: "pty.exit", ch, code: null, reason: `no terminal on channel ${ch}` });
  }
}
