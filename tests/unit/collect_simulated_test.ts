/**
 * The simulated demo collectors: valid samples, determinism per seed, smooth variation, bursts
 * (GPU jobs with their container) and the shape of each kind of node.
 */
import assert from "node:assert/strict";
import { createSimulatedCollector, type SimulatedProfile } from "../../agent/collect/simulated.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";

const T = 1_764_140_000_000;
const KINDS: SimulatedProfile["kind"][] = ["xavier", "spark", "x86"];

/** One simulated day at a 60 s step (1440 samples). */
async function day(kind: SimulatedProfile["kind"], seed: number, stepMs = 60_000) {
  const sim = createSimulatedCollector({ kind, seed });
  const out: SampleMetrics[] = [];
  for (let i = 0; i < 1440; i++) {
    out.push(SampleMetrics.parse(await sim.collect({ root: "/", now: T + i * stepMs })));
  }
  return out;
}

Deno.test("simulated: a day of every kind passes the schema and has bursts", async () => {
  for (const kind of KINDS) {
    const samples = await day(kind, 42);
    const util = samples.map((s) => s.gpus?.[0].util_pct ?? -1);
    assert.ok(util.filter((u) => u > 80).length > 20, `${kind}: GPU jobs happen`);
    assert.ok(util.filter((u) => u < 10).length > 500, `${kind}: mostly idle`);
    const withJob = samples.filter((s) =>
      s.containers?.some((c) => c.name.startsWith("fleet-job-"))
    );
    assert.ok(withJob.length > 20, `${kind}: job containers appear`);
    for (const s of withJob) assert.ok((s.gpus?.[0].util_pct ?? 0) > 0);
    for (const s of samples) {
      assert.ok(s.containers!.length >= 3);
      assert.ok(s.containers!.some((c) => c.state === "exited"));
    }
    // counters only grow
    for (let i = 1; i < samples.length; i++) {
      assert.ok(samples[i].net![0].rx_b! >= samples[i - 1].net![0].rx_b!);
      assert.ok(samples[i].uptime_s! > samples[i - 1].uptime_s!);
    }
  }
});

Deno.test("simulated: the shape of each kind of node", async () => {
  const sample = async (kind: SimulatedProfile["kind"]) =>
    SampleMetrics.parse(
      await createSimulatedCollector({ kind, seed: 3 }).collect({ root: "/", now: T }),
    );
  const xavier = await sample("xavier");
  assert.equal(xavier.cpu?.cores?.length, 8);
  assert.ok(xavier.cpu!.cores!.every((c) => c.mhz! >= 1190 && c.mhz! <= 2266));
  assert.equal(xavier.mem?.total_b, 31927 * 1024 * 1024);
  assert.deepEqual(xavier.power?.map((p) => p.rail), ["VDD_IN", "GPU", "CPU", "SOC"]);
  assert.ok(xavier.emc && xavier.emc.freq_mhz === 2133);
  assert.deepEqual(xavier.temps?.map((t) => t.name), ["CPU", "GPU", "AO"]);
  assert.deepEqual(xavier.disks?.map((d) => d.device), ["/dev/mmcblk0p1", "/dev/nvme0n1p1"]);
  assert.deepEqual(xavier.net?.map((n) => n.iface), ["eth0"]);
  assert.equal(xavier.gpus?.[0].mem_total_b, undefined, "Jetson memory is shared");

  const spark = await sample("spark");
  assert.equal(spark.cpu?.cores?.length, 20);
  assert.ok(spark.mem!.total_b > 120 * 1024 ** 3);
  assert.equal(spark.gpus?.[0].name, "NVIDIA GB10");
  assert.equal(spark.gpus?.[0].mem_used_b, undefined, "nvidia-smi reports [N/A] on Spark");
  assert.ok(spark.gpus![0].power_mw! > 0);

  const x86 = await sample("x86");
  assert.equal(x86.cpu?.cores?.length, 8);
  assert.equal(x86.gpus?.[0].mem_total_b, 24564 * 1024 * 1024);
  assert.equal(x86.power, undefined);
});

Deno.test("simulated: deterministic for a seed, different across seeds", async () => {
  const a = await day("xavier", 7, 5000);
  const b = await day("xavier", 7, 5000);
  const c = await day("xavier", 8, 5000);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("simulated: values vary smoothly at the 5 s sample interval", async () => {
  for (const kind of KINDS) {
    const s = await day(kind, 11, 5000);
    for (let i = 1; i < s.length; i++) {
      const [p, q] = [s[i - 1], s[i]];
      assert.ok(Math.abs(q.temps![0].c - p.temps![0].c) < 3, `${kind} temp jump at ${i}`);
      assert.ok(Math.abs(q.mem!.pct - p.mem!.pct) < 20, `${kind} mem jump at ${i}`);
      assert.ok(Math.abs(q.disks![0].pct - p.disks![0].pct) < 1, `${kind} disk jump at ${i}`);
    }
  }
});
