/** A symlink's own mtime is set; what it points to keeps its own. */
import assert from "node:assert/strict";
import { lutimes } from "../../shared/lutimes.ts";

Deno.test("lutimes: sets the link's time, not its target's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lutimes-" });
  try {
    await Deno.writeTextFile(`${dir}/target`, "x");
    const targetBefore = (await Deno.stat(`${dir}/target`)).mtime!.getTime();
    await Deno.symlink("target", `${dir}/link`);
    const when = Date.UTC(2020, 0, 2, 3, 4, 5, 678);
    assert.equal(await lutimes(`${dir}/link`, when), true);
    assert.equal((await Deno.lstat(`${dir}/link`)).mtime!.getTime(), when);
    assert.equal((await Deno.stat(`${dir}/target`)).mtime!.getTime(), targetBefore);
    // A dangling link is set too (nothing is followed); a missing path is a plain false.
    await Deno.symlink("nowhere", `${dir}/dangling`);
    assert.equal(await lutimes(`${dir}/dangling`, when), true);
    assert.equal((await Deno.lstat(`${dir}/dangling`)).mtime!.getTime(), when);
    assert.equal(await lutimes(`${dir}/missing`, when), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
