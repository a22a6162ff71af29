/**
 * Child processes for tests: the real entry points run as subprocesses, their stdout/stderr
 * captured line by line (and always drained, so a chatty child never blocks on a full pipe),
 * and stopped by PID.
 *
 * @module
 */

/** A running child with its output lines. */
export class Child {
  readonly proc: Deno.ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  #waiters: (() => void)[] = [];

  constructor(
    command: string,
    args: string[],
    options: { env?: Record<string, string>; cwd?: string } = {},
  ) {
    this.proc = new Deno.Command(command, {
      args,
      env: options.env,
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#drain(this.proc.stdout, this.stdout);
    this.#drain(this.proc.stderr, this.stderr);
    this.status = this.proc.status;
  }

  async #drain(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
    let rest = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const lines = rest.split("\n");
        rest = lines.pop()!;
        into.push(...lines);
        if (Deno.env.get("TEST_VERBOSE")) {
          for (const l of lines) console.error(`[child ${this.proc.pid}] ${l}`);
        }
        for (const w of this.#waiters.splice(0)) w();
      }
    } catch { /* stream closed by kill */ }
    if (rest) into.push(rest);
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits (bounded) until a line matching `test` appears on stdout or stderr; returns it. */
  async waitForLine(test: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    while (Date.now() < deadline) {
      const all = [...this.stdout, ...this.stderr];
      for (; seen < all.length; seen++) if (test(all[seen])) return all[seen];
      seen = 0;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for a line; last output:\n` +
        [...this.stdout, ...this.stderr].slice(-20).join("\n"),
    );
  }

  /** JSON log lines (stderr) parsed. */
  logs(): Record<string, unknown>[] {
    return this.stderr.flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 10_000): Promise<Deno.CommandStatus> {
    try {
      this.proc.kill(signal);
    } catch { /* already exited */ }
    const timer = setTimeout(() => {
      try {
        this.proc.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
    }, graceMs);
    try {
      return await this.status;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Waits until `check` returns a truthy value (bounded); returns it. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}
