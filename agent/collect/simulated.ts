/**
 * Simulated metrics for a demo fleet: a Jetson AGX Xavier, a DGX Spark or an x86 box with a dGPU,
 * each varying smoothly over time with occasional bursts (a GPU job running for a few minutes,
 * with its container, heat and power). Everything is derived from the seed and the collection
 * time, so the same seed and the same sequence of `now` values give the same metrics.
 *
 * @module
 */
import type { CollectContext, Collector } from "./collector.ts";
import type { CpuCore, SampleMetrics } from "../../shared/protocol/mod.ts";

/** Which kind of node to simulate, and the seed that makes it differ from its siblings. */
export interface SimulatedProfile {
  /** Jetson AGX Xavier (tegrastats-like fields), DGX Spark, or an x86 box with a dGPU. */
  kind: "xavier" | "spark" | "x86";
  /** Makes nodes of one kind differ; the same seed always gives the same series. */
  seed: number;
}

type ContainerStat = NonNullable<SampleMetrics["containers"]>[number];

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** A 32-bit integer hash of the arguments → [0, 1). */
function hash(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (Math.floor(p) | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return (h >>> 0) / 4294967296;
}

/** Smooth value noise in [0, 1]: random knots every `period` seconds, eased in between. */
function noise(seed: number, channel: number, t: number, period: number): number {
  const x = t / period;
  const k = Math.floor(x);
  const f = x - k;
  const e = f * f * (3 - 2 * f);
  const a = hash(seed, channel, k);
  const b = hash(seed, channel, k + 1);
  return a + (b - a) * e;
}

/** Two octaves of noise: slow drift plus some faster wiggle. */
function wave(seed: number, channel: number, t: number): number {
  return 0.7 * noise(seed, channel, t, 180) + 0.3 * noise(seed, channel + 1000, t, 25);
}

const SLOT_S = 600;

/** The GPU job of a 10-minute slot, if that slot has one (about a third do). */
function jobIn(seed: number, slot: number): { start: number; end: number } | undefined {
  if (hash(seed, 7001, slot) >= 0.35) return undefined;
  const start = slot * SLOT_S + 30 + hash(seed, 7002, slot) * 240;
  return { start, end: start + 90 + hash(seed, 7003, slot) * 210 };
}

/** The job whose run (including its ramp down) covers `t`, with the slot it belongs to. */
function activeJob(seed: number, t: number): { slot: number; start: number } | undefined {
  const slot = Math.floor(t / SLOT_S);
  for (const s of [slot, slot - 1]) {
    const job = jobIn(seed, s);
    if (job && t >= job.start && t <= job.end + 15) return { slot: s, start: job.start };
  }
  return undefined;
}

/** 0..1: how much a job is running at `t`, ramping over `ramp` seconds (heat lags the load). */
function burst(seed: number, t: number, ramp: number): number {
  const slot = Math.floor(t / SLOT_S);
  let level = 0;
  for (const s of [slot - 1, slot]) {
    const job = jobIn(seed, s);
    if (!job) continue;
    const up = Math.min(1, Math.max(0, (t - job.start) / ramp));
    const down = Math.min(1, Math.max(0, (job.end + ramp - t) / ramp));
    level = Math.max(level, Math.min(up, down));
  }
  return level * level * (3 - 2 * level);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function r1(v: number): number {
  return Math.round(v * 10) / 10;
}

function r2(v: number): number {
  return Math.round(v * 100) / 100;
}

interface Shape {
  cores: number;
  mhz: (core: number) => [min: number, max: number];
  memTotal: number;
  swapTotal: number;
  disks: { mount: string; device: string; fs: string; total: number; fill: number }[];
  ioDevices: string[];
  iface: string;
  netScale: number;
  idleCpu: number;
  jobImage: string;
  services: { name: string; image: string; cpu: number; mem: number }[];
}

const SHAPES: Record<SimulatedProfile["kind"], Shape> = {
  xavier: {
    cores: 8,
    mhz: () => [1190.4, 2265.6],
    memTotal: 31927 * MIB,
    swapTotal: 15963 * MIB,
    disks: [
      { mount: "/", device: "/dev/mmcblk0p1", fs: "ext4", total: 28.1 * GIB, fill: 0.62 },
      { mount: "/mnt/nvme", device: "/dev/nvme0n1p1", fs: "ext4", total: 465.8 * GIB, fill: 0.38 },
    ],
    ioDevices: ["mmcblk0", "nvme0n1"],
    iface: "eth0",
    netScale: 2e6,
    idleCpu: 6,
    jobImage: "nvcr.io/nvidia/l4t-ml:r32.6.1-py3",
    services: [
      { name: "deepstream", image: "nvcr.io/nvidia/deepstream-l4t:6.0-samples", cpu: 18, mem: 900 },
      { name: "mosquitto", image: "eclipse-mosquitto:2", cpu: 0.3, mem: 8 },
    ],
  },
  spark: {
    cores: 20,
    // GB10: ten Cortex-X925 performance cores, then ten Cortex-A725 efficiency cores.
    mhz: (core) => core < 10 ? [1378, 3900] : [1026, 2808],
    memTotal: 121.69 * GIB,
    swapTotal: 16 * GIB,
    disks: [
      { mount: "/", device: "/dev/nvme0n1p2", fs: "ext4", total: 3725 * GIB, fill: 0.21 },
      { mount: "/boot/efi", device: "/dev/nvme0n1p1", fs: "vfat", total: 0.5 * GIB, fill: 0.01 },
    ],
    ioDevices: ["nvme0n1"],
    iface: "enP7s7",
    netScale: 3e7,
    idleCpu: 2,
    jobImage: "nvcr.io/nvidia/pytorch:25.09-py3",
    services: [
      { name: "vllm", image: "vllm/vllm-openai:v0.11.0", cpu: 4, mem: 6100 },
      { name: "open-webui", image: "ghcr.io/open-webui/open-webui:main", cpu: 0.8, mem: 620 },
    ],
  },
  x86: {
    cores: 8,
    mhz: () => [800, 4700],
    memTotal: 62.7 * GIB,
    swapTotal: 8 * GIB,
    disks: [
      { mount: "/", device: "/dev/nvme0n1p2", fs: "ext4", total: 915 * GIB, fill: 0.47 },
      { mount: "/data", device: "/dev/sda1", fs: "xfs", total: 3726 * GIB, fill: 0.71 },
    ],
    ioDevices: ["nvme0n1", "sda"],
    iface: "eno1",
    netScale: 8e6,
    idleCpu: 4,
    jobImage: "nvcr.io/nvidia/pytorch:24.08-py3",
    services: [
      { name: "prometheus", image: "prom/prometheus:v2.53.0", cpu: 2, mem: 450 },
      { name: "grafana", image: "grafana/grafana:11.1.0", cpu: 0.5, mem: 120 },
    ],
  },
};

/**
 * Creates a collector that invents realistic metrics for one demo node of the given kind.
 *
 * @example
 * ```ts
 * const sim = createSimulatedCollector({ kind: "xavier", seed: 7 });
 * const m = await sim.collect({ root: "/", now: Date.now() }); // passes SampleMetrics.parse
 * ```
 */
export function createSimulatedCollector(profile: SimulatedProfile): Collector {
  const { kind } = profile;
  const seed = Math.floor(profile.seed) | 0;
  const shape = SHAPES[kind];
  let bootAt: number | undefined;
  let last: number | undefined;
  let rxTotal = Math.floor(hash(seed, 1) * 5e11);
  let txTotal = Math.floor(hash(seed, 2) * 2e11);
  const avgPower = new Map<string, number>();

  function rails(t: number, gpuLoad: number, cpuPct: number): NonNullable<SampleMetrics["power"]> {
    const gpu = gpuLoad * (9000 + 3000 * wave(seed, 40, t)) + 40 * wave(seed, 41, t);
    const cpu = 310 + cpuPct * 55 + 80 * wave(seed, 42, t);
    const soc = 930 + 1400 * gpuLoad + 120 * wave(seed, 43, t);
    const vin = 1700 + gpu + cpu + soc + 200 * wave(seed, 44, t);
    return ([["VDD_IN", vin], ["GPU", gpu], ["CPU", cpu], ["SOC", soc]] as const).map(
      ([rail, v]) => {
        const mw = Math.round(Math.max(0, v));
        // tegrastats' second number is a running average since it started.
        const avg = Math.round((avgPower.get(rail) ?? mw) * 0.9 + mw * 0.1);
        avgPower.set(rail, avg);
        return { rail, mw, avg_mw: avg };
      },
    );
  }

  async function collect(ctx: CollectContext): Promise<Partial<SampleMetrics>> {
    await Promise.resolve();
    const t = ctx.now / 1000;
    bootAt ??= t - (3600 + hash(seed, 3) * 40 * 86400);
    const dt = last === undefined ? 0 : clamp(t - last, 0, 3600);
    last = t;

    const job = burst(seed, t, 15);
    const heat = burst(seed, t, 90);
    const base = shape.idleCpu + 18 * wave(seed, 10, t);
    const cpuPct = clamp(base + job * (kind === "xavier" ? 45 : 30), 0, 100);
    const cores: CpuCore[] = [];
    for (let i = 0; i < shape.cores; i++) {
      const [min, max] = shape.mhz(i);
      const pct = clamp(cpuPct + (wave(seed, 100 + i, t) - 0.5) * 30, 0, 100);
      const mhz = min + (max - min) * clamp(pct / 60 + 0.1 * wave(seed, 200 + i, t), 0, 1);
      cores.push({ pct: r1(pct), mhz: Math.round(mhz), online: true });
    }
    const meanPct = cores.reduce((a, c) => a + (c.pct ?? 0), 0) / cores.length;

    // a job's memory fills over half a minute (model loading), not in one step
    const memFrac = clamp(0.18 + 0.12 * wave(seed, 20, t) + 0.45 * burst(seed, t, 40), 0.05, 0.97);
    const memUsed = Math.round(shape.memTotal * memFrac);
    const swapUsed = Math.round(
      shape.swapTotal * clamp(0.02 * wave(seed, 21, t) + 0.05 * heat, 0, 1),
    );

    const rx = shape.netScale * (0.05 + 0.3 * wave(seed, 30, t) + 2 * job);
    const tx = shape.netScale * (0.02 + 0.1 * wave(seed, 31, t) + 0.3 * job);
    rxTotal += Math.round(rx * dt);
    txTotal += Math.round(tx * dt);

    const loadScale = (shape.cores * meanPct) / 100;
    const out: Partial<SampleMetrics> = {
      uptime_s: r2(t - bootAt),
      cpu: { pct: r2(meanPct), cores },
      load: {
        l1: r2(loadScale * (0.8 + 0.4 * noise(seed, 50, t, 60))),
        l5: r2(loadScale * (0.7 + 0.3 * noise(seed, 51, t, 300))),
        l15: r2(loadScale * (0.6 + 0.3 * noise(seed, 52, t, 900))),
      },
      mem: {
        total_b: Math.round(shape.memTotal),
        used_b: memUsed,
        available_b: Math.round(shape.memTotal) - memUsed,
        pct: r2(memFrac * 100),
      },
      swap: {
        total_b: shape.swapTotal,
        used_b: swapUsed,
        pct: r2((swapUsed / shape.swapTotal) * 100),
      },
      disks: shape.disks.map((d, i) => {
        const fill = clamp(d.fill + 0.01 * wave(seed, 60 + i, t) + 0.005 * heat, 0, 1);
        const total = Math.round(d.total);
        return {
          mount: d.mount,
          device: d.device,
          fs: d.fs,
          total_b: total,
          used_b: Math.round(total * fill),
          pct: r2(fill * 100),
        };
      }),
      disk_io: shape.ioDevices.map((device, i) => ({
        device,
        read_bps: Math.round(1e5 + 4e6 * wave(seed, 70 + i, t) + 1.5e8 * job * (i === 0 ? 0.3 : 1)),
        write_bps: Math.round(2e5 + 2e6 * wave(seed, 80 + i, t) + 2e7 * job),
      })),
      net: [{
        iface: shape.iface,
        rx_bps: Math.round(rx),
        tx_bps: Math.round(tx),
        rx_b: rxTotal,
        tx_b: txTotal,
      }],
    };

    const gpuUtil = clamp(
      job * (86 + 13 * wave(seed, 90, t)) + (1 - job) * 6 * wave(seed, 91, t),
      0,
      100,
    );
    if (kind === "xavier") {
      out.gpus = [{
        index: 0,
        util_pct: Math.round(gpuUtil),
        freq_mhz: job > 0.2 ? 1377 : 318 + Math.round(357 * wave(seed, 92, t)),
      }];
      out.emc = {
        util_pct: Math.round(clamp(4 + 20 * wave(seed, 93, t) + 40 * job, 0, 100)),
        freq_mhz: 2133,
      };
      out.power = rails(t, gpuUtil / 100, meanPct);
      out.temps = [
        { name: "CPU", c: r1(36 + 6 * wave(seed, 94, t) + 16 * heat) },
        { name: "GPU", c: r1(35.5 + 5 * wave(seed, 95, t) + 22 * heat) },
        { name: "AO", c: r1(35 + 4 * wave(seed, 96, t) + 9 * heat) },
      ];
    } else if (kind === "spark") {
      out.gpus = [{
        index: 0,
        name: "NVIDIA GB10",
        util_pct: Math.round(gpuUtil),
        freq_mhz: job > 0.2 ? 2405 : 208 + Math.round(600 * wave(seed, 92, t)),
        temp_c: Math.round(39 + 5 * wave(seed, 95, t) + 30 * heat),
        power_mw: Math.round(3500 + 4000 * wave(seed, 97, t) + 78000 * (gpuUtil / 100)),
      }];
      out.temps = [
        { name: "acpitz", c: r1(40 + 5 * wave(seed, 94, t) + 18 * heat) },
        { name: "nvme", c: r1(38 + 4 * wave(seed, 96, t) + 8 * heat) },
      ];
    } else {
      out.gpus = [{
        index: 0,
        name: "NVIDIA GeForce RTX 4090",
        util_pct: Math.round(gpuUtil),
        freq_mhz: job > 0.2 ? 2520 : 210 + Math.round(800 * wave(seed, 92, t)),
        mem_used_b: Math.round((420 + 300 * wave(seed, 98, t) + 19000 * job) * MIB),
        mem_total_b: 24564 * MIB,
        temp_c: Math.round(33 + 6 * wave(seed, 95, t) + 38 * heat),
        power_mw: Math.round(18000 + 12000 * wave(seed, 97, t) + 390000 * (gpuUtil / 100)),
      }];
      out.temps = [
        { name: "x86_pkg_temp", c: r1(38 + 10 * wave(seed, 94, t) + 25 * heat) },
        { name: "acpitz", c: r1(27.8 + 2 * wave(seed, 96, t)) },
      ];
    }

    const containers: ContainerStat[] = shape.services.map((s, i) => ({
      id: hex(seed, 500 + i),
      name: s.name,
      image: s.image,
      state: "running",
      status: `Up ${Math.max(1, Math.floor((t - bootAt!) / 3600))} hours`,
      cpu_pct: r2(s.cpu * (0.5 + wave(seed, 300 + i, t))),
      mem_b: Math.round(s.mem * MIB * (0.9 + 0.2 * wave(seed, 400 + i, t))),
      mem_limit_b: Math.round(shape.memTotal),
    }));
    containers.push({
      id: hex(seed, 599),
      name: "nightly-backup",
      image: "alpine:3.20",
      state: "exited",
      status: "Exited (0) 3 hours ago",
    });
    const active = activeJob(seed, t);
    if (job > 0 && active) {
      containers.push({
        id: hex(seed, 10000 + active.slot),
        name: `fleet-job-${(active.slot >>> 0).toString(36)}`,
        image: shape.jobImage,
        state: "running",
        status: `Up ${Math.max(1, Math.round((t - active.start) / 60))} minutes`,
        cpu_pct: r2(job * 100 * (kind === "spark" ? 3 : 1.5) * (0.8 + 0.4 * wave(seed, 310, t))),
        mem_b: Math.round(job * 0.4 * shape.memTotal),
        mem_limit_b: Math.round(shape.memTotal),
      });
    }
    out.containers = containers;
    return out;
  }

  return { name: `simulated-${kind}`, collect };
}

/** A stable 64-hex-digit container id. */
function hex(seed: number, n: number): string {
  let s = "";
  for (let i = 0; i < 8; i++) {
    s += Math.floor(hash(seed, n, i) * 0xffffffff).toString(16).padStart(8, "0");
  }
  return s;
}
