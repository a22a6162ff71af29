/**
 * The filesystem-usage collector: which mounts of a Jetson's /proc/mounts are reported (real
 * filesystems, one per device, existing paths only) and that sizes come from statfs(2).
 */
import assert from "node:assert/strict";
import { statfsSync } from "node:fs";
import { createDisksCollector, parseMounts } from "../../agent/collect/disks.ts";
import { SampleMetrics } from "../../shared/protocol/mod.ts";

const XAVIER = new URL("../fixtures/roots/xavier/t0", import.meta.url).pathname;
const X86 = new URL("../fixtures/roots/x86/t0", import.meta.url).pathname;

Deno.test("disks: parseMounts keeps real filesystems, unescapes paths, dedupes devices", async () => {
  const text = await Deno.readTextFile(`${XAVIER}/proc/mounts`);
  assert.deepEqual(parseMounts(text), [
    { device: "/dev/root", mount: "/", fs: "ext4" },
    // also mounted on /var/lib/docker: the shorter path wins
    { device: "/dev/nvme0n1p1", mount: "/mnt/nvme", fs: "ext4" },
    { device: "/dev/sda1", mount: "/media/nvidia/USB STICK", fs: "vfat" },
    { device: "/dev/sdb1", mount: "/mnt/unplugged", fs: "ext4" },
    { device: "10.0.0.5:/export/models", mount: "/mnt/models", fs: "nfs4" },
  ]);
  assert.deepEqual(parseMounts("garbage\n\n/dev/x relative ext4 rw 0 0\n"), []);
});

Deno.test("disks: sizes come from statfs of <root>/<mount>; missing mount paths are skipped", async () => {
  const m = await createDisksCollector().collect({ root: XAVIER, now: Date.now() });
  SampleMetrics.parse(m);
  // /mnt/unplugged and the NFS mount have no directory under the fixture root.
  assert.deepEqual(m.disks?.map((d) => [d.mount, d.device, d.fs]), [
    ["/", "/dev/root", "ext4"],
    ["/mnt/nvme", "/dev/nvme0n1p1", "ext4"],
    ["/media/nvidia/USB STICK", "/dev/sda1", "vfat"],
  ]);
  for (const d of m.disks ?? []) {
    const path = d.mount === "/" ? XAVIER : XAVIER + d.mount;
    const s = statfsSync(path) as unknown as Record<string, number>;
    const unit = s.frsize || s.bsize;
    assert.equal(d.total_b, s.blocks * unit, d.mount);
    // the filesystem is live, so used may move a little between the two statfs calls
    assert.ok(Math.abs(d.used_b - (s.blocks - s.bfree) * unit) < 64 * 1024 * 1024, d.mount);
    assert.ok(d.pct >= 0 && d.pct <= 100);
  }
});

Deno.test("disks: bind mounts of one device count once", async () => {
  const m = await createDisksCollector().collect({ root: X86, now: Date.now() });
  assert.deepEqual(m.disks?.map((d) => d.mount), ["/"]);
});

Deno.test("disks: no /proc/mounts means no disks field", async () => {
  const empty = await Deno.makeTempDir({ prefix: "fleet-disks-" });
  try {
    assert.deepEqual(await createDisksCollector().collect({ root: empty, now: Date.now() }), {});
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("disks: the real root of this machine passes the schema", async () => {
  const m = SampleMetrics.parse(await createDisksCollector().collect({ root: "/", now: 1 }));
  const root = m.disks?.find((d) => d.mount === "/");
  if (root) assert.ok(root.total_b > 0 && root.used_b <= root.total_b);
});
