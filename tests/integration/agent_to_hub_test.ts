/**
 * Test 1 of the spine: a real agent subprocess reading a fixture root pushes to a real hub; the
 * snapshot shows the node online with the fixture's values and an SSE client sees the sample.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { SseClient } from "../helpers/sse.ts";
import { waitFor } from "../helpers/process.ts";
import type { NodeSummary, Sample } from "../../shared/protocol/mod.ts";

Deno.test("agent on a Xavier fixture root: snapshot online with fixture values, SSE sample", async () => {
  const hub = await startHub();
  const state = await Deno.makeTempDir({ prefix: "fleet-agent-" });
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  const token = (await hub.admin.createToken({ kind: "node", node_id: "agx-07" })).token;
  // The agent reads a copy of snapshot t0; once it has pushed, snapshot t1 is copied over it,
  // so the next sample has rates (CPU %, I/O) computed between the two.
  const root = await Deno.makeTempDir({ prefix: "fleet-root-" });
  const fixtures = join(ROOT, "tests/fixtures/roots/xavier");
  await new Deno.Command("cp", { args: ["-r", `${fixtures}/t0/.`, root] }).output();
  const agent = startAgent({ hub: hub.url, token, stateDir: state, root });
  try {
    await waitFor(async () => (await hub.admin.node("agx-07")).last_seq >= 1, "first sample");
    await new Deno.Command("cp", { args: ["-r", `${fixtures}/t1/.`, root] }).output();
    const node: NodeSummary = await waitFor(async () => {
      const n = await hub.admin.node("agx-07");
      return n.status === "online" && n.last_sample?.cpu && n.last_sample.load?.l1 === 1.2
        ? n
        : undefined;
    }, "agx-07 online with a sample of snapshot t1");
    const s = node.last_sample!;
    // Values straight from tests/fixtures/roots/xavier/t1.
    assert.equal(s.mem?.total_b, 32692964 * 1024);
    assert.equal(s.mem?.available_b, 28000000 * 1024);
    assert.deepEqual(s.load, { l1: 1.2, l5: 0.75, l15: 0.62 });
    assert.equal(s.uptime_s, 12350.67);
    assert.equal(s.cpu?.cores?.[0].mhz, 1190.4);
    assert.ok(s.cpu!.pct > 0 && s.cpu!.pct < 100, `cpu % between snapshots: ${s.cpu!.pct}`);
    assert.ok(
      s.temps?.some((t) => t.c === 36.5),
      `GPU-therm 36.5 °C in ${JSON.stringify(s.temps)}`,
    );
    assert.equal(node.agent_version, "0.1.0");
    assert.equal(node.hostname, Deno.hostname());

    const ev = await sse.next((e) =>
      e.event === "node.sample" && JSON.parse(e.data).node_id === "agx-07"
    );
    const sample = JSON.parse(ev.data).sample as Sample;
    assert.equal(sample.mem?.total_b, 32692964 * 1024);
    assert.match(ev.id!, /^[a-z0-9]+-\d+$/);
    const added = sse.data<{ node: NodeSummary }>("node.added").find((d) => d.node.id === "agx-07");
    assert.ok(added, "node.added announced when the node token was issued");
    const online = sse.data<{ node_id: string; status: string }>("node.status")
      .find((d) => d.node_id === "agx-07" && d.status === "online");
    assert.ok(online, "node.status online announced");

    // History answers from the raw samples.
    const m = await hub.admin.metrics("agx-07", { from: "-5m", step: 5 });
    assert.equal(m.source, "raw");
    const expected = (1 - 28000000 / 32692964) * 100;
    assert.ok(m.series.mem_pct.max.some((v) => v !== null && Math.abs(v - expected) < 0.1));
  } finally {
    await sse.close();
    await agent.stop();
    await hub.stop();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(state, { recursive: true });
  }
});
