/**
 * Test 5 of the spine: a node goes online → degraded → offline as its samples stop (short
 * thresholds from the command line), each change announced on the SSE stream, and back online
 * when samples resume.
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { SseClient } from "../helpers/sse.ts";
import { pushSeqs } from "../helpers/samples.ts";

Deno.test("status online → degraded → offline → online, announced on SSE", async () => {
  const hub = await startHub({
    args: ["--degraded-after", "600ms", "--offline-after", "1500ms", "--status-check", "100ms"],
  });
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "agx-03" })).token;
    assert.equal((await hub.admin.node("agx-03")).status, "pending");
    await pushSeqs(hub.url, token, "agx-03", 1, 1);
    const mine = (e: { event: string; data: string }) =>
      e.event === "node.status" && JSON.parse(e.data).node_id === "agx-03";
    const statusIs = (s: string) => (e: { event: string; data: string }) =>
      mine(e) && JSON.parse(e.data).status === s;
    await sse.next(statusIs("online"));
    await sse.next(statusIs("degraded"));
    assert.equal((await hub.admin.node("agx-03")).status, "degraded");
    await sse.next(statusIs("offline"));
    assert.equal((await hub.admin.node("agx-03")).status, "offline");
    const offlineAt = sse.events.length;
    await pushSeqs(hub.url, token, "agx-03", 2, 2);
    await sse.next(statusIs("online"), 10_000, offlineAt);

    const transitions = sse.data<{ node_id: string; status: string; previous: string }>(
      "node.status",
    )
      .filter((d) => d.node_id === "agx-03")
      .map((d) => `${d.previous}>${d.status}`);
    assert.deepEqual(transitions, [
      "pending>online",
      "online>degraded",
      "degraded>offline",
      "offline>online",
    ]);
  } finally {
    await sse.close();
    await hub.stop();
  }
});

Deno.test("status thresholds come from fleet.yml when no flag is given", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-cfg-" });
  const file = `${dir}/fleet.yml`;
  await Deno.writeTextFile(
    file,
    "status:\n  degraded_after: 300ms\n  offline_after: 700ms\n  check_every: 100ms\n",
  );
  const hub = await startHub({ args: ["--config", file] });
  try {
    const token = (await hub.admin.createToken({ kind: "node", node_id: "n9" })).token;
    await pushSeqs(hub.url, token, "n9", 1, 1);
    const deadline = Date.now() + 10_000;
    let status = "";
    while (Date.now() < deadline && status !== "offline") {
      await new Promise((r) => setTimeout(r, 100));
      status = (await hub.admin.node("n9")).status;
    }
    assert.equal(status, "offline");
  } finally {
    await hub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
