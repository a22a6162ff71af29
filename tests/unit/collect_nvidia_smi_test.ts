/**
 * nvidia-smi: the CSV parser (DGX Spark's `[N/A]` memory, `[Not Supported]`, two GPUs, junk)
 * and the collector running a fake `nvidia-smi` executable: success, failure and timeout.
 */
import assert from "node:assert/strict";
import {
  createNvidiaSmiCollector,
  NVIDIA_SMI_ARGS,
  parseNvidiaSmiCsv,
} from "../../agent/collect/nvidia_smi.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";

const FIXTURES = new URL("../fixtures/nvidia_smi/", import.meta.url).pathname;
const MIB = 1024 * 1024;
const read = (f: string) => Deno.readTextFileSync(FIXTURES + f);

Deno.test("nvidia-smi: DGX Spark reports no GPU memory, so those fields are absent", () => {
  const gpus = parseNvidiaSmiCsv(read("dgx_spark.csv"));
  assert.deepEqual(gpus, [{
    index: 0,
    name: "NVIDIA GB10",
    util_pct: 0,
    freq_mhz: 2405,
    temp_c: 41,
    power_mw: 11130,
  }]);
  SampleMetrics.parse({ gpus });
});

Deno.test("nvidia-smi: two GPUs, MiB to bytes and W to mW", () => {
  assert.deepEqual(parseNvidiaSmiCsv(read("two_gpus.csv")), [
    {
      index: 0,
      name: "NVIDIA A100-SXM4-40GB",
      util_pct: 87,
      freq_mhz: 1410,
      mem_used_b: 32768 * MIB,
      mem_total_b: 40960 * MIB,
      temp_c: 61,
      power_mw: 245310,
    },
    {
      index: 1,
      name: "NVIDIA GeForce RTX 4090",
      util_pct: 12,
      freq_mhz: 2520,
      mem_used_b: 1024 * MIB,
      mem_total_b: 24564 * MIB,
      temp_c: 44,
      power_mw: 55120,
    },
  ]);
});

Deno.test("nvidia-smi: [Not Supported], N/A, junk, headers and odd names", () => {
  const [gpu] = parseNvidiaSmiCsv(read("not_supported.csv"));
  assert.equal(gpu.power_mw, undefined);
  assert.equal(gpu.mem_total_b, 4040 * MIB);
  assert.deepEqual(parseNvidiaSmiCsv(""), []);
  assert.deepEqual(parseNvidiaSmiCsv("index, name, utilization.gpu [%]\n"), []);
  assert.deepEqual(
    parseNvidiaSmiCsv("NVIDIA-SMI has failed because it couldn't communicate with the driver"),
    [],
  );
  assert.deepEqual(parseNvidiaSmiCsv("0, Tesla T4, N/A, [Unknown Error], 5, 15360, , 27.5\r\n"), [
    { index: 0, name: "Tesla T4", mem_used_b: 5 * MIB, mem_total_b: 15360 * MIB, power_mw: 27500 },
  ]);
  // a comma in the name must not shift the numeric columns
  assert.deepEqual(parseNvidiaSmiCsv("2, Weird, Inc. GPU, 50, 1000, 1, 2, 30, 10\n")[0], {
    index: 2,
    name: "Weird, Inc. GPU",
    util_pct: 50,
    freq_mhz: 1000,
    mem_used_b: MIB,
    mem_total_b: 2 * MIB,
    temp_c: 30,
    power_mw: 10000,
  });
  // out-of-range utilisation is dropped, the row kept
  assert.equal(parseNvidiaSmiCsv("0, X, 250, 1, 1, 1, 1, 1")[0].util_pct, undefined);
  assert.deepEqual(parseNvidiaSmiCsv("0\n"), [], "a bare index is not a GPU row");
  assert.deepEqual(parseNvidiaSmiCsv("0, NVIDIA GB10"), [{ index: 0, name: "NVIDIA GB10" }]);
  assert.deepEqual(parseNvidiaSmiCsv(42 as unknown as string), []);
});

async function fakeSmi(dir: string, body: string): Promise<string> {
  const path = `${dir}/nvidia-smi`;
  await Deno.writeTextFile(path, `#!/bin/sh\necho "$*" > "${dir}/args"\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("nvidia-smi collector: runs the query and parses its output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-smi-" });
  try {
    const smi = createNvidiaSmiCollector({
      path: await fakeSmi(dir, `cat "${FIXTURES}two_gpus.csv"`),
    });
    const m = await smi.collect({ root: "/", now: 1 });
    SampleMetrics.parse(m);
    assert.deepEqual(m.gpus?.map((g) => g.name), [
      "NVIDIA A100-SXM4-40GB",
      "NVIDIA GeForce RTX 4090",
    ]);
    assert.equal((await Deno.readTextFile(`${dir}/args`)).trim(), NVIDIA_SMI_ARGS.join(" "));
    assert.match(NVIDIA_SMI_ARGS[0], /index,name,utilization\.gpu,clocks\.sm,memory\.used/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nvidia-smi collector: a failing or hanging nvidia-smi makes collect throw", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-smi-" });
  try {
    const failing = createNvidiaSmiCollector({
      path: await fakeSmi(
        dir,
        `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." >&2; exit 9`,
      ),
    });
    await assert.rejects(
      failing.collect({ root: "/", now: 1 }),
      /nvidia-smi failed with code 9: NVIDIA-SMI has failed/,
    );
    const hanging = createNvidiaSmiCollector({
      path: await fakeSmi(dir, "exec sleep 30"),
      timeoutMs: 200,
    });
    const started = performance.now();
    await assert.rejects(hanging.collect({ root: "/", now: 1 }));
    assert.ok(performance.now() - started < 5000);
    await assert.rejects(
      createNvidiaSmiCollector({ path: `${dir}/missing` }).collect({ root: "/", now: 1 }),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
