/**
 * The sysfs collector against fixture roots of an AGX Xavier (JetPack 4: iio power monitors) and
 * an Orin Nano (JetPack 6: hwmon power monitors, powered-off zones): it gives the same GPU load,
 * GPU and EMC clocks, power rails and temperatures as the matching tegrastats line — except the
 * placeholder readings (PMIC's constant 100 °C, −256 °C), which it leaves out on purpose.
 */
import assert from "node:assert/strict";
import { createSysfsCollector, isPlaceholderTemp } from "../../agent/collect/sysfs.ts";
import { parseTegrastatsLine } from "../../agent/collect/tegrastats.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

async function tegrastatsLine(file: string, tag: string, index = 0): Promise<string> {
  const lines = (await Deno.readTextFile(`${FIXTURES}tegrastats/${file}`)).split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith(`# [${tag}]`)) {
      for (let j = i + 1; j < lines.length && lines[j] && !lines[j].startsWith("#"); j++) {
        out.push(lines[j]);
      }
    }
  }
  assert.ok(out[index], `no line ${index} under [${tag}] in ${file}`);
  return out[index];
}

const byName = <T extends { name: string }>(list: T[] = []) =>
  [...list].sort((a, b) => a.name.localeCompare(b.name));
const byRail = <T extends { rail: string }>(list: T[] = []) =>
  [...list].sort((a, b) => a.rail.localeCompare(b.rail));

Deno.test("sysfs: Xavier JetPack 4 root matches its tegrastats line", async () => {
  const tegra = parseTegrastatsLine(await tegrastatsLine("agx_xavier_jp4.txt", "brief"));
  const sysfs = createSysfsCollector();
  const m = await sysfs.collect({ root: `${FIXTURES}sysfs/xavier_jp4`, now: 1 });
  SampleMetrics.parse(m);

  assert.deepEqual(m.gpus, tegra.gpus); // GR3D_FREQ 0%@1377
  assert.deepEqual(m.gpus, [{ index: 0, util_pct: 0, freq_mhz: 1377 }]);
  assert.deepEqual(m.emc, tegra.emc); // EMC_FREQ 0%@2133
  // First reading: the average is the reading, as in tegrastats' first line.
  assert.deepEqual(byRail(m.power), byRail(tegra.power));
  assert.equal(m.power?.length, 6);
  const expectedTemps = (tegra.temps ?? []).filter((t) => !isPlaceholderTemp(t.name, t.c));
  assert.equal(
    expectedTemps.length,
    (tegra.temps?.length ?? 0) - 1,
    "PMIC@100C is the placeholder",
  );
  assert.deepEqual(byName(m.temps), byName(expectedTemps));
  assert.ok(!m.temps?.some((t) => t.name === "PMIC"));
});

Deno.test("sysfs: Orin Nano JetPack 6 root matches its busy tegrastats line", async () => {
  const tegra = parseTegrastatsLine(await tegrastatsLine("orin_jp5_jp6.txt", "orin-nano-jp6", 1));
  const sysfs = createSysfsCollector();
  const root = `${FIXTURES}sysfs/orin_nano_jp6`;
  const m = await sysfs.collect({ root, now: 1 });
  SampleMetrics.parse(m);

  assert.deepEqual(m.gpus, tegra.gpus); // GR3D_FREQ 99%@[612]
  assert.deepEqual(m.gpus, [{ index: 0, util_pct: 99, freq_mhz: 612 }]);
  assert.deepEqual(m.emc, tegra.emc); // EMC_FREQ 61%@2133
  assert.deepEqual(m.emc, { util_pct: 61, freq_mhz: 2133 });
  // Current power per rail; tegrastats' averages cover its own run, ours the agent's.
  const now = byRail(m.power).map(({ rail, mw }) => ({ rail, mw }));
  assert.deepEqual(now, byRail(tegra.power).map(({ rail, mw }) => ({ rail, mw })));
  assert.deepEqual(now.map((r) => r.rail), ["VDD_CPU_GPU_CV", "VDD_IN", "VDD_SOC"]);
  // cv0..cv2 read -256 °C (powered off): left out, as tegrastats does not print them either.
  assert.deepEqual(byName(m.temps), byName(tegra.temps));
  assert.equal(m.temps?.length, 6);

  // Averages follow the readings since the start.
  const dir = await Deno.makeTempDir({ prefix: "fleet-sysfs-" });
  try {
    const cp = await new Deno.Command("cp", { args: ["-a", `${root}/.`, dir] }).output();
    assert.ok(cp.success);
    const fresh = createSysfsCollector();
    await fresh.collect({ root: dir, now: 1 });
    const hw = `${dir}/sys/bus/i2c/devices/1-0040/hwmon/hwmon1`;
    await Deno.writeTextFile(`${hw}/curr1_input`, "1000\n"); // VDD_IN 5002 mV × 1 A
    await Deno.writeTextFile(`${dir}/sys/devices/platform/bus@0/17000000.gpu/load`, "0\n");
    const second = await fresh.collect({ root: dir, now: 2 });
    const vin = second.power?.find((r) => r.rail === "VDD_IN");
    assert.deepEqual(vin, { rail: "VDD_IN", mw: 5002, avg_mw: Math.round((16321 + 5002) / 2) });
    assert.equal(second.gpus?.[0].util_pct, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sysfs: a machine without Jetson files gives nothing, never an error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-sysfs-empty-" });
  try {
    assert.deepEqual(await createSysfsCollector().collect({ root: dir, now: 1 }), {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sysfs: placeholder readings", () => {
  assert.equal(isPlaceholderTemp("PMIC", 100), true);
  assert.equal(isPlaceholderTemp("PMIC", 64.5), false);
  assert.equal(isPlaceholderTemp("GPU", -256), true);
  assert.equal(isPlaceholderTemp("CPU", 100), false);
});

Deno.test("sysfs: the sampler uses it on a Jetson root without tegrastats", async () => {
  const { createSampler } = await import("../../agent/collect/sampler.ts");
  const sampler = createSampler({
    root: `${FIXTURES}sysfs/orin_nano_jp6`,
    tegrastats: false,
    nvidiaSmi: false,
    dockerSocket: false,
    intervalMs: 1000,
  });
  try {
    assert.ok(sampler.collectors.includes("sysfs"));
    const m = await sampler.collect(1);
    assert.deepEqual(m.gpus, [{ index: 0, util_pct: 99, freq_mhz: 612 }]);
    assert.deepEqual(m.emc, { util_pct: 61, freq_mhz: 2133 });
    assert.equal(m.power?.find((r) => r.rail === "VDD_IN")?.mw, 16321);
  } finally {
    await sampler.close();
  }
  const plain = createSampler({
    root: `${FIXTURES}roots/xavier/t0`,
    tegrastats: false,
    nvidiaSmi: false,
    dockerSocket: false,
    intervalMs: 1000,
  });
  assert.ok(!plain.collectors.includes("sysfs"), "no Jetson sysfs files: no sysfs collector");
  await plain.close();
});

/**
 * CPU clocks come from cpufreq through the proc collector (the sysfs collector does not read
 * them twice): on the same roots, with /proc/stat moved on by the line's per-core load, it gives
 * the tegrastats line's per-core load, clock (cpufreq's kHz truncated to MHz, as tegrastats
 * prints them) and offline cores.
 */
Deno.test("sysfs roots: per-core CPU clocks and offline cores match the tegrastats lines", async () => {
  const { createProcCollector } = await import("../../agent/collect/proc.ts");
  for (
    const [root, file, tag, index] of [
      ["xavier_jp4", "agx_xavier_jp4.txt", "brief", 0],
      ["orin_nano_jp6", "orin_jp5_jp6.txt", "orin-nano-jp6", 1],
    ] as const
  ) {
    const tegra = parseTegrastatsLine(await tegrastatsLine(file, tag, index));
    const cores = tegra.cpu!.cores!;
    const dir = await Deno.makeTempDir({ prefix: "fleet-sysfs-cpu-" });
    try {
      const cp = await new Deno.Command("cp", { args: ["-a", `${FIXTURES}sysfs/${root}/.`, dir] })
        .output();
      assert.ok(cp.success);
      const proc = createProcCollector();
      await proc.collect({ root: dir, now: 1_000 });
      // One second later: each online core spent the line's share of 1000 jiffies busy.
      const before = (await Deno.readTextFile(`${dir}/proc/stat`)).split("\n");
      const next = before.map((line) => {
        const m = /^cpu(\d*) (.*)$/.exec(line);
        if (!m) return line;
        const f = m[2].trim().split(/\s+/).map(Number);
        const online = cores.map((c, i) => ({ c, i })).filter(({ c }) => c.online);
        const share = m[1] === ""
          ? online.map(({ c }) => c.pct! * 10)
          : [cores[Number(m[1])].pct! * 10];
        const busy = share.reduce((a, b) => a + b, 0);
        f[0] += busy;
        f[3] += share.length * 1000 - busy;
        return `cpu${m[1]}${m[1] === "" ? " " : ""} ${f.join(" ")}`;
      });
      await Deno.writeTextFile(`${dir}/proc/stat`, next.join("\n"));
      const m = await proc.collect({ root: dir, now: 2_000 });
      const got = m.cpu!.cores!.map((c) =>
        c.online ? { online: true, pct: c.pct, mhz: Math.floor(c.mhz!) } : { online: false }
      );
      const want = cores.map((c) =>
        c.online ? { online: true, pct: c.pct, mhz: c.mhz } : { online: false }
      );
      assert.deepEqual(got, want, root);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
