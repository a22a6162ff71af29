// The agent's libc statfs (agent/collect/statfs.ts) against node:fs's on real filesystems.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { statfs } from "../../agent/collect/statfs.ts";

Deno.test("statfs through libc matches node:fs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const path of ["/", dir, "/proc"]) {
      const ours = await statfs(path);
      const node = await fs.statfs(path);
      assert.ok(ours, path);
      assert.equal(ours.bsize, node.bsize, path);
      assert.equal(ours.blocks, node.blocks, path);
      // Free space moves while the test runs; a few MB either way is the same reading.
      assert.ok(Math.abs(ours.bavail - node.bavail) * ours.bsize < 64 * 1_048_576, path);
      assert.ok(ours.bfree >= ours.bavail, path);
    }
    assert.equal(await statfs(`${dir}/missing`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
