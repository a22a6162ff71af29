/**
 * The procfs collector against two snapshots of a Jetson AGX Xavier and of an x86 VM
 * (tests/fixtures/roots/<kind>/t0 and t1): values of the first call, rates between the two.
 */
import assert from "node:assert/strict";
import { createProcCollector } from "../../agent/collect/proc.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";

const roots = (kind: string) => ({
  t0: new URL(`../fixtures/roots/${kind}/t0`, import.meta.url).pathname,
  t1: new URL(`../fixtures/roots/${kind}/t1`, import.meta.url).pathname,
});
const XAVIER = roots("xavier");
const X86 = roots("x86");
const T = 1_764_140_000_000;

Deno.test("proc: first call has load, memory, swap and uptime but no rates", async () => {
  const proc = createProcCollector();
  const m = await proc.collect({ root: XAVIER.t0, now: T });
  SampleMetrics.parse(m);
  assert.equal(m.cpu, undefined);
  assert.equal(m.net, undefined);
  assert.equal(m.disk_io, undefined);
  assert.deepEqual(m.load, { l1: 0.52, l5: 0.61, l15: 0.58 });
  assert.equal(m.uptime_s, 12345.67);
  // used = MemTotal - MemAvailable = 32692964 kB - 29000000 kB
  assert.deepEqual(m.mem, {
    total_b: 33477595136,
    used_b: 3781595136,
    available_b: 29696000000,
    pct: 11.3,
  });
  assert.deepEqual(m.swap, {
    total_b: 16738791424,
    used_b: 0,
    available_b: 16738791424,
    pct: 0,
  });
});

Deno.test("proc: Xavier rates between two snapshots 5 s apart", async () => {
  const proc = createProcCollector();
  await proc.collect({ root: XAVIER.t0, now: T });
  const m = await proc.collect({ root: XAVIER.t1, now: T + 5000 });
  SampleMetrics.parse(m);

  // 920 busy of 3000 jiffies over the six online cores; cores 6 and 7 are offline (absent from
  // /proc/stat, present per sys/devices/system/cpu/present = 0-7).
  assert.equal(m.cpu?.pct, 30.67);
  assert.deepEqual(m.cpu?.cores, [
    { online: true, pct: 25, mhz: 1190.4 },
    { online: true, pct: 15, mhz: 1190.4 },
    { online: true, pct: 50, mhz: 2265.6 },
    { online: true, pct: 3, mhz: 1190.4 },
    { online: true, pct: 90, mhz: 2265.6 },
    { online: true, pct: 1, mhz: 729.6 },
    { online: false },
    { online: false },
  ]);

  // Whole devices only: no loop, ram, zram, partitions or eMMC boot areas.
  assert.deepEqual(m.disk_io, [
    { device: "mmcblk0", read_bps: 209715.2, write_bps: 1048576 },
    { device: "nvme0n1", read_bps: 20971520, write_bps: 0 },
  ]);
  assert.deepEqual(m.net, [
    { iface: "eth0", rx_bps: 1250000, tx_bps: 100000, rx_b: 1006250000, tx_b: 200500000 },
    { iface: "l4tbr0", rx_bps: 0, tx_bps: 0, rx_b: 0, tx_b: 0 },
    { iface: "rndis0", rx_bps: 0, tx_bps: 0, rx_b: 0, tx_b: 0 },
  ]);
  assert.equal(m.mem?.used_b, 4805595136);
  assert.equal(m.mem?.pct, 14.35);
  assert.deepEqual(
    { used: m.swap?.used_b, pct: m.swap?.pct },
    { used: 2097152, pct: 0.01 },
  );
  assert.deepEqual(m.load, { l1: 1.2, l5: 0.75, l15: 0.62 });
  assert.equal(m.uptime_s, 12350.67);
});

Deno.test("proc: x86 VM uses cpuinfo MHz, sys/block and ignores guest time", async () => {
  const proc = createProcCollector();
  const first = await proc.collect({ root: X86.t0, now: T });
  assert.deepEqual(first.swap, { total_b: 0, used_b: 0, available_b: 0, pct: 0 });
  const m = await proc.collect({ root: X86.t1, now: T + 2500 });
  SampleMetrics.parse(m);
  assert.equal(m.cpu?.pct, 51);
  assert.deepEqual(m.cpu?.cores, [
    { online: true, pct: 78, mhz: 3100 },
    { online: true, pct: 24, mhz: 2800 },
  ]);
  // vda1/vda15 are not in sys/block; loop0 and zram0 are, but are never reported.
  assert.deepEqual(m.disk_io, [
    { device: "vda", read_bps: 104857.6, write_bps: 838860.8 },
    { device: "sr0", read_bps: 0, write_bps: 0 },
    { device: "nbd0", read_bps: 0, write_bps: 0 },
  ]);
  assert.deepEqual(m.net?.map((n) => [n.iface, n.rx_bps, n.tx_bps]), [
    ["eth0", 100000, 10000],
    ["docker0", 0, 0],
  ]);
  assert.equal(m.mem?.pct, 32.86);
});

Deno.test("proc: counters that went backwards and zero elapsed time give no rates", async () => {
  const proc = createProcCollector();
  await proc.collect({ root: XAVIER.t1, now: T });
  const reset = await proc.collect({ root: XAVIER.t0, now: T + 5000 });
  assert.equal(reset.cpu, undefined);
  // eth0 went backwards and is skipped; the idle interfaces have a (zero) rate.
  assert.deepEqual(reset.net?.map((n) => n.iface), ["l4tbr0", "rndis0"]);
  assert.equal(reset.disk_io, undefined);

  const same = await proc.collect({ root: XAVIER.t0, now: T + 5000 });
  assert.equal(same.cpu, undefined);
  assert.equal(same.net, undefined);
  assert.equal(same.disk_io, undefined);
});

Deno.test("proc: a root without /proc gives an empty result, not an error", async () => {
  const empty = await Deno.makeTempDir({ prefix: "fleet-proc-" });
  try {
    const proc = createProcCollector();
    assert.deepEqual(await proc.collect({ root: empty, now: T }), {});
    assert.deepEqual(await proc.collect({ root: empty, now: T + 5000 }), {});
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("proc: the real /proc of this machine passes the schema", async () => {
  const proc = createProcCollector();
  await proc.collect({ root: "/", now: Date.now() });
  await new Promise((r) => setTimeout(r, 100));
  const m = SampleMetrics.parse(await proc.collect({ root: "/", now: Date.now() }));
  assert.ok(m.cpu && m.cpu.pct >= 0 && m.cpu.pct <= 100);
  assert.ok(m.mem && m.mem.total_b > 0);
  assert.ok((m.uptime_s ?? 0) > 0);
});
