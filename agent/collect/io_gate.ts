/**
 * The collectors' file reads, a few at a time. Each async file call is a job on the runtime's
 * blocking-thread pool, which starts a thread for every job it cannot hand to an idle one and keeps
 * it ~10 s: a tick that read every core, thermal zone, power rail and mount at once kept 19 such
 * threads alive between 5-s ticks on a Jetson's tree (6 on a PC). Through the gate a tick uses
 * {@link IO_PLACES} of them, plus one per read that outlives its hold. Reads of `/proc` and `/sys`
 * take microseconds, so a tick takes no noticeably longer (2.3 against 2.1 ms, medians, on a
 * Jetson tree).
 *
 * A read that has not answered after {@link IO_HOLD_MS} gives up its place (it still completes
 * for its caller), so a driver that hangs a read holds the others back by that much, not for good.
 * statfs, which has its own timeout, does not go through the gate (`disks.ts`).
 *
 * @module
 */

/** Reads running at once. */
export const IO_PLACES = 2;
/** How long one read may hold its place. */
export const IO_HOLD_MS = 250;

/** A counting gate: runs operations with at most `places` of them holding a place at once. */
export class IoGate {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly places: number, readonly holdMs: number) {}

  /** How many operations wait for a place now (tests). */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `op` once a place is free; resolves or rejects as it does. Its place is freed when it
   * settles, or after `holdMs` if it has not by then.
   */
  async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.#running < this.places) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let result: Promise<T>;
    try {
      result = op();
    } catch (error) {
      this.#release();
      throw error;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const held = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.holdMs)));
    const settled = result.then(() => {}, () => {});
    Promise.race([settled, held]).then(() => {
      clearTimeout(timer);
      this.#release();
    });
    return await result;
  }

  /** Hands the place to the next waiting operation, or frees it. */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}

const gate = new IoGate(IO_PLACES, IO_HOLD_MS);

/** `Deno.readTextFile` through the collectors' gate. */
export function readTextFile(path: string): Promise<string> {
  return gate.run(() => Deno.readTextFile(path));
}

/** The names in a directory (unsorted), read through the collectors' gate. */
export function readDirNames(path: string): Promise<string[]> {
  return gate.run(async () => (await Array.fromAsync(Deno.readDir(path))).map((e) => e.name));
}
