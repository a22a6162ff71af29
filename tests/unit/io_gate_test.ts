/**
 * The collectors' I/O gate: how many reads run at once, errors, a read that never answers, and
 * the reads in flight while sampling a Jetson's tree (each async read beyond the gate's places
 * would start a thread of the runtime's blocking pool).
 */
import assert from "node:assert/strict";
import { IO_PLACES, IoGate } from "../../agent/collect/io_gate.ts";
import { createSampler } from "../../agent/collect/sampler.ts";

const tick = () => new Promise((r) => setTimeout(r, 1));

Deno.test("io gate: at most `places` operations run at once, and every one gets its result", async () => {
  const gate = new IoGate(2, 10_000);
  let running = 0;
  let most = 0;
  const op = (i: number) => async () => {
    running++;
    most = Math.max(most, running);
    await tick();
    running--;
    return i * 10;
  };
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => gate.run(op(i))));
  assert.deepEqual(results, Array.from({ length: 12 }, (_, i) => i * 10));
  assert.equal(most, 2);
  assert.equal(gate.waiting, 0);
});

Deno.test("io gate: a failing operation rejects its caller and frees its place", async () => {
  const gate = new IoGate(1, 10_000);
  const failing = gate.run(() => Promise.reject(new Deno.errors.NotFound("gone")));
  const throwing = gate.run((): Promise<number> => {
    throw new Error("sync");
  });
  const after = gate.run(() => Promise.resolve("next"));
  await assert.rejects(failing, Deno.errors.NotFound);
  await assert.rejects(throwing, /sync/);
  assert.equal(await after, "next");
  assert.equal(gate.waiting, 0);
});

Deno.test("io gate: an operation that outlives its hold frees its place once, not again when it settles", async () => {
  const gate = new IoGate(1, 20);
  let settleHung!: () => void;
  const hung = gate.run(() => new Promise<void>((r) => (settleHung = r)));
  let settleB: (() => void) | undefined;
  // B gets the place when the hung one's hold has passed (bounded: a few hold times).
  const b = gate.run(() => new Promise<void>((r) => (settleB = r)));
  for (let i = 0; i < 200 && !settleB; i++) await tick();
  assert.ok(settleB, "B started after the hold");
  settleHung();
  await hung;
  // The hung one settling must not free B's place: C waits for B.
  let cRan = false;
  const c = gate.run(() => {
    cRan = true;
    return Promise.resolve();
  });
  await tick();
  assert.equal(cRan, false);
  assert.equal(gate.waiting, 1);
  settleB();
  await b;
  await c;
  assert.equal(cRan, true);
});

Deno.test("io gate: an operation that never answers gives up its place after the hold time", async () => {
  const gate = new IoGate(1, 20);
  let release!: (v: string) => void;
  const hung = gate.run(() => new Promise<string>((r) => (release = r)));
  // Queued behind the hung one; it runs once the hung one's hold time has passed.
  assert.equal(await gate.run(() => Promise.resolve("ran")), "ran");
  // The hung operation still answers its own caller when it finally settles.
  release("late");
  assert.equal(await hung, "late");
});

Deno.test({
  name: "io gate: a tick of a Jetson's tree has at most the gate's places of reads in flight",
  // The test swaps Deno's read calls for counting ones; nothing else may run meanwhile.
  sanitizeOps: false,
  async fn() {
    const root = new URL("../fixtures/sysfs/orin_nano_jp6", import.meta.url).pathname;
    const d = Deno as unknown as Record<string, unknown>;
    const original = { readTextFile: Deno.readTextFile, readDir: Deno.readDir };
    let inFlight = 0;
    let most = 0;
    let reads = 0;
    const counted = async <T>(op: () => Promise<T>): Promise<T> => {
      inFlight++;
      reads++;
      most = Math.max(most, inFlight);
      try {
        return await op();
      } finally {
        inFlight--;
      }
    };
    d.readTextFile = (path: string) => counted(() => original.readTextFile(path));
    d.readDir = (path: string) => {
      // An async iterable whose first step is the one blocking call, as Deno's is.
      const all = counted(() => Array.fromAsync(original.readDir(path)));
      return (async function* () {
        yield* await all;
      })();
    };
    const sampler = createSampler({
      root,
      intervalMs: 5000,
      tegrastats: false,
      nvidiaSmi: false,
      dockerSocket: false,
    });
    try {
      for (let i = 0; i < 3; i++) {
        const m = await sampler.collect(Date.now());
        // The tree was read through the gate: its thermal zones, GPU load and power rails.
        assert.equal(m.temps?.length, 6, `temps: ${JSON.stringify(m.temps)}`);
        assert.equal(m.gpus?.[0]?.util_pct, 99);
        assert.deepEqual(m.power?.map((p) => p.rail), ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]);
      }
    } finally {
      d.readTextFile = original.readTextFile;
      d.readDir = original.readDir;
      await sampler.close();
    }
    // A tick reads dozens of files (without the gate, ~19 of them were in flight at once).
    assert.ok(reads > 3 * 20, `reads: ${reads}`);
    // A fixture read slower than the hold (a loaded machine) may let one more in.
    assert.ok(most <= IO_PLACES + 1, `${most} reads in flight`);
  },
});
