/**
 * The sampler: all collectors together on a Jetson AGX Xavier fixture root with a fake
 * tegrastats child (merge rules, dedupe of temperatures), its log-once behaviour with a fake
 * nvidia-smi that fails, recovers and fails again, and a collector whose read hangs (a FIFO).
 */
import assert from "node:assert/strict";
import {
  collectorDeadlineMs,
  createSampler,
  deadlined,
  findExecutable,
} from "../../agent/collect/sampler.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";
import type { Logger } from "../../shared/log.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const MIB = 1024 * 1024;
const T = 1_764_140_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A logger that remembers every call instead of writing to stderr. */
function captureLogger(): Logger & { lines: { level: string; msg: string; fields: unknown }[] } {
  const lines: { level: string; msg: string; fields: unknown }[] = [];
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => {
    lines.push({ level, msg, fields });
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

async function copyTree(from: string, to: string): Promise<void> {
  const r = await new Deno.Command("cp", { args: ["-a", `${from}/.`, to] }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
}

async function writeScript(path: string, body: string): Promise<string> {
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("sampler: Xavier root + tegrastats child, merged into one valid sample", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-sampler-" });
  const root = `${dir}/root`;
  await Deno.mkdir(root);
  await copyTree(`${FIXTURES}roots/xavier/t0`, root);
  // A thermal reading that differs from tegrastats' CPU@37.5C shows which source wins.
  await Deno.writeTextFile(`${root}/sys/class/thermal/thermal_zone0/temp`, "41000\n");
  const brief = (await Deno.readTextFile(`${FIXTURES}tegrastats/agx_xavier_jp4.txt`))
    .split("\n").find((l) => l.startsWith("RAM 2937/15824MB"))!;
  await Deno.writeTextFile(`${dir}/line.txt`, brief + "\n");
  const tegrastats = await writeScript(
    `${dir}/tegrastats`,
    `echo $$ > "${dir}/pid"
trap 'kill $s 2>/dev/null; exit 0' TERM
n=0
while [ $n -lt 2000 ]; do cat "${dir}/line.txt"; n=$((n + 1)); sleep 0.03 & s=$!; wait $s; done`,
  );
  const logger = captureLogger();
  const sampler = createSampler({
    root,
    tegrastats,
    nvidiaSmi: false,
    dockerSocket: `${dir}/no-docker.sock`,
    intervalMs: 30,
    logger,
  });
  try {
    assert.deepEqual(sampler.collectors, ["proc", "disks", "thermal", "tegrastats", "docker"]);
    const first = await sampler.collect(T);
    assert.deepEqual(SampleMetrics.parse(first), first);
    assert.equal(first.cpu, undefined, "no CPU yet: /proc has no rates, tegrastats no line");
    assert.equal(first.containers, undefined, "no docker socket, no containers field");
    assert.equal(first.mem?.total_b, 32692964 * 1024);

    let m = first;
    for (let i = 1; i <= 60 && !m.gpus; i++) {
      await sleep(30);
      m = await sampler.collect(T + i * 5000); // same /proc counters: still no /proc CPU rates
    }
    assert.deepEqual(SampleMetrics.parse(m), m);
    // tegrastats fills cpu while /proc cannot, and brings GPU, EMC and rails
    assert.equal(m.cpu?.pct, 2.5);
    assert.deepEqual(m.gpus, [{ index: 0, util_pct: 0, freq_mhz: 1377 }]);
    assert.deepEqual(m.emc, { util_pct: 0, freq_mhz: 2133 });
    assert.equal(m.power?.find((p) => p.rail === "SYS5V")?.mw, 1707);
    // /proc wins for memory and swap over tegrastats' RAM/SWAP
    assert.equal(m.mem?.total_b, 32692964 * 1024);
    assert.notEqual(m.mem?.used_b, 2937 * MIB);
    assert.equal(m.swap?.total_b, 16346476 * 1024);
    // temperatures: thermal zones first, tegrastats duplicates dropped by name
    assert.deepEqual(m.temps, [
      { name: "CPU", c: 41 },
      { name: "GPU", c: 36.5 },
      { name: "AUX", c: 36 },
      { name: "AO", c: 36 },
      { name: "PMIC", c: 100 },
      { name: "Tboard", c: 36 },
      { name: "Tdiode", c: 38.75 },
      { name: "thermal", c: 36.9 },
    ]);
    assert.deepEqual(m.disks?.map((d) => d.mount), ["/", "/mnt/nvme", "/media/nvidia/USB STICK"]);

    // new /proc counters: now /proc's CPU (with offline cores 6 and 7) replaces tegrastats'
    await copyTree(`${FIXTURES}roots/xavier/t1`, root);
    const later = await sampler.collect(T + 61 * 5000 + 5000);
    assert.ok(later.cpu && later.cpu.pct >= 0);
    assert.equal(later.cpu?.cores?.length, 8);
    assert.deepEqual(later.cpu?.cores?.slice(6), [{ online: false }, { online: false }]);
    assert.equal(later.cpu?.cores?.[2].mhz, 2265.6);
    assert.ok(later.net?.some((n) => n.iface === "eth0"));
    assert.deepEqual(logger.lines, [], "nothing failed, nothing logged");
  } finally {
    await sampler.close();
    const pid = Number(await Deno.readTextFile(`${dir}/pid`).catch(() => "0"));
    if (pid > 0 && (await Deno.stat(`/proc/${pid}`).then(() => true, () => false))) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // exited between the check and the kill
      }
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sampler: a failing collector is logged once, again only after it recovered", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-sampler-" });
  const mode = `${dir}/mode`;
  await Deno.writeTextFile(mode, "fail");
  const smi = await writeScript(
    `${dir}/nvidia-smi`,
    `if [ "$(cat "${mode}")" = fail ]; then echo "NVIDIA-SMI has failed" >&2; exit 9; fi
cat "${FIXTURES}nvidia_smi/dgx_spark.csv"`,
  );
  const logger = captureLogger();
  const sampler = createSampler({
    root: `${FIXTURES}roots/x86/t0`,
    tegrastats: false,
    nvidiaSmi: smi,
    dockerSocket: false,
    intervalMs: 5000,
    logger,
  });
  const failures = () => logger.lines.filter((l) => l.level === "warn");
  try {
    assert.deepEqual(sampler.collectors, ["proc", "disks", "thermal", "nvidia_smi"]);
    for (let i = 0; i < 3; i++) {
      const m = await sampler.collect(T + i * 5000);
      assert.deepEqual(SampleMetrics.parse(m), m);
      assert.equal(m.gpus, undefined);
      assert.ok(m.mem, "the other collectors still report");
    }
    assert.equal(failures().length, 1);
    assert.deepEqual(failures()[0].fields, {
      collector: "nvidia_smi",
      error: "nvidia-smi failed with code 9: NVIDIA-SMI has failed",
    });

    await Deno.writeTextFile(mode, "ok");
    const ok = await sampler.collect(T + 20_000);
    assert.equal(ok.gpus?.[0].name, "NVIDIA GB10");
    assert.deepEqual(
      logger.lines.map((l) => [l.level, l.msg]),
      [
        ["warn", "collector failed; skipping it until it recovers"],
        ["info", "collector recovered"],
      ],
    );
    await sampler.collect(T + 25_000);

    await Deno.writeTextFile(mode, "fail");
    await sampler.collect(T + 30_000);
    await sampler.collect(T + 35_000);
    assert.equal(failures().length, 2, "logged again after recovering, but only once");
    assert.equal(logger.lines.length, 3);
  } finally {
    await sampler.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sampler: tools are looked up on PATH; a configured path that is missing is logged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-sampler-" });
  try {
    const exe = await writeScript(`${dir}/nvidia-smi`, "exit 0");
    await Deno.writeTextFile(`${dir}/tegrastats`, "not executable");
    assert.equal(findExecutable("nvidia-smi", `/nonexistent:${dir}`), exe);
    assert.equal(findExecutable("tegrastats", dir), undefined, "not executable");
    assert.equal(findExecutable(exe), exe);
    assert.equal(findExecutable(`${dir}/missing`), undefined);

    const logger = captureLogger();
    const sampler = createSampler({
      root: `${FIXTURES}roots/x86/t0`,
      tegrastats: `${dir}/missing-tegrastats`,
      nvidiaSmi: false,
      dockerSocket: false,
      intervalMs: 5000,
      logger,
    });
    assert.deepEqual(sampler.collectors, ["proc", "disks", "thermal"]);
    assert.deepEqual(logger.lines.map((l) => [l.level, l.msg]), [
      ["warn", "tegrastats not found; its metrics are disabled"],
    ]);
    const m = await sampler.collect(T);
    assert.deepEqual(SampleMetrics.parse(m), m);
    await sampler.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sampler: a collector whose read hangs is left out after its deadline, the others go on", async () => {
  // A FIFO with no writer: opening it blocks, as a read of a hung driver's file does.
  const root = await Deno.makeTempDir({ prefix: "fleet-sampler-hang-" });
  await copyTree(`${FIXTURES}roots/x86/t0`, root);
  await copyTree(`${FIXTURES}roots/orin/t0`, root);
  const loadavg = `${root}/proc/loadavg`;
  const text = await Deno.readTextFile(loadavg);
  await Deno.remove(loadavg);
  const made = await new Deno.Command("mkfifo", { args: [loadavg] }).output();
  assert.ok(made.success);
  const logger = captureLogger();
  let written = false;
  const sampler = createSampler({
    root,
    tegrastats: false,
    nvidiaSmi: false,
    dockerSocket: false,
    intervalMs: 200,
    logger,
  });
  try {
    assert.equal(collectorDeadlineMs(200), 3000);
    assert.equal(collectorDeadlineMs(5000), 4500);
    // The proc collector waits on the FIFO: the sample comes after its deadline (3 s) without it.
    const first = await sampler.collect(T);
    assert.equal(first.mem, undefined);
    assert.ok(first.temps && first.temps.length > 0, "the thermal zones still report");
    assert.deepEqual(logger.lines.map((l) => [l.level, l.fields]), [
      ["warn", { collector: "proc", error: "no answer within 3000 ms" }],
    ]);
    // Its call still hangs: the next sample goes without it (no second stuck read), silently.
    const second = await sampler.collect(T + 200);
    assert.equal(second.mem, undefined);
    assert.ok(second.temps && second.temps.length > 0);
    assert.equal(logger.lines.length, 1);

    // The source answers (a writer comes), then is a plain file again.
    const fifo = await Deno.open(loadavg, { write: true });
    await fifo.write(new TextEncoder().encode(text));
    fifo.close();
    written = true;
    await Deno.remove(loadavg);
    await Deno.writeTextFile(loadavg, text);
    // Bounded: the hung call returns within moments of its writer.
    let back: SampleMetrics | undefined;
    for (let i = 0; i < 50 && !back?.mem; i++) {
      await sleep(50);
      back = await sampler.collect(T + 400 + i * 200);
    }
    assert.ok(back?.mem, "the proc collector reports again");
    assert.equal(back.load?.l1, Number(text.split(" ")[0]));
    assert.deepEqual(logger.lines.at(-1)?.msg, "collector recovered");
  } finally {
    // A failed assertion must not leave the read blocked: opening a FIFO read-write never blocks,
    // and closing it ends the read.
    if (!written) Deno.openSync(loadavg, { read: true, write: true }).close();
    await sampler.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("sampler: a collector call past its deadline is not started again until it returns", async () => {
  let calls = 0;
  let answer!: (m: Partial<SampleMetrics>) => void;
  const hung = deadlined({
    name: "slow",
    collect: () => {
      calls++;
      return new Promise((r) => (answer = r));
    },
  }, 20);
  const ctx = { root: "/", now: T };
  await assert.rejects(hung.collect(ctx), /no answer within 20 ms/);
  await assert.rejects(hung.collect(ctx), /still collecting since an earlier sample/);
  await assert.rejects(hung.collect(ctx), /still collecting/);
  assert.equal(calls, 1);
  // Once the stuck call returns (its answer is dropped), the next tick calls again.
  answer({ load: { l1: 1, l5: 1, l15: 1 } });
  await sleep(0);
  const next = hung.collect(ctx);
  assert.equal(calls, 2);
  answer({ load: { l1: 2, l5: 2, l15: 2 } });
  assert.deepEqual(await next, { load: { l1: 2, l5: 2, l15: 2 } });
});
