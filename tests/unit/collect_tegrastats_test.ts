/**
 * tegrastats: the parser against real lines of many Jetsons and JetPack releases (see
 * tests/fixtures/tegrastats/SOURCES.md), broken input, and the collector running a fake
 * `tegrastats` executable (a shell script printing fixture lines) as a real child process.
 */
import assert from "node:assert/strict";
import { createTegrastatsCollector, parseTegrastatsLine } from "../../agent/collect/tegrastats.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";

const FIXTURES = new URL("../fixtures/tegrastats/", import.meta.url).pathname;
const MIB = 1024 * 1024;

/** Lines of a fixture file grouped by the `# [tag]` comment above them. */
function fixture(file: string): Map<string, string[]> {
  const byTag = new Map<string, string[]>();
  let tag = "";
  for (const line of Deno.readTextFileSync(FIXTURES + file).split("\n")) {
    const t = /^# \[([\w-]+)\]/.exec(line);
    if (t) tag = t[1];
    if (line.startsWith("#") || line.trim() === "") continue;
    byTag.set(tag, [...(byTag.get(tag) ?? []), line]);
  }
  return byTag;
}

function line(file: string, tag: string, n = 0): string {
  const l = fixture(file).get(tag)?.[n];
  assert.ok(l, `${file} has no line ${n} tagged ${tag}`);
  return l;
}

const FILES = [
  "agx_xavier_jp4.txt",
  "orin_jp5_jp6.txt",
  "orin_thor_jp7.txt",
  "nano_tx_nx.txt",
  "malformed.txt",
];

Deno.test("tegrastats: AGX Xavier, JetPack 4.6 (the line of the brief)", () => {
  const m = parseTegrastatsLine(line("agx_xavier_jp4.txt", "brief"));
  SampleMetrics.parse(m);
  assert.deepEqual(m.mem, { total_b: 15824 * MIB, used_b: 2937 * MIB, pct: 18.56 });
  assert.deepEqual(m.swap, { total_b: 7912 * MIB, used_b: 0, pct: 0 });
  assert.deepEqual(m.cpu, {
    pct: 2.5, // mean of the four online cores: (4 + 3 + 2 + 1) / 4
    cores: [
      { online: true, pct: 4, mhz: 1190 },
      { online: true, pct: 3, mhz: 1190 },
      { online: true, pct: 2, mhz: 1190 },
      { online: true, pct: 1, mhz: 1190 },
      { online: false },
      { online: false },
      { online: false },
      { online: false },
    ],
  });
  assert.deepEqual(m.emc, { util_pct: 0, freq_mhz: 2133 });
  assert.deepEqual(m.gpus, [{ index: 0, util_pct: 0, freq_mhz: 1377 }]);
  assert.deepEqual(m.temps, [
    { name: "AO", c: 36 },
    { name: "GPU", c: 36.5 },
    { name: "Tdiode", c: 38.75 },
    { name: "PMIC", c: 100 },
    { name: "AUX", c: 36 },
    { name: "CPU", c: 37.5 },
    { name: "thermal", c: 36.9 },
    { name: "Tboard", c: 36 },
  ]);
  // Rails named GPU and CPU, not confused with `CPU [` or `GPU@36.5C`.
  assert.deepEqual(m.power, [
    { rail: "GPU", mw: 0, avg_mw: 0 },
    { rail: "CPU", mw: 311, avg_mw: 311 },
    { rail: "SOC", mw: 932, avg_mw: 932 },
    { rail: "CV", mw: 0, avg_mw: 0 },
    { rail: "VDDRQ", mw: 155, avg_mw: 155 },
    { rail: "SYS5V", mw: 1707, avg_mw: 1707 },
  ]);
});

Deno.test("tegrastats: older JetPack 4 without EMC/GR3D clocks and without SWAP", () => {
  const old = parseTegrastatsLine(line("agx_xavier_jp4.txt", "datadog-old"));
  assert.deepEqual(old.emc, { util_pct: 0 });
  assert.deepEqual(old.gpus, [{ index: 0, util_pct: 0 }]);
  assert.deepEqual(old.power?.find((p) => p.rail === "GPU"), { rail: "GPU", mw: 0, avg_mw: 16 });
  const ros = parseTegrastatsLine(line("agx_xavier_jp4.txt", "ros-xavier"));
  assert.equal(ros.swap, undefined);
  assert.equal(ros.mem?.used_b, 2336 * MIB);
  assert.equal(ros.power?.length, 6);
});

Deno.test("tegrastats: AGX Orin R35 (date, -256C sensors, NC rails, GR3D clock array)", () => {
  const m = parseTegrastatsLine(line("orin_jp5_jp6.txt", "tegra-go-r35"));
  SampleMetrics.parse(m);
  assert.equal(m.mem?.used_b, 4321 * MIB);
  assert.equal(m.cpu?.cores?.length, 12);
  assert.ok(m.cpu?.cores?.every((c) => c.online && c.pct === 0 && c.mhz === 729));
  assert.deepEqual(m.gpus, [{ index: 0, util_pct: 0, freq_mhz: 0 }]);
  assert.deepEqual(m.temps, [
    { name: "CPU", c: 44.562 },
    { name: "Tboard", c: 32 },
    { name: "SOC2", c: 40.093 },
    { name: "Tdiode", c: 33 },
    { name: "SOC0", c: 41.093 },
    { name: "tj", c: 44.343 },
    { name: "SOC1", c: 41.25 },
  ]);
  assert.deepEqual(m.power, [
    { rail: "VDD_GPU_SOC", mw: 2340, avg_mw: 2340 },
    { rail: "VDD_CPU_CV", mw: 390, avg_mw: 390 },
    { rail: "VIN_SYS_5V0", mw: 4025, avg_mw: 4025 },
    { rail: "VDDQ_VDD2_1V8AO", mw: 301, avg_mw: 301 },
  ]);
});

Deno.test("tegrastats: AGX Orin R36 with runs of spaces, and without EMC_FREQ", () => {
  const m = parseTegrastatsLine(line("orin_jp5_jp6.txt", "datadog-r36"));
  assert.deepEqual(m.swap, { total_b: 15348 * MIB, used_b: 4915 * MIB, pct: 32.02 });
  assert.deepEqual(m.cpu?.cores?.[5], { online: true, pct: 100, mhz: 2201 });
  assert.equal(m.cpu?.pct, 17.42); // (3+4+0+1+0+100+1+0+100+0+0+0) / 12
  assert.deepEqual(m.gpus, [{ index: 0, util_pct: 0, freq_mhz: 305 }]);
  assert.deepEqual(m.temps?.map((t) => t.name), ["cpu", "soc2", "soc0", "gpu", "tj", "soc1"]);
  assert.deepEqual(m.power?.map((p) => p.mw), [3205, 4405, 4767]);

  const noEmc = parseTegrastatsLine(line("orin_jp5_jp6.txt", "datadog-orin"));
  assert.equal(noEmc.emc, undefined);
  assert.deepEqual(noEmc.gpus, [{ index: 0, util_pct: 0 }]);
});

Deno.test("tegrastats: Orin R36.4 per-core clocks and a busy Orin Nano", () => {
  const m = parseTegrastatsLine(line("orin_jp5_jp6.txt", "tegra-exporter-r36", 1));
  assert.deepEqual(m.cpu?.cores?.slice(0, 3), [
    { online: true, pct: 16, mhz: 1949 },
    { online: true, pct: 6, mhz: 1761 },
    { online: true, pct: 4, mhz: 1222 },
  ]);
  assert.deepEqual(m.power?.[2], { rail: "VIN_SYS_5V0", mw: 4607, avg_mw: 4657 });
  const busy = parseTegrastatsLine(line("orin_jp5_jp6.txt", "orin-nano-jp6", 1));
  assert.deepEqual(busy.gpus, [{ index: 0, util_pct: 99, freq_mhz: 612 }]);
  assert.deepEqual(busy.emc, { util_pct: 61, freq_mhz: 2133 });
  assert.deepEqual(busy.power?.[0], { rail: "VDD_IN", mw: 16321, avg_mw: 11204 });
  assert.equal(busy.temps?.find((t) => t.name === "tj")?.c, 58.312);
});

Deno.test("tegrastats: JetPack 7 on Orin (cur/max temps, cur/avg/max rails) and Thor", () => {
  const orin = parseTegrastatsLine(line("orin_thor_jp7.txt", "jtop-jp7"));
  SampleMetrics.parse(orin);
  assert.equal(orin.swap, undefined);
  assert.deepEqual(orin.gpus, [{ index: 0, util_pct: 12, freq_mhz: 1300 }]);
  assert.deepEqual(orin.emc, { util_pct: 3, freq_mhz: 3199 });
  assert.deepEqual(orin.temps?.[0], { name: "cpu", c: 52.968 });
  assert.deepEqual(orin.power, [
    { rail: "VDD_GPU_SOC", mw: 5139, avg_mw: 5139 },
    { rail: "VDD_CPU_CV", mw: 3268, avg_mw: 3268 },
    { rail: "VIN_SYS_5V0", mw: 5500, avg_mw: 5500 },
  ]);
  const thor = parseTegrastatsLine(line("orin_thor_jp7.txt", "tegra-exporter-thor"));
  SampleMetrics.parse(thor);
  assert.deepEqual(thor.gpus, [{ index: 0, freq_mhz: 0 }]); // no load figure on Thor
  assert.equal(thor.cpu?.cores?.length, 14);
  assert.deepEqual(thor.cpu?.cores?.[9], { online: true, pct: 17, mhz: 2601 });
  assert.equal(thor.mem?.total_b, 125773 * MIB);
  assert.deepEqual(thor.power?.map((p) => p.rail), ["VDD_GPU", "VDD_CPU_SOC_MSS", "VIN_SYS_5V0"]);
});

Deno.test("tegrastats: Nano, TX1, TX2 and Xavier NX", () => {
  const nano = parseTegrastatsLine(line("nano_tx_nx.txt", "go-exporter-nano"));
  SampleMetrics.parse(nano);
  assert.deepEqual(nano.gpus, [{ index: 0, util_pct: 0, freq_mhz: 76 }]);
  assert.deepEqual(nano.power, [
    { rail: "POM_5V_IN", mw: 1750, avg_mw: 1628 },
    { rail: "POM_5V_GPU", mw: 0, avg_mw: 0 },
    { rail: "POM_5V_CPU", mw: 366, avg_mw: 406 },
  ]);
  assert.equal(nano.swap?.used_b, 191 * MIB);

  const tx1 = parseTegrastatsLine(line("nano_tx_nx.txt", "datadog-tx1"));
  assert.equal(tx1.swap, undefined);
  assert.deepEqual(tx1.emc, { util_pct: 7, freq_mhz: 408 });

  const tx2 = parseTegrastatsLine(line("nano_tx_nx.txt", "datadog-tx2"));
  assert.deepEqual(tx2.cpu?.cores?.map((c) => c.online), [true, false, false, true, true, true]);
  assert.equal(tx2.cpu?.pct, 1); // (1 + 1 + 0 + 2) / 4 online cores
  assert.equal(tx2.power?.length, 6);

  const oldTx2 = parseTegrastatsLine(line("nano_tx_nx.txt", "findhao-tx2"));
  assert.deepEqual(oldTx2.gpus, [{ index: 0, util_pct: 0 }]);
  assert.deepEqual(oldTx2.power?.find((p) => p.rail === "VDD_4V0_WIFI"), {
    rail: "VDD_4V0_WIFI",
    mw: 633,
    avg_mw: 527,
  });

  const xnx = parseTegrastatsLine(line("nano_tx_nx.txt", "go-exporter-xnx"));
  assert.deepEqual(xnx.gpus, [{ index: 0, util_pct: 0, freq_mhz: 114 }]);
  assert.deepEqual(xnx.power?.[0], { rail: "VDD_IN", mw: 2763, avg_mw: 2846 });
  assert.equal(xnx.cpu?.cores?.[0].mhz, 1397);
});

Deno.test("tegrastats: the old cluster form CPU [x%,off,y%]@MHz from NVIDIA's documentation", () => {
  const m = parseTegrastatsLine("RAM 1200/3964MB CPU [12%,off,3%,off]@1428 GR3D_FREQ 4%@153");
  assert.deepEqual(m.cpu, {
    pct: 7.5,
    cores: [
      { online: true, pct: 12, mhz: 1428 },
      { online: false },
      { online: true, pct: 3, mhz: 1428 },
      { online: false },
    ],
  });
});

Deno.test("tegrastats: cut and garbage lines return what parses and never throw", () => {
  const cutCpu = parseTegrastatsLine(line("malformed.txt", "cut-in-cpu"));
  assert.equal(cutCpu.mem?.used_b, 2937 * MIB);
  // the third core ("2%@11") is half-written and dropped
  assert.deepEqual(cutCpu.cpu?.cores, [
    { online: true, pct: 4, mhz: 1190 },
    { online: true, pct: 3, mhz: 1190 },
  ]);
  assert.equal(cutCpu.gpus, undefined);

  const cutRails = parseTegrastatsLine(line("malformed.txt", "cut-in-rails"));
  assert.deepEqual(cutRails.power?.map((p) => p.rail), ["GPU", "CPU"]);
  assert.equal(cutRails.temps?.length, 8);

  assert.deepEqual(parseTegrastatsLine(line("malformed.txt", "junk")), {});

  const bad = parseTegrastatsLine(line("malformed.txt", "out-of-range"));
  SampleMetrics.parse(bad);
  assert.equal(bad.mem, undefined); // used > total
  assert.deepEqual(bad.cpu, {
    pct: 50,
    cores: [{ online: true, mhz: 1190 }, { online: true, pct: 50, mhz: 1190 }],
  });
  assert.deepEqual(bad.gpus, [{ index: 0, freq_mhz: 1377 }]);
  assert.deepEqual(bad.emc, { freq_mhz: 2133 });
  assert.deepEqual(bad.temps, [{ name: "GPU", c: 40 }]);
  assert.deepEqual(bad.power, [{ rail: "VDD_SOC", mw: 100, avg_mw: 90 }]);

  assert.deepEqual(parseTegrastatsLine(""), {});
  assert.deepEqual(parseTegrastatsLine(undefined as unknown as string), {});
});

Deno.test("tegrastats: every fixture line and every prefix of it parses into a valid sample", () => {
  let parsed = 0;
  for (const file of FILES) {
    for (const lines of fixture(file).values()) {
      for (const l of lines) {
        const full = parseTegrastatsLine(l);
        SampleMetrics.parse(full);
        if (!file.startsWith("malformed")) {
          assert.ok(full.mem && full.cpu && full.gpus && full.temps && full.power, l);
        }
        for (let cut = 0; cut <= l.length; cut += 3) {
          SampleMetrics.parse(parseTegrastatsLine(l.slice(0, cut)));
          parsed++;
        }
      }
    }
  }
  assert.ok(parsed > 1000);
});

// ---- the collector, with a fake tegrastats executable run as a real child process ----------

/**
 * Writes a fake `tegrastats` into `dir`: it records its arguments and PID, then prints the
 * given lines in a loop every `--interval` ms (at most 2000 lines), and exits on SIGTERM.
 */
async function writeFakeTegrastats(dir: string, lines: string[], extra = ""): Promise<string> {
  await Deno.writeTextFile(`${dir}/lines.txt`, lines.join("\n") + "\n");
  const script = `${dir}/tegrastats`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh
here=$(dirname "$0")
echo "$*" > "$here/args"
echo $$ > "$here/pid"
interval=1000
[ "$1" = "--interval" ] && interval=$2
secs=$(awk "BEGIN { print $interval / 1000 }")
trap 'kill $sleeper 2>/dev/null; exit 0' TERM INT
${extra}
n=0
while [ $n -lt 2000 ]; do
  while IFS= read -r line; do
    echo "$line"
    n=$((n + 1))
    sleep "$secs" & sleeper=$!
    wait $sleeper
  done < "$here/lines.txt"
done
`,
  );
  await Deno.chmod(script, 0o755);
  return script;
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function killLeftover(dir: string): Promise<void> {
  try {
    const pid = Number(await Deno.readTextFile(`${dir}/pid`));
    if (pid > 0 && alive(pid)) Deno.kill(pid, "SIGKILL");
  } catch {
    // never started, or already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("tegrastats collector: one long-running child, latest line parsed, killed on close", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-tegrastats-" });
  const lines = fixture("orin_jp5_jp6.txt").get("tegra-exporter-r36")!;
  const tegra = createTegrastatsCollector({
    path: await writeFakeTegrastats(dir, lines),
    intervalMs: 40,
  });
  try {
    assert.deepEqual(
      await tegra.collect({ root: "/", now: 1 }),
      {},
      "no line yet right after start",
    );
    let m: Awaited<ReturnType<typeof tegra.collect>> = {};
    for (let i = 0; i < 50 && !m.gpus; i++) {
      await sleep(40);
      m = await tegra.collect({ root: "/", now: 1 + i });
    }
    SampleMetrics.parse(m);
    assert.ok([18207 * MIB, 18202 * MIB].includes(m.mem?.used_b ?? 0), "RAM from a fixture line");
    assert.equal(m.cpu?.cores?.length, 12);
    assert.deepEqual(m.power?.map((p) => p.rail), ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"]);
    assert.equal((await Deno.readTextFile(`${dir}/args`)).trim(), "--interval 40");
    const pid = Number(await Deno.readTextFile(`${dir}/pid`));
    // Many collects, still the same single child.
    for (let i = 0; i < 5; i++) await tegra.collect({ root: "/", now: 100 + i });
    assert.equal(Number(await Deno.readTextFile(`${dir}/pid`)), pid);
    assert.ok(alive(pid));
    await tegra.close();
    assert.ok(!alive(pid), "child stopped by close()");
    assert.deepEqual(await tegra.collect({ root: "/", now: 200 }), {}, "closed collector is inert");
  } finally {
    await tegra.close();
    await killLeftover(dir);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tegrastats collector: a child that dies is reported with its stderr and restarted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-tegrastats-" });
  const script = await writeFakeTegrastats(
    dir,
    [],
    `echo "Error: tegrastats must be run as root" >&2; exit 3`,
  );
  const tegra = createTegrastatsCollector({ path: script, intervalMs: 40 });
  try {
    assert.deepEqual(await tegra.collect({ root: "/", now: 1 }), {});
    let error: Error | undefined;
    for (let i = 0; i < 50 && !error; i++) {
      await sleep(20);
      await tegra.collect({ root: "/", now: 2 }).catch((e) => error = e);
    }
    assert.match(
      String(error?.message),
      /exited with code 3: Error: tegrastats must be run as root/,
    );
    // the next run was started by that collect; it dies the same way
    let again: Error | undefined;
    for (let i = 0; i < 50 && !again; i++) {
      await sleep(20);
      await tegra.collect({ root: "/", now: 3 }).catch((e) => again = e);
    }
    assert.match(String(again?.message), /exited with code 3/);
  } finally {
    await tegra.close();
    await killLeftover(dir);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tegrastats collector: silence is reported as stale; a missing binary throws", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-tegrastats-" });
  // prints nothing: waits on a sleep that the TERM trap ends
  const script = await writeFakeTegrastats(dir, [], `sleep 30 & sleeper=$!; wait $sleeper; exit 0`);
  const tegra = createTegrastatsCollector({ path: script, intervalMs: 40, staleAfterMs: 150 });
  try {
    assert.deepEqual(await tegra.collect({ root: "/", now: 1 }), {});
    await sleep(250);
    await assert.rejects(tegra.collect({ root: "/", now: 2 }), /printed nothing for \d+ ms/);
  } finally {
    await tegra.close();
    await killLeftover(dir);
    await Deno.remove(dir, { recursive: true });
  }
  const missing = createTegrastatsCollector({ path: "/nonexistent/tegrastats", intervalMs: 1000 });
  await assert.rejects(missing.collect({ root: "/", now: 1 }), Deno.errors.NotFound);
  await missing.close();
});
